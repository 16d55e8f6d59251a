"""Named SSIM, MSE and MAE conventions, so that a result table can say which one produced its numbers.

The codebases this package ports, and OpenSTL that people compare against, compute "SSIM" and "MSE" in ways
that give different numbers for the same frames. Each convention here is a per-frame function
(``[..., H, W, C]`` x2 -> ``[...]``, NumPy in NumPy out, tensors in tensors out, like :mod:`frame`):

SSIM (``ssim(a, b, convention, data_range)``):

* ``tf_image``: ``tf.image.ssim`` (SAVP's in-graph metric; MSPred's piqa SSIM is the same maths): 11x11 Gaussian
  window, sigma 1.5, population (co)variances, only windows inside the frame. This is also exactly the maths of
  Finn et al.'s own SSIM script that SAVP ships as ``structural_similarity_finn_official``.
* ``skimage``: ``skimage.metrics.structural_similarity`` with its defaults (7x7 uniform window, sample
  covariance, borders cropped by 3); e3d's metric. See :func:`vidpred_tf.metrics.frame.ssim_skimage`.
* ``finn``: what SAVP's paper plots as "Average SSIM" (``ssim_finn``): SAVP's evaluation recomputes it with
  scikit-image's ``compare_ssim(gaussian_weights=True, use_sample_covariance=False, data_range=1.0)``, and the
  scikit-image of the time (<= 0.15) filtered with ``scipy.ndimage.gaussian_filter(sigma=1.5)`` at scipy's
  default truncation 4.0, i.e. a 13-tap Gaussian over mirror-reflected borders, then cropped the SSIM map by 5
  pixels per side (``win_size`` 11). Today's scikit-image truncates at 3.5 (11 taps), so calling it with the same
  arguments no longer reproduces the paper's numbers; this convention does.
* ``piqa``: ``piqa.ssim.SSIM(window_size=11, sigma=1.5)`` (MSPred's metric): the ``tf_image`` maths, with piqa's
  check that the frames lie in [0, data_range]. See :func:`vidpred_tf.metrics.frame.ssim_piqa`.

PSNR (``psnr(a, b, convention, data_range)``):

* ``no_epsilon``: ``10 * log10(range**2 / mse)`` (``tf.image.psnr``, scikit-image; +inf for identical frames), i.e.
  :func:`vidpred_tf.metrics.frame.psnr`.
* ``piqa``: ``piqa.psnr.psnr`` (MSPred): ``10 * log10(range**2 / (mse + 1e-8))``, 80 dB for identical frames.

MSE / MAE (``mse(a, b, convention)``, ``mae(a, b, convention)``):

* ``per_pixel_mean``: the mean over H, W and C of one frame (SAVP, MSPred, e3d, and :func:`frame.mse`).
* ``openstl_frame_sum``: the sum over H, W and C of one frame. OpenSTL's ``MSE(pred, true)`` on ``[B, T, C, H,
  W]`` arrays is ``np.mean((pred - true)**2, axis=(0, 1)).sum()``, which equals the mean over the B*T frames of
  this per-frame sum (``MAE`` likewise with ``abs``); OpenSTL computes both before it clips predictions to [0, 1]
  and on frames de-normalised with the dataset mean/std when it has them. Its ``spatial_norm=True`` option
  divides by C*H*W and gives ``per_pixel_mean``.
"""

from __future__ import annotations

from typing import Callable, Dict

import tensorflow as tf

from vidpred_tf.metrics.frame import (
    _finish,
    _prepare,
    psnr_piqa,
    ssim_piqa,
    ssim_skimage,
    ssim_tf,
)
from vidpred_tf.metrics.frame import (
    higher_is_better as _frame_higher_is_better,
)
from vidpred_tf.metrics.frame import (
    mae as _mae_per_pixel_mean,
)
from vidpred_tf.metrics.frame import (
    mse as _mse_per_pixel_mean,
)
from vidpred_tf.metrics.frame import (
    psnr as _psnr_no_epsilon,
)

# SAVP's "finn" SSIM: Gaussian sigma 1.5 truncated at scipy's default 4 sigma (radius 6, 13 taps), SSIM map
# cropped by (11 - 1) // 2 = 5 pixels per side, population (co)variances, k1 0.01, k2 0.03.
FINN_SIGMA = 1.5
FINN_TRUNCATE = 4.0
FINN_WIN_SIZE = 11


def ssim_finn(a, b, data_range=1.0):
    """SSIM per frame as SAVP's paper plots it (``ssim_finn``; see the module docstring). Frames >= 11x11.

    scikit-image's SSIM with Gaussian weights and population (co)variances, as scikit-image computed it before
    0.16: the Gaussian truncated at scipy's default 4 sigma (13 taps) while the map is cropped for an 11-pixel
    window.
    """
    return ssim_skimage(a, b, data_range=data_range, win_size=FINN_WIN_SIZE, gaussian_weights=True,
                        use_sample_covariance=False, sigma=FINN_SIGMA, truncate=FINN_TRUNCATE)


# SAVP's "scikit" SSIM (the KTH panels of its paper): ``compare_ssim(multichannel=True)`` with every other argument
# left at its default, data_range included, which scikit-image sets to 2.0 for float frames (dtype range [-1, 1]).
SCIKIT_DATA_RANGE = 2.0


def ssim_scikit(a, b):
    """SSIM per frame as SAVP's paper plots it for KTH (``ssim_scikit``): scikit-image's defaults (7x7 uniform
    window, sample covariance, borders cropped by 3) with the data range it defaulted to for float frames, 2.0,
    on frames in [0, 1] (so the constants are four times those of ``data_range=1``). Frames >= 7x7."""
    return ssim_skimage(a, b, data_range=SCIKIT_DATA_RANGE)


def _ssim_skimage_defaults(a, b, data_range=1.0):
    return ssim_skimage(a, b, data_range=data_range)


def _squared_error_frame_sum(a, b):
    a, b, return_tensor = _prepare(a, b, "mse[openstl_frame_sum]")
    return _finish(tf.reduce_sum(tf.math.squared_difference(a, b), axis=[-3, -2, -1]), return_tensor)


def _absolute_error_frame_sum(a, b):
    a, b, return_tensor = _prepare(a, b, "mae[openstl_frame_sum]")
    return _finish(tf.reduce_sum(tf.abs(a - b), axis=[-3, -2, -1]), return_tensor)


SSIM_CONVENTIONS: Dict[str, Callable] = {
    "tf_image": ssim_tf,
    "skimage": _ssim_skimage_defaults,
    "finn": ssim_finn,
    "piqa": ssim_piqa,
}

PSNR_CONVENTIONS: Dict[str, Callable] = {
    "no_epsilon": _psnr_no_epsilon,
    "piqa": psnr_piqa,
}

MSE_CONVENTIONS: Dict[str, Callable] = {
    "per_pixel_mean": _mse_per_pixel_mean,
    "openstl_frame_sum": _squared_error_frame_sum,
}

MAE_CONVENTIONS: Dict[str, Callable] = {
    "per_pixel_mean": _mae_per_pixel_mean,
    "openstl_frame_sum": _absolute_error_frame_sum,
}


def _lookup(table: Dict[str, Callable], convention: str, kind: str) -> Callable:
    if convention not in table:
        raise ValueError(f"unknown {kind} convention {convention!r}; known {kind} conventions: {sorted(table)}")
    return table[convention]


def ssim(a, b, convention: str, data_range=1.0):
    """SSIM per frame in the named convention (``tf_image``, ``skimage``, ``finn`` or ``piqa``)."""
    return _lookup(SSIM_CONVENTIONS, convention, "ssim")(a, b, data_range=data_range)


def psnr(a, b, convention: str, data_range=1.0):
    """PSNR per frame in the named convention (``no_epsilon`` or ``piqa``)."""
    return _lookup(PSNR_CONVENTIONS, convention, "psnr")(a, b, data_range=data_range)


def mse(a, b, convention: str):
    """Squared error per frame in the named convention (``per_pixel_mean`` or ``openstl_frame_sum``)."""
    return _lookup(MSE_CONVENTIONS, convention, "mse")(a, b)


def mae(a, b, convention: str):
    """Absolute error per frame in the named convention (``per_pixel_mean`` or ``openstl_frame_sum``)."""
    return _lookup(MAE_CONVENTIONS, convention, "mae")(a, b)


def metric_name(kind: str, convention: str) -> str:
    """The column name a result table uses for a metric in a convention: ``ssim_finn``, ``mse_openstl_frame_sum``.

    ``ssim``/``tf_image`` and ``ssim``/``skimage`` give ``ssim_tf`` and ``ssim_skimage``, the names in
    :data:`vidpred_tf.metrics.frame.METRICS`.
    """
    tables = {"ssim": SSIM_CONVENTIONS, "mse": MSE_CONVENTIONS, "mae": MAE_CONVENTIONS}
    if kind not in tables:
        raise ValueError(f"unknown metric kind {kind!r}; known kinds: {sorted(tables)}")
    _lookup(tables[kind], convention, kind)
    if kind == "ssim" and convention == "tf_image":
        return "ssim_tf"
    return f"{kind}_{convention}"


def higher_is_better(name: str) -> bool:
    """Ranking direction of any metric name a table may hold: the frame metrics, their named conventions
    (:func:`metric_name`) and LPIPS (``lpips`` or ``LPIPS.name``; lower is better). Usable as the
    ``higher_is_better`` argument of :func:`vidpred_tf.metrics.aggregate.summarize`."""
    if name == "lpips" or name.startswith("lpips_"):
        return False
    if name == "ssim_scikit":
        return True
    tables = {"ssim": SSIM_CONVENTIONS, "mse": MSE_CONVENTIONS, "mae": MAE_CONVENTIONS}
    for kind, larger_is_better in (("ssim", True), ("mse", False), ("mae", False)):
        if name.startswith(kind + "_") and name[len(kind) + 1:] in tables[kind]:
            return larger_is_better
    return _frame_higher_is_better(name)
