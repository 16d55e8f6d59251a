"""Pictures of predictions: GIF/MP4 writing and reading, ground truth vs prediction grids, metric plots."""

from vidpred_tf.viz.grid import (
    comparison_batch,
    comparison_frames,
    comparison_strip_png,
    save_png,
    write_comparison_gif,
)
from vidpred_tf.viz.plots import plot_metric_curves
from vidpred_tf.viz.video import (
    encode_gif,
    ffmpeg_executable,
    read_video,
    to_uint8,
    write_atomically,
    write_gif,
    write_mp4,
)

__all__ = [
    "comparison_batch",
    "comparison_frames",
    "comparison_strip_png",
    "encode_gif",
    "ffmpeg_executable",
    "plot_metric_curves",
    "read_video",
    "save_png",
    "to_uint8",
    "write_atomically",
    "write_comparison_gif",
    "write_gif",
    "write_mp4",
]
