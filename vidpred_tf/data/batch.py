"""The one in-memory contract for a batch of video, shared by every reader, model and metric.

A batch is a plain ``dict`` of tensors (or NumPy arrays) with a leading batch axis:

=========  ===========================  =========================================================
key        dtype / shape                meaning
=========  ===========================  =========================================================
images     float32 [B, T, H, W, C]      frames in [0, 1] (always present)
actions    float32 [B, T, A] or [B, T-1, A]  per-step actions (robot datasets; T-1 when action t moves frame t
                                        to frame t+1, the BAIR/SAVP convention)
states     float32 [B, T, S]            per-step robot/end-effector states
poses      float32 [B, T, J, D]         keypoints per frame (pose datasets)
masks      float32 [B, T, H, W, K]      segmentation / heat maps
=========  ===========================  =========================================================

Readers may add other keys (documented beside the reader); models ignore keys they do not use.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

IMAGES = "images"
ACTIONS = "actions"
STATES = "states"
POSES = "poses"
MASKS = "masks"

KNOWN_KEYS = (IMAGES, ACTIONS, STATES, POSES, MASKS)


def validate_batch(batch: Mapping, source: str = "batch") -> None:
    """Raise ``ValueError`` naming ``source`` when ``batch`` breaks the contract above.

    Works on NumPy arrays and eager tensors; symbolic tensors are checked on their static shape.
    """
    if IMAGES not in batch:
        raise ValueError(f"{source}: a video batch needs an '{IMAGES}' entry; got keys {sorted(batch)}")
    images = batch[IMAGES]
    shape = tuple(images.shape)
    if len(shape) != 5:
        raise ValueError(f"{source}: '{IMAGES}' must be [B, T, H, W, C]; got shape {shape}")
    dtype = np.dtype(getattr(images.dtype, "as_numpy_dtype", images.dtype))
    if dtype != np.float32:
        raise ValueError(f"{source}: '{IMAGES}' must be float32 in [0, 1]; got {dtype}")
    batch_size, length = shape[0], shape[1]
    for key in (ACTIONS, STATES, POSES, MASKS):
        if key in batch:
            other = tuple(batch[key].shape)
            lengths = (length, None if length is None else length - 1) if key == ACTIONS else (length,)
            if len(other) < 2 or other[0] != batch_size or other[1] not in lengths:
                if key == ACTIONS:
                    raise ValueError(f"{source}: '{key}' must be [B, T, A] or [B, T-1, A] for '{IMAGES}' "
                                     f"{shape[:2]}; got {other}")
                raise ValueError(
                    f"{source}: '{key}' must share the [B, T] axes of '{IMAGES}' {shape[:2]}; got {other}")
