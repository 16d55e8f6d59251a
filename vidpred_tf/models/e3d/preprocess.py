"""Space-to-depth "patch" reshaping of the E3D-LSTM study (done on NumPy batches outside the network).

``reshape_patch`` turns frames ``[B, T, H, W, C]`` into ``[B, T, H/p, W/p, p*p*C]`` where channel
``(dy * p + dx) * C + c`` of patch ``(y, x)`` holds pixel ``(y*p + dy, x*p + dx, c)`` (the order of
``tf.nn.space_to_depth``); ``reshape_patch_back`` is its exact inverse. Both accept NumPy arrays and return
NumPy arrays of the input dtype; ``reshape_patch_tensor`` / ``reshape_patch_back_tensor`` do the same with
TensorFlow ops (for ``tf.data`` pipelines and ``tf.function``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _check_rank5(array, name: str):
    if np.ndim(array) != 5:
        raise ValueError(f"{name}: expected a 5-D array [B, T, H, W, C]; got shape {np.shape(array)}")


def reshape_patch(images, patch_size: int) -> np.ndarray:
    """``[B, T, H, W, C]`` -> ``[B, T, H/p, W/p, p*p*C]``; ``ValueError`` if H or W is not a multiple of p."""
    images = np.asarray(images)
    _check_rank5(images, "reshape_patch")
    p = int(patch_size)
    batch, length, height, width, channels = images.shape
    if p <= 0 or height % p or width % p:
        raise ValueError(f"reshape_patch: frame size {height}x{width} is not a multiple of patch_size {p}")
    blocks = images.reshape(batch, length, height // p, p, width // p, p, channels)
    # Bring the two within-patch axes (dy, dx) next to the channel axis.
    blocks = blocks.transpose(0, 1, 2, 4, 3, 5, 6)
    return blocks.reshape(batch, length, height // p, width // p, p * p * channels)


def reshape_patch_back(patches, patch_size: int) -> np.ndarray:
    """``[B, T, h, w, p*p*C]`` -> ``[B, T, h*p, w*p, C]``, the inverse of ``reshape_patch``."""
    patches = np.asarray(patches)
    _check_rank5(patches, "reshape_patch_back")
    p = int(patch_size)
    batch, length, rows, cols, depth = patches.shape
    if p <= 0 or depth % (p * p):
        raise ValueError(f"reshape_patch_back: {depth} channels are not a multiple of patch_size**2 = {p * p}")
    channels = depth // (p * p)
    blocks = patches.reshape(batch, length, rows, cols, p, p, channels)
    blocks = blocks.transpose(0, 1, 2, 4, 3, 5, 6)
    return blocks.reshape(batch, length, rows * p, cols * p, channels)


def reshape_patch_tensor(images, patch_size: int):
    """``reshape_patch`` with TensorFlow ops, for use inside ``tf.data`` / ``tf.function`` (same channel order)."""
    p = int(patch_size)
    shape = tf.shape(images)
    height, width, channels = images.shape[2], images.shape[3], images.shape[4]
    if height is not None and width is not None and (height % p or width % p):
        raise ValueError(f"reshape_patch_tensor: frame size {height}x{width} is not a multiple of patch_size {p}")
    blocks = tf.reshape(images, tf.stack([shape[0], shape[1], shape[2] // p, p, shape[3] // p, p, shape[4]]))
    blocks = tf.transpose(blocks, [0, 1, 2, 4, 3, 5, 6])
    # A static channel count keeps the last axis static for the model's Conv layers.
    depth = p * p * shape[4] if channels is None else p * p * channels
    return tf.reshape(blocks, tf.stack([shape[0], shape[1], shape[2] // p, shape[3] // p, depth]))


def reshape_patch_back_tensor(patches, patch_size: int):
    """``reshape_patch_back`` with TensorFlow ops."""
    p = int(patch_size)
    shape = tf.shape(patches)
    depth = patches.shape[4]
    if depth is not None and depth % (p * p):
        raise ValueError(f"reshape_patch_back_tensor: {depth} channels are not a multiple of patch_size**2 = {p * p}")
    channels = shape[4] // (p * p) if depth is None else depth // (p * p)
    blocks = tf.reshape(patches, tf.stack([shape[0], shape[1], shape[2], shape[3], p, p, channels]))
    blocks = tf.transpose(blocks, [0, 1, 2, 4, 3, 5, 6])
    return tf.reshape(blocks, tf.stack([shape[0], shape[1], shape[2] * p, shape[3] * p, channels]))
