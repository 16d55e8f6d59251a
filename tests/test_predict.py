"""`vidpred predict`: checkpoints of the baseline and of e3d through their manifests, mp4 / frame folder / .npy
inputs, the files written, and every input error."""

import dataclasses
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from vidpred_tf import inference
from vidpred_tf.commands.main import main as vidpred
from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig, ConvLSTMPredictor
from vidpred_tf.training.checkpoint import restore_model_weights
from vidpred_tf.viz import ffmpeg_executable, read_video

CONTEXT, HORIZON, SIZE = 3, 3, 16


@pytest.fixture(scope="module")
def baseline_checkpoint(tmp_path_factory):
    """A ConvLSTM baseline trained for 3 steps on random 16x16 videos, with the manifest the demo writes."""
    from vidpred_tf.models.baseline.task import NextFrameTask
    from vidpred_tf.papers.baseline.predictor import write_baseline_manifest
    from vidpred_tf.training import Trainer, TrainerConfig, make_strategy

    directory = tmp_path_factory.mktemp("baseline_ckpt")
    config = ConvLSTMConfig(image_size=SIZE, context_frames=CONTEXT, encoder_filters=(4,), lstm_filters=(4,))
    write_baseline_manifest(directory, config, horizon=HORIZON)
    videos = np.random.default_rng(0).random((8, CONTEXT + HORIZON, SIZE, SIZE, 1)).astype("float32")
    trainer = Trainer(NextFrameTask(config, num_frames=CONTEXT + HORIZON),
                      TrainerConfig(model_dir=str(directory), num_steps=3, global_batch_size=4, checkpoint_every=3,
                                    log_every=10), make_strategy("one_device"))
    trainer.fit(lambda context: tf.data.Dataset.from_tensor_slices({"images": videos}).repeat().batch(4))
    return directory, config


def direct_baseline_prediction(directory, config, context, horizon):
    """The baseline model called by hand: context then zeros, predictions after the context."""
    model = ConvLSTMPredictor(dataclasses.replace(config, context_frames=context.shape[1]))
    model.build((None, context.shape[1] + horizon, SIZE, SIZE, 1))
    restore_model_weights(model, tf.train.latest_checkpoint(str(directory)))
    padded = np.concatenate([context, np.zeros((context.shape[0], horizon, SIZE, SIZE, 1), np.float32)], axis=1)
    return np.clip(np.asarray(model(padded)), 0, 1)[:, context.shape[1] - 1:]


def test_baseline_predictor_from_manifest_matches_the_model(baseline_checkpoint):
    directory, config = baseline_checkpoint
    predictor = inference.load_predictor(directory)
    assert (predictor.paper, predictor.model_name, predictor.stochastic) == ("baseline", "convlstm", False)
    assert (predictor.context_frames, predictor.default_horizon) == (CONTEXT, HORIZON)
    assert tuple(predictor.image_size) == (SIZE, SIZE) and predictor.channels == 1
    assert predictor.checkpoint == tf.train.latest_checkpoint(str(directory))
    context = np.random.default_rng(1).random((2, CONTEXT, SIZE, SIZE, 1)).astype("float32")
    np.testing.assert_allclose(inference.run_predictor(predictor, context, HORIZON),
                               direct_baseline_prediction(directory, config, context, HORIZON), atol=1e-6)
    # Other context lengths and horizons run on the same weights.
    shorter = context[:, 1:]
    np.testing.assert_allclose(inference.run_predictor(predictor, shorter, 5),
                               direct_baseline_prediction(directory, config, shorter, 5), atol=1e-6)


def write_test_mp4(path, num_frames=12, width=40, height=30):
    """An H.264 mp4 of ffmpeg's own test pattern, written by the ffmpeg binary (not by the package)."""
    command = [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
               f"testsrc=size={width}x{height}:rate=10", "-frames:v", str(num_frames), "-pix_fmt", "yuv420p",
               str(path)]
    subprocess.run(command, check=True, capture_output=True)


def test_vidpred_predict_on_an_mp4_written_by_ffmpeg(baseline_checkpoint, tmp_path):
    directory, _ = baseline_checkpoint
    video = tmp_path / "clip.mp4"
    write_test_mp4(video)
    out = tmp_path / "out"
    process = subprocess.run([sys.executable, "-m", "vidpred_tf.commands", "predict", "--checkpoint", str(directory),
                              "--input", str(video), "--output_dir", str(out)],
                             capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr[-3000:]
    assert "baseline/convlstm" in process.stdout and "12 frames of 40x30x3" in process.stdout

    # The input as the model sees it: centre 30x30 crop, 16x16, gray; frames 1-3 context, 4-6 ground truth.
    decoded = read_video(video).astype(np.float32) / 255.0
    expected = inference.fit_frames(decoded[:CONTEXT + HORIZON], (SIZE, SIZE), 1)
    prediction = np.load(out / "prediction.npy")
    assert prediction.shape == (1, HORIZON, SIZE, SIZE, 1)
    predictor = inference.load_predictor(directory)
    np.testing.assert_allclose(prediction[0], inference.run_predictor(predictor, expected[None, :CONTEXT],
                                                                      HORIZON)[0], atol=1e-6)

    summary = json.loads((out / "prediction.json").read_text())
    assert summary["context_frames"] == CONTEXT and summary["horizon"] == HORIZON and summary["truth_frames"] == 3
    mse = np.mean((prediction[0] - expected[CONTEXT:]) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(summary["metrics_vs_truth"]["mse"]["mean_per_step"], mse, rtol=1e-5)

    # GIF and MP4: 6 time steps, ground truth row above the model row, frames upscaled 8x with 2-pixel borders.
    tile = SIZE * 8 + 4
    for name in ("prediction.gif", "prediction.mp4"):
        frames = read_video(out / name)
        assert frames.shape == (CONTEXT + HORIZON, 2 * tile, tile, 3), name
    strip = np.asarray(Image.open(out / "prediction_strip.png").convert("RGB"))
    assert strip.shape == (2 * tile, (CONTEXT + HORIZON) * tile, 3)
    for step in range(CONTEXT + HORIZON):
        corner = tuple(strip[tile, step * tile])  # top-left pixel of the model's frame at this step
        assert corner == (inference.CONTEXT_COLOR if step < CONTEXT else inference.PREDICTION_COLOR), step
        assert tuple(strip[0, step * tile]) == inference.TRUTH_COLOR
    names = sorted(os.listdir(out / "frames" / "sample_00"))
    assert names == ["pred_004.png", "pred_005.png", "pred_006.png"]
    assert sorted(p for p in os.listdir(out / "frames") if p.endswith(".png")) == [
        "context_001.png", "context_002.png", "context_003.png", "truth_004.png", "truth_005.png", "truth_006.png"]
    saved = np.asarray(Image.open(out / "frames" / "sample_00" / "pred_005.png"))
    np.testing.assert_array_equal(saved.reshape(SIZE, SIZE), np.round(prediction[0, 1, ..., 0] * 255))


def test_predict_folder_of_frames_in_natural_order(baseline_checkpoint, tmp_path):
    directory, _ = baseline_checkpoint
    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, (10, 20, 20, 3), dtype=np.uint8)
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"f{index + 1}.png"), frame[..., ::-1])  # f1 .. f10: f10 sorts last
    loaded = inference.load_video(folder)
    np.testing.assert_array_equal(np.round(loaded * 255).astype(np.uint8), frames)
    predictor = inference.load_predictor(directory)
    result = inference.predict_video(predictor, loaded, start=1, frame_step=2)  # frames 2, 4, 6 | 8, 10
    gray = frames[1::2].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0
    resized = np.stack([cv2.resize(g, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for g in gray])[..., None]
    np.testing.assert_allclose(result.context, resized[:CONTEXT], atol=1e-5)
    np.testing.assert_allclose(result.truth, resized[CONTEXT:], atol=1e-5)
    assert result.predictions.shape == (1, HORIZON, SIZE, SIZE, 1) and result.truth.shape[0] == 2
    # Without the whole horizon as ground truth, the written video has the model row only.
    files = inference.write_prediction_outputs(result, tmp_path / "out")
    assert read_video(files["gif"]).shape[1] == SIZE * 8 + 4


def test_predict_npy_uint8_and_float(baseline_checkpoint, tmp_path, capsys):
    directory, config = baseline_checkpoint
    frames = np.random.default_rng(3).integers(0, 256, (4, SIZE, SIZE), dtype=np.uint8)
    path = tmp_path / "clip.npy"
    np.save(path, frames)
    assert vidpred(["predict", "--checkpoint", str(directory), "--input", str(path), "--output_dir",
                    str(tmp_path / "a"), "--horizon", "2"]) == 0
    context = (frames[:CONTEXT] / 255.0).astype(np.float32)[None, ..., None]
    np.testing.assert_allclose(np.load(tmp_path / "a" / "prediction.npy"),
                               direct_baseline_prediction(directory, config, context, 2), atol=1e-6)
    floats = np.random.default_rng(4).random((1, 5, SIZE, SIZE, 1)).astype(np.float32)
    np.save(tmp_path / "float.npy", floats)
    assert vidpred(["predict", "--checkpoint", str(directory), "--input", str(tmp_path / "float.npy"),
                    "--output_dir", str(tmp_path / "b"), "--context", "2"]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "b" / "prediction.npy"),
                               direct_baseline_prediction(directory, config, floats[:, :2], HORIZON), atol=1e-6)
    assert "context 2, predicted 3" in capsys.readouterr().out


def bad_inputs(tmp_path):
    """(input path, words the one-line error must contain) for every kind of bad input."""
    cases = []
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 10)
    cases.append((garbage, ["cannot read video", str(garbage)]))
    cases.append((tmp_path / "missing.mp4", ["does not exist", "missing.mp4"]))
    np.save(tmp_path / "short.npy", np.zeros((2, SIZE, SIZE), np.uint8))
    cases.append((tmp_path / "short.npy", ["short.npy has 2 frames", "--context 3"]))
    np.save(tmp_path / "two_channels.npy", np.zeros((5, SIZE, SIZE, 2), np.float32))
    cases.append((tmp_path / "two_channels.npy", ["two_channels.npy", "2 channels", "expected 1 (gray) or 3"]))
    np.save(tmp_path / "range.npy", np.full((5, SIZE, SIZE), 255.0, np.float32))
    cases.append((tmp_path / "range.npy", ["range.npy", "[0, 1]", "255"]))
    np.save(tmp_path / "rank.npy", np.zeros((SIZE, SIZE), np.uint8))
    cases.append((tmp_path / "rank.npy", ["rank.npy", "shape (16, 16)"]))
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    cases.append((empty, ["empty_folder holds no frames"]))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    cv2.imwrite(str(mixed / "a.png"), np.zeros((8, 8), np.uint8))
    cv2.imwrite(str(mixed / "b.png"), np.zeros((9, 8), np.uint8))
    cases.append((mixed, ["differ in size", "a.png is 8x8", "b.png is 8x9"]))
    return cases


def test_every_bad_input_is_a_one_line_usage_error(baseline_checkpoint, tmp_path, capsys):
    directory, _ = baseline_checkpoint
    for path, words in bad_inputs(tmp_path):
        code = vidpred(["predict", "--checkpoint", str(directory), "--input", str(path), "--output_dir",
                        str(tmp_path / "never")])
        error = capsys.readouterr().err.strip()
        assert code == 2, (path, error)
        assert error.startswith("vidpred predict: error: ") and "\n" not in error, error
        for word in words:
            assert word in error, (word, error)
    assert not (tmp_path / "never" / "prediction.gif").exists()


def test_checkpoint_and_flag_errors(baseline_checkpoint, tmp_path, capsys):
    directory, _ = baseline_checkpoint
    video = tmp_path / "v.npy"
    np.save(video, np.zeros((6, SIZE, SIZE), np.uint8))
    no_manifest = tmp_path / "no_manifest"
    no_manifest.mkdir()
    cases = [
        (["--checkpoint", str(tmp_path / "nowhere")], "checkpoint", "does not exist"),
        (["--checkpoint", str(no_manifest)], "no adapter recognises it", "vidpred_model.json"),
        (["--checkpoint", str(directory), "--samples", "2"], "deterministic", "--samples 1"),
        (["--checkpoint", str(directory), "--horizon", "0"], "--horizon must be at least 1", ""),
    ]
    for extra, first, second in cases:
        assert vidpred(["predict", "--input", str(video), "--output_dir", str(tmp_path / "o"), *extra]) == 2
        error = capsys.readouterr().err
        assert first in error and second in error, error
    # argparse's own usage errors also exit with 2.
    assert vidpred(["predict", "--checkpoint", str(directory), "--input", str(video), "--horizon", "x"]) == 2
    assert "invalid int value: 'x'" in capsys.readouterr().err
    assert vidpred(["predict", "--input", str(video)]) == 2
    assert "--checkpoint" in capsys.readouterr().err


def test_fit_frames_crop_stretch_and_channels():
    wide = np.zeros((1, 10, 30, 3), np.float32)
    wide[:, :, 10:20] = 1.0  # the centre 10x10 is white, the sides black
    np.testing.assert_allclose(inference.fit_frames(wide, (5, 5), 3, "crop"), 1.0)
    stretched = inference.fit_frames(wide, (5, 15), 1, "stretch")
    assert stretched.shape == (1, 5, 15, 1) and stretched[0, 0, 0, 0] == 0 and stretched[0, 0, 7, 0] == 1
    gray = np.random.default_rng(5).random((2, 4, 4, 1)).astype(np.float32)
    rgb = inference.fit_frames(gray, (4, 4), 3)
    np.testing.assert_array_equal(rgb, np.repeat(gray, 3, axis=-1))
    color = np.random.default_rng(6).random((1, 4, 4, 3)).astype(np.float32)
    luma = 0.299 * color[..., 0] + 0.587 * color[..., 1] + 0.114 * color[..., 2]
    np.testing.assert_allclose(inference.fit_frames(color, (4, 4), 1)[..., 0], luma, atol=1e-6)


def test_e3d_predictor_from_manifest(tmp_path):
    """A tiny e3d model saved as the trainer saves it and as a converter's .weights.h5, both with a manifest."""
    from vidpred_tf.models.e3d.config import E3DConfig
    from vidpred_tf.models.e3d.model import build_model, output_frames
    from vidpred_tf.models.e3d.preprocess import reshape_patch, reshape_patch_back
    from vidpred_tf.papers.e3d.predictor import write_e3d_manifest
    from vidpred_tf.training.checkpoint import model_checkpoint

    config = E3DConfig(model_name="original_e3d_lstm", img_width=8, patch_size=2, input_length=2, total_length=4,
                       num_hidden=(4,))
    model = build_model(config)
    trainer_dir = tmp_path / "trainer"
    manager = tf.train.CheckpointManager(model_checkpoint(model), str(trainer_dir), 1, checkpoint_name="model.ckpt")
    manager.save(checkpoint_number=7)
    write_e3d_manifest(trainer_dir, config.replace(pretrained_model="somewhere/model.ckpt-1"))
    weights_dir = tmp_path / "converted"
    weights_dir.mkdir()
    model.save_weights(str(weights_dir / "port.weights.h5"))
    write_e3d_manifest(weights_dir, config, checkpoint_format="keras_weights")

    context = np.random.default_rng(7).random((2, 2, 8, 8, 1)).astype(np.float32)
    images = np.concatenate([context, np.zeros((2, 2, 8, 8, 1), np.float32)], axis=1)
    generated = model(reshape_patch(images, 2), None, training=False)
    expected = np.clip(reshape_patch_back(np.asarray(output_frames(generated, config)), 2), 0, 1)
    for path in (trainer_dir, weights_dir / "port.weights.h5"):
        predictor = inference.load_predictor(path)
        assert (predictor.paper, predictor.model_name) == ("e3d", "original_e3d_lstm")
        assert (predictor.context_frames, predictor.default_horizon, predictor.channels) == (2, 2, 1)
        np.testing.assert_allclose(inference.run_predictor(predictor, context, 2), expected, atol=1e-5)
        # A longer horizon repeats the first frames (the model is causal) on a model built for that length.
        longer = inference.run_predictor(predictor, context, 4)
        assert longer.shape == (2, 4, 8, 8, 1)
        np.testing.assert_allclose(longer[:, :2], expected, atol=1e-5)
    assert inference.load_predictor(trainer_dir).checkpoint.endswith("model.ckpt-7")


def read_outputs(directory):
    """Every file under ``directory`` (relative path -> bytes), hidden ones included."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_outputs_are_replaced_whole_or_not_at_all(baseline_checkpoint, tmp_path, monkeypatch, capsys):
    directory, _ = baseline_checkpoint
    video = tmp_path / "v.npy"
    np.save(video, (np.random.default_rng(4).random((CONTEXT + 5, SIZE, SIZE)) * 255).astype(np.uint8))
    out = tmp_path / "out"
    base = ["predict", "--checkpoint", str(directory), "--input", str(video), "--output_dir", str(out)]
    assert vidpred(base + ["--horizon", "5"]) == 0
    before = read_outputs(out)
    assert f"frames/sample_00/pred_{CONTEXT + 5:03d}.png" in before

    # The MP4 fails after the GIF was written: nothing of the failed run is left, the earlier outputs stay.
    from vidpred_tf import viz

    def broken_mp4(*args, **kwargs):
        raise RuntimeError("ffmpeg broke")

    monkeypatch.setattr(viz, "write_mp4", broken_mp4)
    with pytest.raises(RuntimeError, match="ffmpeg broke"):
        vidpred(base + ["--horizon", "2"])
    assert read_outputs(out) == before
    with pytest.raises(RuntimeError, match="ffmpeg broke"):
        vidpred(["predict", "--checkpoint", str(directory), "--input", str(video), "--output_dir",
                 str(tmp_path / "fresh")])
    assert not (tmp_path / "fresh").exists()
    monkeypatch.undo()

    # A shorter prediction into the same folder leaves no frame of the longer one behind.
    capsys.readouterr()
    assert vidpred(base + ["--horizon", "2"]) == 0
    after = read_outputs(out)
    predicted = sorted(name for name in after if name.startswith("frames/sample_00/"))
    assert predicted == [f"frames/sample_00/pred_{CONTEXT + i:03d}.png" for i in (1, 2)]
    assert not [name for name in after if name.startswith(".")]
    assert np.load(out / "prediction.npy").shape == (1, 2, SIZE, SIZE, 1)
    files = json.loads((out / "prediction.json").read_text())["files"]
    assert files["gif"] == str(out / "prediction.gif") and os.path.isfile(files["gif"])


def test_output_dir_that_is_a_file_is_a_usage_error(baseline_checkpoint, tmp_path, capsys):
    directory, _ = baseline_checkpoint
    video = tmp_path / "v.npy"
    np.save(video, np.zeros((CONTEXT + 1, SIZE, SIZE), np.uint8))
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    for out in (blocker, blocker / "below"):
        assert vidpred(["predict", "--checkpoint", str(directory), "--input", str(video),
                        "--output_dir", str(out)]) == 2
        error = capsys.readouterr().err.strip()
        assert error == f"vidpred predict: error: --output_dir {out}: {blocker} is a file, not a directory"
