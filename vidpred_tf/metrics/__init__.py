"""Frame metrics and their aggregation.

MSE, MAE, PSNR and SSIM (``frame``), named conventions so that a table says which one it used
(``conventions``: SSIM tf.image / scikit-image / Finn et al.; MSE per-pixel mean / OpenSTL per-frame sum),
LPIPS v0.1 (``lpips``), FVD with I3D Kinetics-400 embeddings (``fvd``), and per-time-step and
best/avg/worst-of-N aggregation (``aggregate``).
"""

from vidpred_tf.metrics.aggregate import best_avg_worst, best_worst_indices, per_timestep_mean, summarize
from vidpred_tf.metrics.conventions import (
    MAE_CONVENTIONS,
    MSE_CONVENTIONS,
    SSIM_CONVENTIONS,
    higher_is_better,
    ssim_finn,
)
from vidpred_tf.metrics.fvd import frechet_distance, fvd, i3d_embeddings, preprocess_for_i3d
from vidpred_tf.metrics.frame import METRICS, frame_metrics, mae, mse, psnr, ssim_skimage, ssim_tf
from vidpred_tf.metrics.lpips import LPIPS

__all__ = [
    "LPIPS",
    "MAE_CONVENTIONS",
    "METRICS",
    "MSE_CONVENTIONS",
    "SSIM_CONVENTIONS",
    "best_avg_worst",
    "best_worst_indices",
    "frame_metrics",
    "frechet_distance",
    "fvd",
    "higher_is_better",
    "i3d_embeddings",
    "mae",
    "mse",
    "per_timestep_mean",
    "preprocess_for_i3d",
    "psnr",
    "ssim_finn",
    "ssim_skimage",
    "ssim_tf",
    "summarize",
]
