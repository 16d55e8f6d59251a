"""Frame metrics (MSE, MAE, PSNR, SSIM in the tf.image and scikit-image conventions) and their aggregation."""

from vidpred_tf.metrics.aggregate import best_avg_worst, best_worst_indices, per_timestep_mean, summarize
from vidpred_tf.metrics.frame import (
    METRICS,
    frame_metrics,
    higher_is_better,
    mae,
    mse,
    psnr,
    ssim_skimage,
    ssim_tf,
)

__all__ = [
    "METRICS",
    "best_avg_worst",
    "best_worst_indices",
    "frame_metrics",
    "higher_is_better",
    "mae",
    "mse",
    "per_timestep_mean",
    "psnr",
    "ssim_skimage",
    "ssim_tf",
    "summarize",
]
