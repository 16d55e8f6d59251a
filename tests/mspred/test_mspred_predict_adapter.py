"""``vidpred predict`` on an MSPred experiment: the adapter of ``vidpred_tf/papers/mspred/predictor.py`` loads the
original's PyTorch checkpoint of the golden ``conv_small`` case and predicts from a video file."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf import inference
from vidpred_tf.papers.mspred import experiment
from vidpred_tf.papers.mspred.evaluation import make_model_fn
from vidpred_tf.papers.mspred.predictor import MSPredPredictor
from vidpred_tf.viz import ffmpeg_executable

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}


@pytest.fixture(scope="module")
def golden_experiment(tmp_path_factory, golden_mspred_dir):
    """An experiment directory holding the golden model's config and its original ``.pth`` weights."""
    meta = json.loads((golden_mspred_dir / "conv_small_meta.json").read_text())
    params = experiment.load_config("mmnist")
    for group in ("loss", "dataset", "training"):
        params[group].update(meta["exp_params"][group])
    params["model"] = meta["exp_params"]["model"]
    params["eval"].update(context=meta["context"], num_preds=meta["num_preds"])
    exp = tmp_path_factory.mktemp("experiments") / "Golden" / "conv_small"
    os.makedirs(exp / "models")
    (exp / "experiment_params.json").write_text(json.dumps(params))
    shutil.copy(golden_mspred_dir / "conv_small_init_state_dict.pth", exp / "models" / "checkpoint_epoch_final.pth")
    return exp, meta


def test_predictions_ignore_the_frames_after_the_context(golden_experiment):
    exp, meta = golden_experiment
    predictor = inference.load_predictor(exp)
    assert (predictor.paper, predictor.model_name) == ("mspred", "SpatioTempHierarchConvLSTM")
    assert predictor.image_size == (32, 32) and predictor.channels == 3 and predictor.stochastic
    assert predictor.context_frames == meta["context"]
    context = np.random.default_rng(0).random((2, meta["context"], 32, 32, 3), np.float32)
    horizon = 3
    predicted = predictor.predict(context, horizon, seed=5)
    assert predicted.shape == (2, horizon, 32, 32, 3)
    assert predicted.min() >= 0.0 and predicted.max() <= 1.0

    # The full model on a sequence long enough for every level, with random future frames: in eval mode the
    # level-0 frames depend neither on the frames after the context nor on how many maps the heads make.
    periods = predictor.exp_params["model"]["HierarchLSTM"]["periods"]
    future = np.random.default_rng(1).random((2, horizon * max(periods), 32, 32, 3), np.float32)
    full = predictor.model(tf.constant(np.concatenate([context, future], axis=1)), context=meta["context"],
                           num_preds=[horizon] * len(periods), training=False, seed=tf.constant([5, 0], tf.int32))
    np.testing.assert_allclose(predicted, np.asarray(full["preds"][0]), atol=1e-6)
    assert not np.allclose(predicted, predictor.predict(context, horizon, seed=6))  # a stochastic model


def test_vidpred_predict_runs_the_original_checkpoint_on_an_mp4(golden_experiment, tmp_path):
    exp, meta = golden_experiment
    video = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=48x48:rate=10", "-frames:v", "10", "-pix_fmt", "yuv420p", str(video)],
                   check=True, capture_output=True)
    out = tmp_path / "out"
    process = subprocess.run([sys.executable, "-m", "vidpred_tf.commands", "predict", "--checkpoint", str(exp),
                              "--input", str(video), "--output_dir", str(out), "--horizon", "2", "--samples", "2"],
                             capture_output=True, text=True, timeout=300, env=ENV)
    assert process.returncode == 0, process.stdout + process.stderr[-3000:]
    assert "mspred/SpatioTempHierarchConvLSTM" in process.stdout
    assert np.load(out / "prediction.npy").shape == (2, 2, 32, 32, 3)
    for name in ("prediction.gif", "prediction.mp4", "prediction_strip.png", "prediction.json"):
        assert (out / name).is_file(), name

    bad = tmp_path / "not_an_experiment"
    bad.mkdir()
    (bad / "models").mkdir()
    (bad / "experiment_params.json").write_text(json.dumps(experiment.load_config("mmnist")))
    process = subprocess.run([sys.executable, "-m", "vidpred_tf.commands", "predict", "--checkpoint", str(bad),
                              "--input", str(video)], capture_output=True, text=True, timeout=300, env=ENV)
    assert process.returncode == 2
    assert "has no checkpoint_epoch_final or checkpoint_last_saved" in process.stderr


def test_evaluation_model_fn_compiles_the_eager_forward(golden_experiment):
    """03_evaluate's compiled forward (one trace for every batch and sample) equals the eager model call."""
    exp, meta = golden_experiment
    model = inference.load_predictor(exp).model
    frames = np.random.default_rng(2).random((2, 17, 32, 32, 3), np.float32)
    model_fn = make_model_fn(model, context=5, num_preds=[3, 3, 3], training=False, seed=11)
    for sample, batch in ((0, 0), (1, 4)):
        got = model_fn(frames, sample_index=sample, batch_index=batch)
        eager = model(tf.constant(frames), context=5, num_preds=[3, 3, 3], training=False,
                      seed=tf.constant([11, batch * 1000003 + sample], tf.int32))
        assert sorted(got["preds"]) == [0, 1, 2]
        for level in range(3):
            np.testing.assert_allclose(got["preds"][level], np.asarray(eager["preds"][level]), atol=1e-5)
            np.testing.assert_array_equal(got["target_masks"][level], eager["target_masks"][level])


@pytest.mark.parametrize("model_type, stochastic_flag, expected", [
    ("SpatioTempHierarchConvLSTM", True, True), ("SpatioTempHierarchConvLSTM", False, False),
    ("LP", True, True), ("ConvLP", True, True), ("deterministic", True, False), ("ConvDeterministic", True, False),
])
def test_only_models_with_latents_are_stochastic(model_type, stochastic_flag, expected):
    """``vidpred predict --samples N`` is refused for models whose samples would all be equal."""
    params = experiment.load_config("mmnist")
    params["model"]["model_type"] = model_type
    params["model"]["HierarchLSTM"]["stochastic"] = stochastic_flag
    assert MSPredPredictor(None, params, "ckpt").stochastic is expected
