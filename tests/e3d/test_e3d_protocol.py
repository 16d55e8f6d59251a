"""Patch reshaping, scheduled sampling and the evaluation protocol vs the original's recordings."""

import dataclasses
import json
import pathlib

import cv2
import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.data.moving_mnist.e3d_npz import MnistNpzHandle
from vidpred_tf.models.e3d import (
    E3DConfig,
    SamplingConfig,
    build_model,
    reshape_patch,
    reshape_patch_back,
    schedule_sampling,
)
from vidpred_tf.models.e3d.preprocess import reshape_patch_back_tensor, reshape_patch_tensor
from vidpred_tf.papers.e3d.evaluation import evaluate, model_predict_fn
from vidpred_tf.papers.e3d.golden import _sampling_config_from_argv


def test_reshape_patch_matches_golden_space_to_depth_and_inverts(golden):
    p = int(golden["patch_size"])
    np.testing.assert_array_equal(reshape_patch(golden["patch_in"], p), golden["patch_out"])
    np.testing.assert_array_equal(reshape_patch_back(golden["patch_out"], p), golden["patch_in"])
    frames = np.random.RandomState(0).uniform(size=(2, 3, 12, 8, 2)).astype(np.float32)
    patched = reshape_patch(frames, 4)
    np.testing.assert_array_equal(patched[:, 1], tf.nn.space_to_depth(frames[:, 1], 4).numpy())
    np.testing.assert_array_equal(reshape_patch_back(patched, 4), frames)
    with pytest.raises(ValueError, match="not a multiple of patch_size 5"):
        reshape_patch(frames, 5)


def _run_schedule(config, iterations, rng=None):
    """Iterations 1..``iterations`` of the schedule from the start value: ``(etas, stacked masks)``."""
    eta, etas, masks = config.sampling_start_value, [], []
    for itr in range(1, iterations + 1):
        eta, mask = schedule_sampling(eta, itr, config, rng)
        etas.append(eta)
        masks.append(mask)
    return etas, np.stack(masks)


def test_schedule_sampling_reproduces_the_seeded_original(golden):
    config = _sampling_config_from_argv(golden["ss_argv"])
    np.random.seed(0)
    etas, masks = _run_schedule(config, 4)
    np.testing.assert_allclose(etas, golden["ss_etas"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(masks, golden["ss_flags"])

    # an explicit RandomState seeded like the global one gives the same masks, and eta ends at 0
    etas, masks = _run_schedule(config, 4, rng=np.random.RandomState(0))
    np.testing.assert_allclose(etas, golden["ss_etas"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(masks, golden["ss_flags"])
    assert etas[-1] == 0.0

    # the mask geometry is the model's, its batch the per-tower batch size
    assert config.mask_shape == config.e3d_config.mask_shape(2) == (2, 2, 4, 4, 4)

    # switched off: zeros and no draw from the global state
    state = np.random.get_state()[1].copy()
    off = dataclasses.replace(config, scheduled_sampling=False)
    eta, mask = schedule_sampling(0.7, 1, off)
    assert eta == 0.0 and mask.shape == config.mask_shape and not mask.any()
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_evaluation_prints_and_writes_what_the_original_did(misc, golden, tmp_path, capsys):
    predictions = iter(golden["test_fake_preds_patched"])
    result = evaluate(lambda patched: next(predictions), MnistNpzHandle(str(misc / "fake_moving_mnist.npz"), 2),
                      input_length=3, total_length=6, patch_size=2, batch_size=2, num_towers=1,
                      gen_frm_dir=str(tmp_path), save_name="test_result", num_save_samples=2)
    printed = [line for line in capsys.readouterr().out.splitlines() if not line.endswith(" test...")]
    expected = (misc / "trainer_test_stdout.txt").read_text().splitlines()
    assert len(printed) == len(expected) == 12
    for ours, theirs in zip(printed, expected):
        label_ours, _, value_ours = ours.rpartition(" ")
        label_theirs, _, value_theirs = theirs.rpartition(" ")
        assert label_ours == label_theirs
        assert float(value_ours) == pytest.approx(float(value_theirs), rel=1e-4)
    files = sorted(str(p.relative_to(tmp_path)) for p in pathlib.Path(tmp_path).rglob("*.png"))
    assert files == sorted(json.loads((misc / "trainer_test_files.json").read_text()))
    for name in files:
        np.testing.assert_array_equal(cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED),
                                      cv2.imread(str(misc / "test_out" / name), cv2.IMREAD_UNCHANGED))
    assert not list(pathlib.Path(tmp_path).rglob(".tmp-*"))

    # MSE per frame is a per-sequence sum of squared errors of the clipped prediction
    truth = np.stack(list(MnistNpzHandle(str(misc / "fake_moving_mnist.npz"), 2)))[:, :, 3:]
    preds = np.clip(np.stack([reshape_patch_back(p, 2) for p in golden["test_fake_preds_patched"]]), 0, 1)
    expected_mse = np.square(truth - preds).sum(axis=(0, 1, 3, 4, 5)) / 6
    np.testing.assert_allclose(result.mse_per_frame, expected_mse, rtol=1e-5)


def test_model_predict_fn_feeds_the_model_in_test_mode(misc):
    config = E3DConfig(model_name="original_e3d_lstm", img_width=8, patch_size=2, input_length=3, total_length=6,
                       num_hidden="4")
    model = build_model(config)
    predict = model_predict_fn(model, config)
    batch = next(iter(MnistNpzHandle(str(misc / "fake_moving_mnist.npz"), 2)))
    patched = reshape_patch(batch, 2)
    out = predict(patched)
    assert out.shape == (2, 3, 4, 4, 4)
    np.testing.assert_allclose(out, model(patched).numpy()[:, -3:], atol=1e-6)
    result = evaluate(predict, MnistNpzHandle(str(misc / "fake_moving_mnist.npz"), 2), input_length=3,
                      total_length=6, patch_size=2, batch_size=2, print_fn=None)
    assert result.num_batches == 3 and len(result.lines) == 13
    with pytest.raises(ValueError, match="batch of 2 sequences, expected batch_size 1 x num_towers 1"):
        evaluate(predict, MnistNpzHandle(str(misc / "fake_moving_mnist.npz"), 2), input_length=3, total_length=6,
                 patch_size=2, batch_size=1, print_fn=None)


def test_tensor_patch_reshape_equals_the_numpy_one():
    frames = np.random.RandomState(1).uniform(size=(2, 3, 8, 12, 3)).astype(np.float32)
    patched = reshape_patch_tensor(tf.constant(frames), 4)
    np.testing.assert_array_equal(patched.numpy(), reshape_patch(frames, 4))
    np.testing.assert_array_equal(reshape_patch_back_tensor(patched, 4).numpy(), frames)


def test_sampling_config_takes_its_geometry_from_the_model_config():
    """The mask is [batch_size, T - Tin - 1, w, w, C0] of the E3DConfig; run.py's schedule flags fill the rest."""
    config = E3DConfig(model_name="original_e3d_lstm", img_width=16, patch_size=4, img_channel=2, input_length=3,
                       total_length=7, num_hidden="4")

    class Flags:
        batch_size = 99  # not read: the batch size is given
        scheduled_sampling, sampling_stop_iter, sampling_start_value, sampling_changing_rate = False, 7, 0.5, 0.1

    sampling = SamplingConfig.from_flags(Flags, config, 3)
    assert sampling.mask_shape == (3, 3, 4, 4, 32)
    assert (sampling.batch_size, sampling.scheduled_sampling, sampling.sampling_stop_iter,
            sampling.sampling_start_value, sampling.sampling_changing_rate) == (3, False, 7, 0.5, 0.1)
    assert SamplingConfig.from_flags(object(), config, 3) == SamplingConfig(config, 3)
    with pytest.raises(ValueError, match="batch_size must be positive; got 0"):
        SamplingConfig(config, 0)
