"""EPVA through the front door: ``vidpred predict`` on a tiny EPVA checkpoint with its manifest, and on the
``--event_log_dir`` of a 1-step ``prediction_train`` run."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from fixtures.epva_data import write_fake_epva_records

from vidpred_tf import inference
from vidpred_tf.convert import epva as converter
from vidpred_tf.errors import InputError
from vidpred_tf.models.epva.config import EPVAConfig
from vidpred_tf.models.epva.network import EPVANetwork
from vidpred_tf.papers.epva import predictor as epva_predictor
from vidpred_tf.viz import ffmpeg_executable, read_video

REPO = pathlib.Path(__file__).resolve().parent.parent
CONTEXT, HORIZON = 2, 3
TINY = dict(model_mode="epva", enc_size=8, van_first_depth=4, vgg_width_divisor=16, context_frames=CONTEXT,
            enc_keep_prob=0.65, van_keep_prob=0.9)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """Random weights of a tiny network (keep probabilities < 1 as trained: the predictor must reset them)."""
    directory = tmp_path_factory.mktemp("epva_ckpt")
    config = EPVAConfig(**TINY)
    network = EPVANetwork(config)
    network(epva_predictor._dummy_batch(config, np.zeros((1, CONTEXT + 1, 64, 64, 3), np.float32)),
            training=False, seed=tf.constant([0, 0], tf.int32))
    network.save_weights(str(directory / "model.weights.h5"))
    epva_predictor.write_epva_manifest(directory, config, CONTEXT + HORIZON, "keras_weights")
    return directory, config


def test_predictor_returns_the_van_frames_after_the_context_with_keep_prob_one(checkpoint):
    directory, config = checkpoint
    predictor = inference.load_predictor(directory)
    assert predictor.paper == "epva" and predictor.model_name == "epva"
    assert (predictor.context_frames, predictor.default_horizon, predictor.stochastic) == (CONTEXT, HORIZON, False)
    assert predictor.config.enc_keep_prob == predictor.config.van_keep_prob == 1.0
    context = np.random.default_rng(0).random((2, CONTEXT, 64, 64, 3)).astype(np.float32)
    frames = predictor.predict(context, HORIZON, seed=0)
    assert frames.shape == (2, HORIZON, 64, 64, 3)
    # Independent: a network of the config with keep 1.0 and the same weights; van_out_all[k] is frame k+1.
    reference = EPVANetwork(EPVAConfig(**{**TINY, "enc_keep_prob": 1.0, "van_keep_prob": 1.0}))
    images = np.concatenate([context, np.zeros((2, HORIZON, 64, 64, 3), np.float32)], axis=1)
    batch = epva_predictor._dummy_batch(config, images)
    reference(batch, training=False, seed=tf.constant([0, 0], tf.int32))
    reference.load_weights(str(directory / "model.weights.h5"))
    expected = np.asarray(reference(batch, training=False, seed=tf.constant([5, 0], tf.int32))["van_out_all"])
    np.testing.assert_allclose(frames, np.clip(expected[:, CONTEXT - 1:], 0, 1), atol=1e-5)
    # Deterministic with keep 1.0: another seed gives the same frames.
    np.testing.assert_allclose(predictor.predict(context, HORIZON, seed=7), frames, atol=1e-6)
    with pytest.raises(InputError, match="takes 2 context frames; got 3"):
        predictor.predict(np.zeros((1, 3, 64, 64, 3), np.float32), 1)


def test_manifest_with_an_unknown_field_is_named(tmp_path, checkpoint):
    directory, _ = checkpoint
    manifest = json.loads((directory / "vidpred_model.json").read_text())
    manifest["config"]["no_such_flag"] = 1
    (tmp_path / "vidpred_model.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"unknown EPVAConfig fields \['no_such_flag'\]"):
        epva_predictor.config_from_manifest(manifest, tmp_path)
    with pytest.raises(InputError, match="checkpoint_format must be trainer, tf1 or keras_weights; got 'h5'"):
        epva_predictor.write_epva_manifest(tmp_path, EPVAConfig(), 4, "h5")


def test_vidpred_predict_writes_an_mp4(checkpoint, tmp_path):
    directory, _ = checkpoint
    video = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=80x64:rate=10", "-frames:v", "6", "-pix_fmt", "yuv420p", str(video)],
                   check=True, capture_output=True)
    out = tmp_path / "out"
    process = subprocess.run([sys.executable, "-m", "vidpred_tf.commands", "predict", "--checkpoint", str(directory),
                              "--input", str(video), "--output_dir", str(out)],
                             capture_output=True, text=True, timeout=300, cwd=str(REPO))
    assert process.returncode == 0, process.stdout + process.stderr[-3000:]
    prediction = np.load(out / "prediction.npy")
    assert prediction.shape == (1, HORIZON, 64, 64, 3)
    frames = read_video(out / "prediction.mp4")
    assert frames.shape[0] == CONTEXT + HORIZON
    summary = json.loads((out / "prediction.json").read_text())
    assert summary["context_frames"] == CONTEXT and summary["horizon"] == HORIZON


def test_an_original_tf1_checkpoint_predicts_the_same_frames(checkpoint, tmp_path):
    directory, config = checkpoint
    trained = inference.load_predictor(directory)
    prefix = converter.export(trained.keras_model, str(tmp_path / "tf1" / "model.ckpt-0"))
    names = [name for name, _ in tf.train.list_variables(prefix)]
    assert "timestep/predict/LSTMCell/W_0" in names
    epva_predictor.write_epva_manifest(tmp_path / "tf1", config, CONTEXT + HORIZON, "tf1")
    converted = inference.load_predictor(tmp_path / "tf1")
    context = np.random.default_rng(3).random((1, CONTEXT, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(converted.predict(context, HORIZON), trained.predict(context, HORIZON), atol=1e-6)


def test_prediction_train_then_vidpred_predict_on_its_event_log_dir(tmp_path):
    """The whole path: the original's script trains 1 step on fake human records (keep probabilities < 1, as the
    README's training lines), then ``vidpred predict`` on ``--event_log_dir`` (the trainer checkpoint and the
    manifest the training wrote) writes the frames the predictor computes, keep probabilities 1.0."""
    records, logs = tmp_path / "records", tmp_path / "logs"
    records.mkdir()
    write_fake_epva_records(str(records / "fake_train.tfrecords"), "human", num_examples=2, num_frames=3,
                            image_sizes=((64, 64),))
    train = [f"--data_dir={records}", f"--event_log_dir={logs}", "--model_mode=e2e", "--enc_size=8",
             "--van_first_depth=4", "--vgg_width_divisor=16", "--context_frames=1", "--sequence_length=3",
             "--skip_num=1", "--dataset_type=human", "--batch_size=1", "--train_steps=1", "--enc_keep_prob=0.65",
             "--van_keep_prob=0.9", "--is_training", "--epv_pretrain_ckpt=", "--nouse_image_summary",
             "--strategy=one_device", "--seed=1"]
    completed = subprocess.run([sys.executable, str(REPO / "scripts" / "epva" / "prediction_train.py"), *train],
                               capture_output=True, text=True, cwd=str(REPO), timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    assert tf.train.latest_checkpoint(str(logs)) == str(logs / "model.ckpt-1")

    video = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=80x64:rate=10", "-frames:v", "4", "-pix_fmt", "yuv420p", str(video)],
                   check=True, capture_output=True)
    out = tmp_path / "out"
    process = subprocess.run([sys.executable, "-m", "vidpred_tf.commands", "predict", "--checkpoint", str(logs),
                              "--input", str(video), "--output_dir", str(out)],
                             capture_output=True, text=True, timeout=300, cwd=str(REPO))
    assert process.returncode == 0, process.stdout + process.stderr[-3000:]

    # The manifest: 3 frames, 1 of context -> horizon 2 (one step fed the encoding, one fed the prediction).
    predictor = inference.load_predictor(logs)
    assert (predictor.model_name, predictor.context_frames, predictor.default_horizon) == ("e2e", 1, 2)
    assert predictor.config.enc_keep_prob == predictor.config.van_keep_prob == 1.0
    decoded = read_video(video).astype(np.float32) / 255.0
    fitted = inference.fit_frames(decoded[:3], (64, 64), 3)
    expected = inference.run_predictor(predictor, fitted[None, :1], 2)[0]
    prediction = np.load(out / "prediction.npy")
    assert prediction.shape == (1, 2, 64, 64, 3)
    np.testing.assert_allclose(prediction[0], expected, atol=1e-6)
    # The MP4: per step the ground truth row above the model row, frames 2x with 2-pixel borders; the model's tiles
    # at steps 1 and 2 are the predicted frames up to the codec's loss (yuv420p: about 5 grey levels on average
    # here; the ground truth tiles differ from them by about 70).
    frames = read_video(out / "prediction.mp4").astype(np.float32)
    tile = 64 * 2 + 4
    assert frames.shape == (3, 2 * tile, tile, 3)
    for step in (1, 2):
        shown = frames[step, tile + 2:2 * tile - 2, 2:tile - 2]
        wanted = np.round(expected[step - 1] * 255).repeat(2, axis=0).repeat(2, axis=1)
        assert np.mean(np.abs(shown - wanted)) < 10.0, step
