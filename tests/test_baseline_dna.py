"""The DNA baseline: per-pixel kernels against an independent NumPy computation, the copy-last start, the
vidpred predict adapter."""

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.layers.pixel_kernels import apply_pixel_kernels, extract_windows
from vidpred_tf.models.baseline.dna import DNAConfig
from vidpred_tf.models.baseline.task import NextFrameTask, build_baseline_model


def numpy_pixel_kernels(images, kernels):
    """out[b, y, x, c] = sum_{dy, dx} k[b, y, x, (dy+h)*K + dx+h] * img[b, y+dy, x+dx, c], zero outside."""
    size = int(round(kernels.shape[-1] ** 0.5))
    half = size // 2
    padded = np.pad(images, [(0, 0), (half, half), (half, half), (0, 0)])
    out = np.zeros_like(images)
    height, width = images.shape[1:3]
    for tap in range(size * size):
        dy, dx = divmod(tap, size)
        out += kernels[..., tap:tap + 1] * padded[:, dy:dy + height, dx:dx + width]
    return out


@pytest.mark.parametrize("kernel_size", [3, 5, 9])
def test_pixel_kernels_match_numpy(kernel_size):
    rng = np.random.default_rng(kernel_size)
    images = rng.random((2, 11, 13, 3)).astype(np.float32)
    logits = rng.normal(size=(2, 11, 13, kernel_size ** 2)).astype(np.float32)
    kernels = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    out = apply_pixel_kernels(tf.constant(images), tf.constant(kernels)).numpy()
    np.testing.assert_allclose(out, numpy_pixel_kernels(images, kernels), rtol=1e-5, atol=1e-6)
    # A convex combination of zero padding and pixels stays inside [0, max].
    assert out.min() >= 0.0 and out.max() <= images.max() + 1e-6


def test_one_hot_kernel_moves_the_frame_by_its_offset():
    images = np.random.default_rng(0).random((1, 9, 9, 1)).astype(np.float32)
    kernels = np.zeros((1, 9, 9, 25), np.float32)
    kernels[..., 2 * 5 + 4] = 1.0  # row offset 0, column offset +2: out[x] = in[x + 2]
    out = apply_pixel_kernels(tf.constant(images), tf.constant(kernels)).numpy()
    np.testing.assert_array_equal(out[:, :, :-2], images[:, :, 2:])
    np.testing.assert_array_equal(out[:, :, -2:], 0.0)
    windows = extract_windows(tf.constant(images), 5).numpy()
    assert windows.shape == (1, 9, 9, 1, 25)
    np.testing.assert_array_equal(windows[..., 12], images)  # the centre tap is the pixel itself


def test_pixel_kernels_refuse_bad_sizes():
    with pytest.raises(ValueError, match="odd"):
        extract_windows(tf.zeros((1, 4, 4, 1)), 4)
    with pytest.raises(ValueError, match="k\\*k taps"):
        apply_pixel_kernels(tf.zeros((1, 4, 4, 1)), tf.zeros((1, 4, 4, 8)))


def test_untrained_dna_copies_the_last_frame_and_feeds_back_its_predictions():
    config = DNAConfig(image_size=16, context_frames=3, encoder_filters=(4, 8), lstm_filters=(8,), kernel_size=5,
                       centre_bias=40.0)  # the centre holds all the weight: an exact copy
    model = build_baseline_model(config, 6)
    videos = np.random.default_rng(1).random((2, 6, 16, 16, 1)).astype(np.float32)
    out = model(videos).numpy()
    assert out.shape == (2, 5, 16, 16, 1)
    np.testing.assert_allclose(out[:, :3], videos[:, :3], atol=1e-6)  # prediction t is frame t copied
    np.testing.assert_allclose(out[:, 3:], np.repeat(videos[:, 2:3], 2, axis=1), atol=1e-6)  # fed back


def test_default_centre_bias_keeps_most_of_the_weight_on_the_centre():
    config = DNAConfig()  # separable: the centre weight is the product of the two axes'
    per_axis = np.exp(config.centre_bias) / (np.exp(config.centre_bias) + config.kernel_size - 1)
    assert 0.9 < per_axis ** 2 < 0.99


def test_dna_trains_and_its_adapter_predicts_what_the_model_does(tmp_path):
    from vidpred_tf import inference
    from vidpred_tf.papers.baseline.predictor import write_baseline_manifest
    from vidpred_tf.training import Trainer, TrainerConfig, make_strategy

    config = DNAConfig(image_size=16, context_frames=3, encoder_filters=(4, 8), lstm_filters=(8,), kernel_size=5)
    write_baseline_manifest(tmp_path, config, horizon=3)
    videos = np.random.default_rng(2).random((8, 6, 16, 16, 1)).astype(np.float32)
    trainer = Trainer(NextFrameTask(config, num_frames=6),
                      TrainerConfig(model_dir=str(tmp_path), num_steps=2, global_batch_size=4, checkpoint_every=2,
                                    log_every=0), make_strategy("one_device"))
    result = trainer.fit(lambda context: tf.data.Dataset.from_tensor_slices({"images": videos}).repeat().batch(4))
    assert result.step == 2 and np.isfinite(result.losses["loss"])

    predictor = inference.load_predictor(tmp_path)
    assert (predictor.paper, predictor.model_name, predictor.context_frames) == ("baseline", "dna", 3)
    predicted = predictor.predict(videos[:2, :3], horizon=3)
    expected = trainer.model(videos[:2]).numpy()[:, 2:]
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)


def numpy_separable(images, ky, kx):
    """out[y, x] = sum_dx kx[y, x, dx] * sum_dy ky[y, x+dx, dy] * img[y+dy, x+dx], zero outside the frame."""
    size = ky.shape[-1]
    half = size // 2
    height, width = images.shape[1:3]
    rows = np.pad(images, [(0, 0), (half, half), (0, 0), (0, 0)])
    moved = sum(ky[..., dy:dy + 1] * rows[:, dy:dy + height] for dy in range(size))
    columns = np.pad(moved, [(0, 0), (0, 0), (half, half), (0, 0)])
    return sum(kx[..., dx:dx + 1] * columns[:, :, dx:dx + width] for dx in range(size))


def test_separable_kernels_match_numpy_and_the_outer_product_where_constant():
    from vidpred_tf.layers.pixel_kernels import apply_separable_pixel_kernels

    rng = np.random.default_rng(3)
    images = rng.random((2, 10, 12, 2)).astype(np.float32)
    ky, kx = (rng.dirichlet(np.ones(5), size=(2, 10, 12)).astype(np.float32) for _ in range(2))
    out = apply_separable_pixel_kernels(tf.constant(images), tf.constant(ky), tf.constant(kx)).numpy()
    np.testing.assert_allclose(out, numpy_separable(images, ky, kx), rtol=1e-5, atol=1e-6)
    # The same kernels everywhere: exactly the full k x k kernel that is their outer product.
    ky0, kx0 = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))
    ky_const = np.broadcast_to(ky0, (2, 10, 12, 5)).astype(np.float32)
    kx_const = np.broadcast_to(kx0, (2, 10, 12, 5)).astype(np.float32)
    full = np.broadcast_to(np.outer(ky0, kx0).reshape(25), (2, 10, 12, 25)).astype(np.float32)
    np.testing.assert_allclose(
        apply_separable_pixel_kernels(tf.constant(images), tf.constant(ky_const), tf.constant(kx_const)).numpy(),
        numpy_pixel_kernels(images, full), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="same odd tap count"):
        apply_separable_pixel_kernels(tf.constant(images), tf.constant(ky), tf.constant(kx[..., :3]))


def test_full_kernel_variant_copies_too():
    config = DNAConfig(image_size=16, context_frames=2, encoder_filters=(4, 8), lstm_filters=(8,), kernel_size=3,
                       centre_bias=40.0, separable=False)
    videos = np.random.default_rng(4).random((1, 4, 16, 16, 1)).astype(np.float32)
    out = build_baseline_model(config, 4)(videos).numpy()
    np.testing.assert_allclose(out[:, :2], videos[:, :2], atol=1e-6)


def test_motion_correlation_lights_the_tap_of_the_motion():
    """Content that moved by (dy, dx) = (+2, -4) pixels lights the correlation channel of the half-resolution
    offset (-1, +2): the tap the model's kernels need to carry it on."""
    config = DNAConfig(image_size=32, context_frames=2, encoder_filters=(4, 8), lstm_filters=(8,))
    model = build_baseline_model(config, 3)
    previous = np.zeros((1, 32, 32, 1), np.float32)
    previous[0, 10:14, 12:16] = 1.0
    frame = np.roll(previous, shift=(2, -4), axis=(1, 2))
    correlation = model._motion_correlation(tf.constant(frame), tf.constant(previous)).numpy()
    assert correlation.shape == (1, 16, 16, 25)
    window = config.motion_window
    tap = (-1 + window // 2) * window + (2 + window // 2)
    totals = correlation.sum(axis=(0, 1, 2))
    assert int(np.argmax(totals)) == tap
    # Independent NumPy: half-resolution averages, products with the shifted previous frame.
    half = lambda x: x[0, :, :, 0].reshape(16, 2, 16, 2).mean(axis=(1, 3))  # noqa: E731
    f, p = half(frame), np.pad(half(previous), 2)
    expected = np.stack([f * p[dy:dy + 16, dx:dx + 16] for dy in range(5) for dx in range(5)], axis=-1)
    np.testing.assert_allclose(correlation[0], expected, atol=1e-6)


def test_l1_and_l2_losses_of_the_next_frame_task():
    config = DNAConfig(image_size=16, context_frames=2, encoder_filters=(4, 8), lstm_filters=(8,))
    videos = tf.constant(np.random.default_rng(5).random((2, 4, 16, 16, 1)).astype(np.float32))
    for loss in ("l1", "l2"):
        task = NextFrameTask(config, num_frames=4, loss=loss)
        model = task.build_model()
        losses = task.train_losses(model, {"images": videos}, 0, None)
        error = model(videos).numpy() - videos.numpy()[:, 1:]
        expected = np.abs(error).mean() if loss == "l1" else np.square(error).mean()
        np.testing.assert_allclose(float(losses["loss"]), expected, rtol=1e-5)
        np.testing.assert_allclose(float(losses["future_mse"]), np.square(error[:, 1:]).mean(), rtol=1e-5)
    with pytest.raises(ValueError, match="loss must be one of l2, l1; got 'huber'"):
        NextFrameTask(config, num_frames=4, loss="huber")


def test_teacher_forcing_reads_every_real_frame_in_training():
    config = DNAConfig(image_size=16, context_frames=2, encoder_filters=(4, 8), lstm_filters=(8,), kernel_size=3,
                       centre_bias=40.0)  # an exact copy of the frame it is given
    videos = np.random.default_rng(6).random((2, 5, 16, 16, 1)).astype(np.float32)
    model = build_baseline_model(config, 5)
    np.testing.assert_allclose(model(videos, ground_truth_frames=5).numpy(), videos[:, :-1], atol=1e-6)
    rollout = model(videos).numpy()  # after the 2 context frames, its own predictions
    np.testing.assert_allclose(rollout[:, 2:], np.repeat(videos[:, 1:2], 2, axis=1), atol=1e-6)
    task = NextFrameTask(config, num_frames=5, loss="l1", teacher_forcing=True)
    losses = task.train_losses(model, {"images": tf.constant(videos)}, 0, None)
    np.testing.assert_allclose(float(losses["loss"]), np.abs(videos[:, :-1] - videos[:, 1:]).mean(), rtol=1e-5)
