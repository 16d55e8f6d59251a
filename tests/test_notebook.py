"""notebooks/predict.ipynb runs top to bottom with nbclient on a tiny checkpoint trained here, and shows the frames,
the GIF and the metric plot inline."""

import base64
import json
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "notebooks" / "predict.ipynb"


def train_tiny_baseline(directory):
    from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig
    from vidpred_tf.models.baseline.inference import write_baseline_manifest
    from vidpred_tf.models.baseline.task import NextFrameTask
    from vidpred_tf.training import Trainer, TrainerConfig, make_strategy

    config = ConvLSTMConfig(image_size=16, context_frames=3, encoder_filters=(4,), lstm_filters=(4,))
    write_baseline_manifest(directory, config, horizon=4)
    videos = np.random.default_rng(0).random((8, 7, 16, 16, 1)).astype("float32")
    trainer = Trainer(NextFrameTask(config, num_frames=7),
                      TrainerConfig(model_dir=str(directory), num_steps=3, global_batch_size=4, checkpoint_every=3,
                                    log_every=10), make_strategy("one_device"))
    trainer.fit(lambda context: tf.data.Dataset.from_tensor_slices({"images": videos}).repeat().batch(4))


def test_predict_notebook_runs_on_a_tiny_checkpoint(tmp_path, monkeypatch):
    checkpoint = tmp_path / "ckpt"
    train_tiny_baseline(checkpoint)
    video = tmp_path / "clip.npy"
    frames = np.random.default_rng(1).integers(0, 256, (9, 24, 24, 3), dtype=np.uint8)
    np.save(video, frames)
    out = tmp_path / "notebook_out"
    monkeypatch.setenv("VIDPRED_CHECKPOINT", str(checkpoint))
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
    assert mimes.count("image/png") >= 2, mimes  # the frame grid and the metric plot
    assert "image/gif" in mimes
    text = "".join(output.get("text", "") for output in outputs)
    assert "9 frames of 24x24x3" in text and str(out / "prediction.gif") in text
    description = [output for output in outputs if output.output_type == "execute_result"][0]
    assert "'paper': 'baseline'" in description["data"]["text/plain"]

    summary = json.loads((out / "prediction.json").read_text())
    assert (summary["context_frames"], summary["horizon"], summary["truth_frames"]) == (3, 4, 4)
    assert np.load(out / "prediction.npy").shape == (1, 4, 16, 16, 1)
    gif = [output for output in outputs if "image/gif" in output.get("data", {})][0]
    assert base64.b64decode(gif["data"]["image/gif"]) == (out / "prediction.gif").read_bytes()
    assert os.path.isfile(out / "prediction.mp4")
