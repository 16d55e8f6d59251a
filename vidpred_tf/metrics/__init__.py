"""Frame metrics and their aggregation.

MSE, MAE, PSNR and SSIM (``frame``), named conventions so that a table says which one it used
(``conventions``: SSIM tf.image / scikit-image / Finn et al. / SAVP's ``ssim_scikit``; MSE per-pixel mean /
OpenSTL per-frame sum),
LPIPS v0.1 (``lpips``), FVD with I3D Kinetics-400 embeddings (``fvd``), and per-time-step and
best/avg/worst-of-N aggregation (``aggregate``; ``best_of_n`` for the MSPred/SVG protocol that ranks samples by
their frame-sum per metric and ignores NaNs). MSPred's piqa PSNR/SSIM are the "piqa" conventions; its keypoint
(``keypoints``: mpjpe, pdj@f, pck@f) and segmentation (``segmentation``) metrics work on heat maps.
"""

from vidpred_tf.metrics.aggregate import best_avg_worst, best_worst_indices, per_timestep_mean, summarize
from vidpred_tf.metrics.best_of_n import (
    BestOfNTracker,
    best_of_n,
    best_sample_indices,
    nan_framewise_mean,
    nan_mean,
    summarize_best_of_n,
)
from vidpred_tf.metrics.conventions import (
    MAE_CONVENTIONS,
    MSE_CONVENTIONS,
    PSNR_CONVENTIONS,
    SSIM_CONVENTIONS,
    higher_is_better,
    ssim_finn,
    ssim_scikit,
)
from vidpred_tf.metrics.frame import (
    METRICS,
    frame_metrics,
    mae,
    mse,
    psnr,
    psnr_piqa,
    ssim_piqa,
    ssim_skimage,
    ssim_tf,
)
from vidpred_tf.metrics.fvd import frechet_distance, fvd, i3d_embeddings, preprocess_for_i3d
from vidpred_tf.metrics.keypoints import mpjpe, pck, pdj
from vidpred_tf.metrics.lpips import LPIPS
from vidpred_tf.metrics.segmentation import confusion_matrices, segmentation_stats

__all__ = [
    "BestOfNTracker",
    "LPIPS",
    "MAE_CONVENTIONS",
    "METRICS",
    "MSE_CONVENTIONS",
    "PSNR_CONVENTIONS",
    "SSIM_CONVENTIONS",
    "best_avg_worst",
    "best_of_n",
    "best_sample_indices",
    "confusion_matrices",
    "best_worst_indices",
    "frame_metrics",
    "frechet_distance",
    "fvd",
    "higher_is_better",
    "i3d_embeddings",
    "mae",
    "mpjpe",
    "mse",
    "nan_framewise_mean",
    "nan_mean",
    "pck",
    "pdj",
    "per_timestep_mean",
    "preprocess_for_i3d",
    "psnr",
    "psnr_piqa",
    "segmentation_stats",
    "ssim_finn",
    "ssim_scikit",
    "ssim_piqa",
    "ssim_skimage",
    "ssim_tf",
    "summarize",
    "summarize_best_of_n",
]
