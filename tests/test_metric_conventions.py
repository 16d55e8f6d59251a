"""Named SSIM / MSE / MAE conventions against independent computations (NumPy, SciPy, scikit-image)."""

import numpy as np
import pytest
import tensorflow as tf
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import gaussian_filter
from skimage.metrics import structural_similarity

from vidpred_tf.metrics import conventions
from vidpred_tf.metrics.aggregate import summarize
from vidpred_tf.metrics.conventions import (
    MAE_CONVENTIONS,
    MSE_CONVENTIONS,
    SSIM_CONVENTIONS,
    higher_is_better,
    mae,
    metric_name,
    mse,
    ssim,
)


def _pair(shape, seed=0, noise=0.15):
    rng = np.random.default_rng(seed)
    gt = rng.random(shape)
    # Smooth structure plus noise, so that SSIM is far from both 0 and 1.
    gt = gaussian_filter(gt, sigma=[0] * (len(shape) - 3) + [1.5, 1.5, 0])
    pred = np.clip(gt + noise * rng.standard_normal(shape), 0.0, 1.0)
    return gt, pred


def _per_frame(function, gt, pred):
    flat_gt = gt.reshape((-1,) + gt.shape[-3:])
    flat_pred = pred.reshape((-1,) + pred.shape[-3:])
    return np.array([function(g, p) for g, p in zip(flat_gt, flat_pred)]).reshape(gt.shape[:-3])


def _ssim_map_terms(mu_x, mu_y, xx, yy, xy, data_range, cov_norm=1.0):
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    var_x, var_y, cov = (cov_norm * (xx - mu_x ** 2), cov_norm * (yy - mu_y ** 2), cov_norm * (xy - mu_x * mu_y))
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))


def finn_official_ssim(x, y, data_range=1.0):
    """Finn et al.'s script (as SAVP ships it): 11x11 Gaussian sigma 1.5 (offsets -5..5, sum 1), 'valid' filtering,
    population statistics; per channel, then averaged."""
    offsets = np.arange(-5, 6)
    window = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * 1.5 ** 2))
    window /= window.sum()

    def valid(image):
        return np.einsum("hwij,ij->hw", sliding_window_view(image, (11, 11)), window)

    per_channel = []
    for c in range(x.shape[-1]):
        a, b = x[..., c], y[..., c]
        ssim_map = _ssim_map_terms(valid(a), valid(b), valid(a * a), valid(b * b), valid(a * b), data_range)
        per_channel.append(ssim_map.mean())
    return np.mean(per_channel)


def skimage_gaussian_ssim(x, y, truncate, data_range=1.0):
    """scikit-image's gaussian_weights=True, use_sample_covariance=False algorithm with scipy's Gaussian at
    ``truncate`` (4.0 before scikit-image 0.16, 3.5 since): reflect borders, SSIM map cropped by 5 per side."""
    per_channel = []
    for c in range(x.shape[-1]):
        a, b = x[..., c], y[..., c]

        def blur(image):
            return gaussian_filter(image, sigma=1.5, truncate=truncate, mode="reflect")

        ssim_map = _ssim_map_terms(blur(a), blur(b), blur(a * a), blur(b * b), blur(a * b), data_range)
        per_channel.append(ssim_map[5:-5, 5:-5].mean())
    return np.mean(per_channel)


def test_the_finn_reference_is_todays_skimage_when_truncated_at_3_5():
    """The SciPy statement of scikit-image's Gaussian SSIM is right: at truncate 3.5 it is today's scikit-image."""
    gt, pred = _pair((2, 24, 27, 3), seed=1)
    ours = _per_frame(lambda g, p: skimage_gaussian_ssim(g, p, truncate=3.5), gt, pred)
    theirs = _per_frame(lambda g, p: structural_similarity(g, p, channel_axis=-1, data_range=1.0, sigma=1.5,
                                                           gaussian_weights=True, use_sample_covariance=False),
                        gt, pred)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 24, 27, 3), (4, 16, 16, 1), (11, 11, 3)])
def test_finn_is_savps_2018_scikit_image_gaussian_ssim(shape):
    gt, pred = _pair(shape, seed=2)
    expected = _per_frame(lambda g, p: skimage_gaussian_ssim(g, p, truncate=4.0), gt, pred)
    got = ssim(gt, pred, "finn", data_range=1.0)
    assert got.shape == shape[:-3]
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # A 13-tap Gaussian is not today's 11-tap one: the numbers differ (which is why the convention exists).
    todays = _per_frame(lambda g, p: skimage_gaussian_ssim(g, p, truncate=3.5), gt, pred)
    assert np.all(np.abs(got - todays) > 1e-5)


def test_finn_with_uint8_scale_and_tensors():
    gt, pred = _pair((2, 20, 20, 3), seed=3)
    unit = ssim(gt, pred, "finn", data_range=1.0)
    scaled = ssim(gt * 255.0, pred * 255.0, "finn", data_range=255.0)
    np.testing.assert_allclose(scaled, unit, rtol=1e-10)
    tensor = conventions.ssim_finn(tf.constant(gt, tf.float32), tf.constant(pred, tf.float32))
    assert tf.is_tensor(tensor) and tensor.dtype == tf.float32
    np.testing.assert_allclose(tensor.numpy(), unit, rtol=1e-4)

    @tf.function(input_signature=[tf.TensorSpec([None, 20, 20, 3], tf.float32)] * 2)
    def graph(a, b):
        return ssim(a, b, "finn")

    np.testing.assert_allclose(graph(gt.astype(np.float32), pred.astype(np.float32)).numpy(), unit, rtol=1e-4)
    with pytest.raises(ValueError, match="frame height 10 is smaller than the win_size 11"):
        ssim(gt[:, :10], pred[:, :10], "finn")


def test_tf_image_is_finn_et_al_official_script():
    gt, pred = _pair((2, 2, 24, 27, 3), seed=4)
    expected = _per_frame(finn_official_ssim, gt, pred)
    np.testing.assert_allclose(ssim(gt, pred, "tf_image", data_range=1.0), expected, rtol=2e-5)


def test_skimage_is_structural_similarity_with_its_defaults():
    gt, pred = _pair((3, 20, 22, 3), seed=5)
    expected = _per_frame(lambda g, p: structural_similarity(g, p, channel_axis=-1, data_range=1.0), gt, pred)
    np.testing.assert_allclose(ssim(gt, pred, "skimage", data_range=1.0), expected, rtol=1e-10)


def test_the_three_ssim_conventions_differ():
    gt, pred = _pair((4, 32, 32, 3), seed=6, noise=0.05)
    values = {name: ssim(gt, pred, name) for name in SSIM_CONVENTIONS}
    # finn and tf_image average the same pixels (finn's crop of 5 is tf_image's "valid" region) and differ only
    # by the 13- vs 11-tap Gaussian: a small but systematic gap. skimage's uniform 7x7 window is further off.
    assert np.all(np.abs(values["finn"] - values["tf_image"]) > 1e-5)
    assert np.all(np.abs(values["skimage"] - values["tf_image"]) > 1e-3)
    assert np.all(np.abs(values["skimage"] - values["finn"]) > 1e-3)


def test_mse_and_mae_conventions():
    gt, pred = _pair((2, 3, 8, 9, 3), seed=7)
    error = pred - gt
    np.testing.assert_allclose(mse(gt, pred, "per_pixel_mean"), np.mean(error ** 2, axis=(-3, -2, -1)), rtol=1e-12)
    np.testing.assert_allclose(mse(gt, pred, "openstl_frame_sum"), np.sum(error ** 2, axis=(-3, -2, -1)),
                               rtol=1e-12)
    np.testing.assert_allclose(mae(gt, pred, "per_pixel_mean"), np.mean(np.abs(error), axis=(-3, -2, -1)),
                               rtol=1e-12)
    np.testing.assert_allclose(mae(gt, pred, "openstl_frame_sum"), np.sum(np.abs(error), axis=(-3, -2, -1)),
                               rtol=1e-12)
    # OpenSTL's number for a batch: arrays [B, T, C, H, W], mean over (B, T), then sum over the rest.
    pred_openstl, gt_openstl = pred.transpose(0, 1, 4, 2, 3), gt.transpose(0, 1, 4, 2, 3)
    openstl_mse = np.mean((pred_openstl - gt_openstl) ** 2, axis=(0, 1)).sum()
    openstl_mae = np.mean(np.abs(pred_openstl - gt_openstl), axis=(0, 1)).sum()
    np.testing.assert_allclose(mse(gt, pred, "openstl_frame_sum").mean(), openstl_mse, rtol=1e-12)
    np.testing.assert_allclose(mae(gt, pred, "openstl_frame_sum").mean(), openstl_mae, rtol=1e-12)
    # spatial_norm=True in OpenSTL divides by C*H*W: the per-pixel mean.
    np.testing.assert_allclose(np.mean((pred_openstl - gt_openstl) ** 2 / (3 * 8 * 9), axis=(0, 1)).sum(),
                               mse(gt, pred, "per_pixel_mean").mean(), rtol=1e-12)
    tensor = mse(tf.constant(gt), tf.constant(pred), "openstl_frame_sum")
    assert tf.is_tensor(tensor) and tensor.shape == (2, 3)


def test_unknown_conventions_are_named_with_the_known_ones():
    gt, pred = _pair((1, 16, 16, 1), seed=8)
    with pytest.raises(ValueError, match=r"unknown ssim convention 'matlab'; known ssim conventions: "
                                         r"\['finn', 'piqa', 'skimage', 'tf_image'\]"):
        ssim(gt, pred, "matlab")
    with pytest.raises(ValueError, match=r"unknown mse convention 'sum'; known mse conventions: "
                                         r"\['openstl_frame_sum', 'per_pixel_mean'\]"):
        mse(gt, pred, "sum")
    with pytest.raises(ValueError, match=r"unknown mae convention 'l1'"):
        mae(gt, pred, "l1")
    with pytest.raises(ValueError, match=r"unknown metric kind 'psnr'"):
        metric_name("psnr", "per_pixel_mean")


def test_table_names_and_ranking_direction():
    assert metric_name("ssim", "tf_image") == "ssim_tf"
    assert metric_name("ssim", "skimage") == "ssim_skimage"
    assert metric_name("ssim", "finn") == "ssim_finn"
    assert metric_name("mse", "openstl_frame_sum") == "mse_openstl_frame_sum"
    assert set(MSE_CONVENTIONS) == set(MAE_CONVENTIONS) == {"per_pixel_mean", "openstl_frame_sum"}
    expectations = {"ssim_finn": True, "ssim_tf": True, "psnr": True, "mse_openstl_frame_sum": False,
                    "mae_per_pixel_mean": False, "mse": False, "lpips": False, "lpips_v0.1_alex": False}
    for name, expected in expectations.items():
        assert higher_is_better(name) is expected, name
    with pytest.raises(ValueError, match="unknown metric 'fvd'"):
        higher_is_better("fvd")
    # summarize ranks samples with it: the best sample of an ssim_finn curve is the largest, of an LPIPS the
    # smallest.
    values = np.array([[[0.2, 0.4]], [[0.6, 0.8]]])  # [S=2, N=1, T=2]
    summary = summarize({"ssim_finn": values, "lpips": values}, higher_is_better=higher_is_better)
    assert summary["ssim_finn"]["best"]["mean"] == pytest.approx(0.7)
    assert summary["lpips"]["best"]["mean"] == pytest.approx(0.3)
