"""Per-frame full-reference metrics: MSE, MAE, PSNR and two SSIM conventions.

Every metric takes two arrays ``[..., H, W, C]`` (NumPy arrays or TF tensors, same shape) and returns one value
per frame, shape ``[...]``: NumPy in gives NumPy out, a tensor in gives a tensor out. The maths is TensorFlow, so
the functions also run inside ``tf.function`` on whole batches ``[B, T, H, W, C]``.

Inputs are used as they are (no rescaling): pass ``data_range`` to say what the pixel range is (1.0 for frames
in [0, 1], 255.0 for uint8 frames). Float64 inputs are computed in float64, everything else in float32.

Two SSIM conventions exist among the ported codebases and give different numbers, so both are here, named after
where they come from:

* ``ssim_tf``: ``tf.image.ssim`` (SAVP, and the same maths as piqa's SSIM used by MSPred): 11x11 Gaussian window,
  sigma 1.5, k1 0.01, k2 0.03, population covariance, "valid" filtering, mean over pixels then channels.
* ``ssim_skimage``: ``skimage.metrics.structural_similarity`` (e3d): by default a 7x7 uniform window with sample
  covariance, the borders cropped by ``(win_size - 1) // 2`` before the mean, channels averaged.

MSPred's piqa metrics are named too: ``psnr_piqa`` (PSNR with 1e-8 added to the mse, so identical frames give
80 dB) and ``ssim_piqa`` (the ``ssim_tf`` maths, inputs checked to lie in [0, data_range] as piqa asserts).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Iterable, Optional

import numpy as np
import tensorflow as tf

# Names of the metrics for which a larger value means a better prediction.
_HIGHER_IS_BETTER = {"mse": False, "mae": False, "psnr": True, "ssim_tf": True, "ssim_skimage": True,
                     "psnr_piqa": True, "ssim_piqa": True}


def _prepare(a, b, name: str):
    """Both inputs as tensors of one float dtype, plus whether the caller gave tensors (to return the same kind)."""
    return_tensor = tf.is_tensor(a) or tf.is_tensor(b)
    a = tf.convert_to_tensor(a)
    b = tf.convert_to_tensor(b)
    compute_dtype = tf.float64 if (a.dtype == tf.float64 and b.dtype == tf.float64) else tf.float32
    a = tf.cast(a, compute_dtype)
    b = tf.cast(b, compute_dtype)
    if a.shape.rank is not None and a.shape.rank < 3:
        raise ValueError(f"{name}: frames must be [..., H, W, C]; got shape {a.shape}")
    if a.shape.is_fully_defined() and b.shape.is_fully_defined():
        if a.shape != b.shape:
            raise ValueError(f"{name}: both inputs must have the same shape; got {a.shape} and {b.shape}")
    else:
        # Symbolic shapes (inside tf.function): check what is known now, the rest when the graph runs.
        if not a.shape.is_compatible_with(b.shape):
            raise ValueError(f"{name}: both inputs must have the same shape; got {a.shape} and {b.shape}")
        tf.debugging.assert_equal(tf.shape(a), tf.shape(b), message=f"{name}: both inputs must have the same shape")
    return a, b, return_tensor


def _finish(values: tf.Tensor, return_tensor: bool):
    return values if return_tensor else values.numpy()


def _check_data_range(data_range, name: str) -> float:
    if data_range is None:
        raise ValueError(f"{name}: data_range is required (1.0 for frames in [0, 1], 255.0 for uint8 frames)")
    data_range = float(data_range)
    if not data_range > 0:
        raise ValueError(f"{name}: data_range must be positive; got {data_range}")
    return data_range


def _check_frame_size(images: tf.Tensor, window: int, name: str, what: str) -> None:
    height, width = images.shape[-3], images.shape[-2]
    for size, axis in ((height, "height"), (width, "width")):
        if size is not None and size < window:
            raise ValueError(f"{name}: frame {axis} {size} is smaller than the {what} {window}; "
                             f"frames have shape {images.shape}")


def _mse_tensor(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.math.squared_difference(a, b), axis=[-3, -2, -1])


def mse(a, b):
    """Mean squared error per frame: the mean of ``(a - b)**2`` over H, W and C."""
    a, b, return_tensor = _prepare(a, b, "mse")
    return _finish(_mse_tensor(a, b), return_tensor)


def mae(a, b):
    """Mean absolute error per frame: the mean of ``|a - b|`` over H, W and C."""
    a, b, return_tensor = _prepare(a, b, "mae")
    return _finish(tf.reduce_mean(tf.abs(a - b), axis=[-3, -2, -1]), return_tensor)


def psnr(a, b, data_range=1.0):
    """Peak signal-to-noise ratio per frame in dB: ``10 * log10(data_range**2 / mse)``.

    Identical frames have mse 0 and give ``+inf`` (no epsilon is added; MSPred's piqa PSNR adds 1e-8 to the mse
    and so reports 80 dB there). This equals ``tf.image.psnr`` and ``skimage.metrics.peak_signal_noise_ratio``.
    """
    data_range = _check_data_range(data_range, "psnr")
    a, b, return_tensor = _prepare(a, b, "psnr")
    peak_squared = tf.constant(data_range * data_range, dtype=a.dtype)
    ratio = peak_squared / _mse_tensor(a, b)
    values = tf.constant(10.0 / math.log(10.0), dtype=a.dtype) * tf.math.log(ratio)
    return _finish(values, return_tensor)


def _flatten_frames(images: tf.Tensor):
    """``[..., H, W, C]`` -> ``[N, H, W, C]`` and the leading shape to restore."""
    leading_shape = tf.shape(images)[:-3]
    flat = tf.reshape(images, tf.concat([[-1], tf.shape(images)[-3:]], axis=0))
    return flat, leading_shape


def ssim_tf(a, b, data_range=1.0):
    """SSIM per frame in the ``tf.image.ssim`` convention (SAVP's metric).

    11x11 Gaussian window with sigma 1.5, k1 = 0.01, k2 = 0.03, population (co)variances, only windows that fit
    inside the frame ("valid"), mean over pixels and then over channels. Frames must be at least 11x11.
    ``tf.image.ssim`` works in float32, so float64 inputs lose precision here (the result is cast back).
    """
    data_range = _check_data_range(data_range, "ssim_tf")
    a, b, return_tensor = _prepare(a, b, "ssim_tf")
    _check_frame_size(a, 11, "ssim_tf", "11x11 Gaussian window")
    flat_a, leading_shape = _flatten_frames(a)
    flat_b, _ = _flatten_frames(b)
    values = tf.image.ssim(tf.cast(flat_a, tf.float32), tf.cast(flat_b, tf.float32), max_val=data_range,
                           filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03)
    values = tf.reshape(tf.cast(values, a.dtype), leading_shape)
    return _finish(values, return_tensor)


def _gaussian_taps(sigma: float, truncate: float) -> np.ndarray:
    """1-D Gaussian weights as scipy.ndimage.gaussian_filter builds them: radius int(truncate*sigma + 0.5), sum 1."""
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    return taps / taps.sum()


def ssim_skimage(a, b, data_range, win_size: Optional[int] = None, gaussian_weights: bool = False,
                 use_sample_covariance: bool = True, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
                 truncate: float = 3.5):
    """SSIM per frame in the convention of ``skimage.metrics.structural_similarity(..., channel_axis=-1)`` (e3d).

    Local means and (co)variances come from a ``win_size`` x ``win_size`` uniform window (default 7), or from a
    Gaussian of ``sigma`` truncated at ``truncate`` sigma when ``gaussian_weights`` (then ``win_size`` defaults
    to the filter's width, 11 with scikit-image's 3.5; scikit-image before 0.16 let scipy truncate at 4).
    With ``use_sample_covariance`` the (co)variances are scaled by ``NP / (NP - 1)``, ``NP = win_size**2``.
    The SSIM map is cropped by ``(win_size - 1) // 2`` on every side before its mean, and channels are averaged.
    Borders that the crop keeps but the filter overreaches are filled by mirror reflection, as scipy.ndimage does.

    ``data_range`` is required. scikit-image used to default it to 2.0 for float images (the whole float range
    [-1, 1]); e3d's evaluation called ``compare_ssim`` without it, so ``data_range=2.0`` reproduces e3d's numbers
    for frames in [0, 1], and ``data_range=1.0`` is the value a new evaluation should use.
    """
    name = "ssim_skimage"
    data_range = _check_data_range(data_range, name)
    if win_size is None:
        win_size = 2 * int(truncate * sigma + 0.5) + 1 if gaussian_weights else 7
    if win_size < 1 or win_size % 2 != 1:
        raise ValueError(f"{name}: win_size must be a positive odd number; got {win_size}")
    if gaussian_weights and not sigma > 0:
        raise ValueError(f"{name}: sigma must be positive; got {sigma}")
    a, b, return_tensor = _prepare(a, b, name)
    _check_frame_size(a, win_size, name, "win_size")
    dtype = a.dtype

    taps = _gaussian_taps(sigma, truncate) if gaussian_weights else np.full(win_size, 1.0 / win_size)
    radius = (len(taps) - 1) // 2
    crop = (win_size - 1) // 2
    kernel_2d = np.outer(taps, taps)
    # Five statistics filtered in one depthwise convolution: x, y, x*x, y*y, x*y.
    kernel = tf.constant(np.tile(kernel_2d[:, :, None, None], (1, 1, 5, 1)), dtype=dtype)

    # Channels go into the batch axis so that each channel is filtered on its own, as scikit-image does.
    flat_a, leading_shape = _flatten_frames(a)
    flat_b, _ = _flatten_frames(b)
    num_channels = tf.shape(flat_a)[-1]

    def channels_to_batch(images):
        images = tf.transpose(images, [0, 3, 1, 2])
        return tf.reshape(images, tf.concat([[-1], tf.shape(images)[2:], [1]], axis=0))

    x = channels_to_batch(flat_a)
    y = channels_to_batch(flat_b)
    stats = tf.concat([x, y, x * x, y * y, x * y], axis=-1)
    # Only the cropped region is kept, so the filter needs mirrored pixels only where it reaches past the crop.
    extra_pad = max(radius - crop, 0)
    if extra_pad:
        stats = tf.pad(stats, [[0, 0], [extra_pad, extra_pad], [extra_pad, extra_pad], [0, 0]], mode="SYMMETRIC")
    filtered = tf.nn.depthwise_conv2d(stats, kernel, strides=[1, 1, 1, 1], padding="VALID")
    extra_crop = max(crop - radius, 0)
    if extra_crop:
        filtered = filtered[:, extra_crop:-extra_crop, extra_crop:-extra_crop, :]
    mean_x, mean_y, mean_xx, mean_yy, mean_xy = tf.unstack(filtered, axis=-1)

    num_points = win_size ** 2
    cov_norm = num_points / (num_points - 1.0) if use_sample_covariance else 1.0
    cov_norm = tf.constant(cov_norm, dtype=dtype)
    var_x = cov_norm * (mean_xx - mean_x * mean_x)
    var_y = cov_norm * (mean_yy - mean_y * mean_y)
    cov_xy = cov_norm * (mean_xy - mean_x * mean_y)
    c1 = tf.constant((k1 * data_range) ** 2, dtype=dtype)
    c2 = tf.constant((k2 * data_range) ** 2, dtype=dtype)
    ssim_map = ((2.0 * mean_x * mean_y + c1) * (2.0 * cov_xy + c2)) / (
        (mean_x * mean_x + mean_y * mean_y + c1) * (var_x + var_y + c2))

    per_channel = tf.reduce_mean(ssim_map, axis=[1, 2])
    per_frame = tf.reduce_mean(tf.reshape(per_channel, [-1, num_channels]), axis=-1)
    return _finish(tf.reshape(per_frame, leading_shape), return_tensor)


# piqa 1.2.2's PSNR adds this to the mse, so identical frames give 10 * log10(1 / 1e-8) = 80 dB.
PIQA_PSNR_EPSILON = 1e-8


def _check_unit_range(images: tf.Tensor, data_range: float, name: str) -> None:
    """piqa asserts its inputs lie in [0, value_range]; do the same where values can be read (eager mode)."""
    if tf.executing_eagerly() and tf.size(images) > 0:
        smallest, largest = float(tf.reduce_min(images)), float(tf.reduce_max(images))
        if smallest < 0.0 or largest > data_range:
            raise ValueError(f"{name}: frames must lie in [0, {data_range:g}] (as piqa asserts); got values in "
                             f"[{smallest:g}, {largest:g}]")


def psnr_piqa(a, b, data_range=1.0, epsilon=PIQA_PSNR_EPSILON):
    """PSNR per frame as ``piqa.psnr.psnr`` (MSPred's metric): ``10 * log10(data_range**2 / (mse + epsilon))``.

    The epsilon (1e-8) caps identical frames at 80 dB instead of ``+inf`` (compare :func:`psnr`).
    """
    data_range = _check_data_range(data_range, "psnr_piqa")
    a, b, return_tensor = _prepare(a, b, "psnr_piqa")
    ratio = tf.constant(data_range * data_range, dtype=a.dtype) / (_mse_tensor(a, b) + epsilon)
    values = tf.constant(10.0 / math.log(10.0), dtype=a.dtype) * tf.math.log(ratio)
    return _finish(values, return_tensor)


def ssim_piqa(a, b, data_range=1.0):
    """SSIM per frame as ``piqa.ssim.SSIM(window_size=11, sigma=1.5, reduction=None)`` (MSPred's metric).

    piqa's maths is the :func:`ssim_tf` convention (separable 11-tap Gaussian of sigma 1.5 normalised to sum 1,
    per channel, 'valid' filtering, c1 = (0.01 * range)**2, c2 = (0.03 * range)**2, mean over pixels then
    channels); like piqa it refuses frames outside [0, data_range]. Frames must be at least 11x11.
    """
    data_range = _check_data_range(data_range, "ssim_piqa")
    a_checked, b_checked, _ = _prepare(a, b, "ssim_piqa")
    _check_unit_range(a_checked, data_range, "ssim_piqa")
    _check_unit_range(b_checked, data_range, "ssim_piqa")
    return ssim_tf(a, b, data_range=data_range)


METRICS: Dict[str, Callable] = {
    "mse": mse,
    "mae": mae,
    "psnr": psnr,
    "ssim_tf": ssim_tf,
    "ssim_skimage": ssim_skimage,
    "psnr_piqa": psnr_piqa,
    "ssim_piqa": ssim_piqa,
}

_TAKES_DATA_RANGE = ("psnr", "ssim_tf", "ssim_skimage", "psnr_piqa", "ssim_piqa")


def _check_metric_name(name: str) -> None:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; known metrics: {sorted(METRICS)}")


def higher_is_better(name: str) -> bool:
    """Whether a larger value of metric ``name`` means a better prediction (False for mse and mae)."""
    _check_metric_name(name)
    return _HIGHER_IS_BETTER[name]


def frame_metrics(gt, pred, names: Iterable[str] = ("mse", "mae", "psnr", "ssim_tf"), data_range=1.0):
    """Several metrics at once: ``{name: values}``, each ``[B, T]`` for ``[B, T, H, W, C]`` inputs.

    ``data_range`` goes to the metrics that use one (psnr and both SSIMs).
    """
    names = (names,) if isinstance(names, str) else tuple(names)
    for name in names:
        _check_metric_name(name)
    results = {}
    for name in names:
        if name in _TAKES_DATA_RANGE:
            results[name] = METRICS[name](gt, pred, data_range=data_range)
        else:
            results[name] = METRICS[name](gt, pred)
    return results
