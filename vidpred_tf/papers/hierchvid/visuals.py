"""Pictures the hierchvid scripts write: pose heat-map frames with the original's coloured borders, training sample
rows, and GIFs at the original's 7 frames per second.

* PNG frames are BGR arrays written with ``cv2.imwrite``, as the original.
* GIFs: the original ran ``ffmpeg -f image2 -framerate 7 -i %05d.png out.gif`` over the PNGs it had written; the
  port encodes the same frames (as RGB, what ffmpeg decodes from those PNGs) with the package's GIF writer
  (:func:`vidpred_tf.viz.write_gif`, ffmpeg too) at 7 fps.
* Training samples were saved with ``scipy.misc.imsave``, which rescales a float image from its own min..max to
  0..255 (``bytescale``): :func:`bytescale` does the same.
"""

from __future__ import annotations

import os
from typing import Sequence

import cv2
import numpy as np

from vidpred_tf.data import pose_maps
from vidpred_tf.errors import InputError
from vidpred_tf.viz import write_gif

GIF_FPS = 7  # the original's ffmpeg -framerate 7
draw_frame = pose_maps.draw_frame


def bytescale(image: np.ndarray) -> np.ndarray:
    """``scipy.misc.imsave``'s conversion of a float image: ``(x - min) * 255 / (max - min)`` (a constant image:
    divided by 1), clipped, rounded half up, uint8."""
    data = np.asarray(image, dtype=np.float64)
    low, high = float(np.nanmin(data)), float(np.nanmax(data))
    scale = high - low if high != low else 1.0
    return (np.clip((data - low) * (255.0 / scale), 0, 255) + 0.5).astype(np.uint8)


def write_png(path: str, image: np.ndarray) -> None:
    """``cv2.imwrite`` (BGR or grayscale uint8) with an error naming the file."""
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    if not cv2.imwrite(os.fspath(path), np.ascontiguousarray(image)):
        raise InputError(f"{path}: OpenCV could not write the image")


def to_uint8_truncated(values: np.ndarray) -> np.ndarray:
    """The original's ``(x * 255).astype('uint8')`` of a map in [0, 1]; NaN (a heat map whose blob underflowed
    everywhere, spec section 8) is written as 0 instead of an undefined cast."""
    return np.nan_to_num(np.asarray(values, np.float64) * 255.0, nan=0.0).astype(np.uint8)


def gray_to_bgr(gray: np.ndarray) -> np.ndarray:
    """(H, W) -> (H, W, 3), the channel repeated (``np.repeat(x[:, :, None], 3, axis=2)``)."""
    return np.repeat(np.asarray(gray)[:, :, None], 3, axis=2)


def pose_frame(pose_vector: np.ndarray, dataset: str, image_size: int, visibility=None) -> np.ndarray:
    """(size, size) max over the heat-map channels of a [-1, 1] pose (Penn: the 48 limb channels with
    ``visibility``, default all visible; H3.6M: the 32 joints)."""
    if dataset == "penn":
        if visibility is None:
            visibility = np.ones(pose_maps.PENN_NUM_JOINTS)
        return pose_maps.penn_lstm_render(pose_vector, visibility, image_size)
    return pose_maps.h36m_lstm_render(pose_vector, image_size)


def sample_row(poses: np.ndarray, dataset: str, image_size: int) -> np.ndarray:
    """The training sample of one sequence [T, 2L]: its T heat maps side by side, bytescaled (uint8 [H, T*W])."""
    frames = [pose_frame(pose, dataset, image_size) for pose in poses]
    return bytescale(np.concatenate(frames, axis=1))


def bordered_pose_frame(pose_vector: np.ndarray, dataset: str, image_size: int, is_input: bool,
                        visibility=None) -> np.ndarray:
    """A pose test frame: the heat map as a BGR uint8 image with :func:`draw_frame`'s border (green: input step;
    red top/bottom with B=0, R=255 on the sides: predicted step)."""
    gray = pose_frame(pose_vector, dataset, image_size, visibility)
    return draw_frame(to_uint8_truncated(gray_to_bgr(gray)), is_input)


def write_gif_of_bgr(path: str, frames_bgr: Sequence[np.ndarray], fps: float = GIF_FPS) -> None:
    """An animated GIF of BGR uint8 frames (what ffmpeg makes of the PNGs the original wrote)."""
    frames = np.stack([np.asarray(frame)[..., ::-1] for frame in frames_bgr])
    write_gif(path, frames, fps=fps)
