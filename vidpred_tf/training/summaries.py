"""TensorBoard summaries written by the chief only: scalars, still images and animated GIFs.

Animated GIFs go into the image dashboard as a TF1-style ``Summary.Image`` whose encoded bytes are a GIF
(browsers animate it); TensorBoard's image plugin reads those values as it reads PNGs.
"""

from __future__ import annotations

from typing import Mapping, Optional

import numpy as np
import tensorflow as tf

from vidpred_tf.viz import video as video_io


class SummaryWriter:
    """A ``tf.summary`` file writer on the chief, a no-op writer elsewhere."""

    def __init__(self, logdir: Optional[str], enabled: bool = True):
        self.logdir = logdir
        self.enabled = bool(enabled and logdir)
        self._writer = tf.summary.create_file_writer(logdir) if self.enabled else tf.summary.create_noop_writer()

    def scalars(self, values: Mapping[str, float], step: int, prefix: str = "") -> None:
        if not self.enabled:
            return
        with self._writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(prefix + name, float(value))

    def image(self, name: str, image: np.ndarray, step: int) -> None:
        """One uint8 or [0, 1] float image ``[H, W, C]``."""
        if not self.enabled:
            return
        image = video_io.to_uint8(np.asarray(image))
        with self._writer.as_default(step=step):
            tf.summary.image(name, image[None], step=step)

    def gif(self, name: str, frames: np.ndarray, step: int, fps: int = 4) -> None:
        """An animated GIF of ``frames [T, H, W, C]`` in the image dashboard."""
        if not self.enabled:
            return
        frames = video_io.to_uint8(np.asarray(frames))
        encoded = video_io.encode_gif(frames, fps=fps)
        summary = tf.compat.v1.Summary()
        summary.value.add(tag=name, image=tf.compat.v1.Summary.Image(
            height=frames.shape[1], width=frames.shape[2], colorspace=frames.shape[3],
            encoded_image_string=encoded))
        with self._writer.as_default(step=step):
            tf.summary.experimental.write_raw_pb(tf.constant(summary.SerializeToString()), step=step)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
