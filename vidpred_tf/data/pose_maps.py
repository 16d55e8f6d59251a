"""Pose heat maps of Villegas et al. 2017 (hierchvid): Gaussian blobs, Penn Action limb maps, Human3.6M joint maps.

The numbers are those of the original's ``gauss2D_mask`` + per-channel loops (``imggen_src/utils.py``,
``imggen_src/test_*.py``, ``lstm_src/*_det_rnn_*.py``), computed for many blobs at once:

* a blob is ``exp(-((x - cx)^2 + (y - cy)^2) / (2 sigma^2))`` on the integer grid of the map (rows y, columns x),
  divided by its sum when the sum is non-zero, then divided by its maximum, so a blob whose centre lies inside the
  map peaks at exactly 1;
* quirk kept: a centre so far outside the map that every value underflows to 0 gives 0 / 0 = NaN in its channel
  (the original divides by the maximum unconditionally);
* centres are float64. The original ran under NumPy 1 where ``float32_scalar / 2.0`` is float64, so limb midpoints
  are summed in the coordinates' dtype and halved in float64 (halving is exact, so NumPy 2 rounding would agree)
  and ``linspace`` runs in float64;
* maps are float64 (the original's ``np.zeros`` default) unless a caller asks for float32 (Human3.6M training);
  :func:`resize_maps` is ``cv2.resize`` to ``image_size`` x ``image_size``, bilinear, all channels at once.

Penn Action's 48 channels come from 12 "lines" [a, b, c, d] running from (J_a + J_b) / 2 to (J_c + J_d) / 2:
four blobs along the line in channels 4j..4j+3 when all four joints are visible, otherwise a blob in channel 4j
at the start when a and b are visible and one in channel 4j+3 at the end when c and d are.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np

SIGMA = 8.0
PENN_NUM_JOINTS = 13
PENN_NUM_CHANNELS = 48
H36M_NUM_JOINTS = 32
# Penn Action joints: head, L/R shoulder, L/R elbow, L/R wrist, L/R hip, L/R knee, L/R ankle.
PENN_LIMB_LINES: Tuple[Tuple[int, int, int, int], ...] = (
    (0, 0, 1, 2), (1, 1, 2, 2), (1, 1, 3, 3), (3, 3, 5, 5), (2, 2, 4, 4), (4, 4, 6, 6),
    (1, 2, 7, 8), (7, 7, 8, 8), (7, 7, 9, 9), (9, 9, 11, 11), (8, 8, 10, 10), (10, 10, 12, 12))
_LINES = np.asarray(PENN_LIMB_LINES, dtype=np.int64)
# Blobs computed per chunk: bounds the (chunk, H, W) float64 temporaries at crop resolution.
_CHUNK = 8


def gauss2D_mask(center, shape, sigma: float = 0.5) -> np.ndarray:  # noqa: N802 (the original's name)
    """One blob as the original's helper returns it: float64 ``shape``, divided by its sum when that is non-zero
    (not by its maximum: callers do that)."""
    rows, cols = int(shape[0]), int(shape[1])
    y = np.arange(rows)[:, None] - center[0]
    x = np.arange(cols)[None, :] - center[1]
    z = x * x + y * y
    h = np.exp(-z / (2. * sigma * sigma))
    total = h.sum()
    if total != 0:
        h = h / total
    return h


def peak_normalised_blobs(centers_yx, shape, sigma: float = SIGMA) -> np.ndarray:
    """(K, H, W) float64: blob k centred at ``centers_yx[k]`` = (row, column), normalised as the original (sum,
    then maximum; NaN when it underflows everywhere)."""
    centers = np.asarray(centers_yx, dtype=np.float64).reshape(-1, 2)
    rows, cols = int(shape[0]), int(shape[1])
    if rows < 1 or cols < 1:
        raise ValueError(f"heat-map shape must be positive; got {tuple(int(s) for s in shape)}")
    out = np.empty((len(centers), rows, cols), dtype=np.float64)
    grid_y = np.arange(rows)[None, :, None]
    grid_x = np.arange(cols)[None, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        for start in range(0, len(centers), _CHUNK):
            chunk = centers[start:start + _CHUNK]
            dy = grid_y - chunk[:, 0, None, None]
            dx = grid_x - chunk[:, 1, None, None]
            h = np.exp(-(dx * dx + dy * dy) / (2. * sigma * sigma))
            flat = h.reshape(len(chunk), -1)
            totals = flat.sum(axis=1)
            nonzero = totals != 0
            flat[nonzero] /= totals[nonzero, None]
            flat /= flat.max(axis=1, keepdims=True)
            out[start:start + len(chunk)] = h
    return out


def _midpoints(coords: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    # Summed in the coordinates' dtype, halved in float64 (NumPy 1 scalar promotion of the original).
    return (coords[first] + coords[second]).astype(np.float64) / 2.0


def penn_limb_blobs(posex, posey, visibility):
    """``(channels, centers_yx)`` of the blobs of one Penn pose (13 x, 13 y, 13 visibilities), in pixels."""
    posex, posey = np.asarray(posex), np.asarray(posey)
    visible = np.asarray(visibility).astype(bool)
    if posex.shape != (PENN_NUM_JOINTS,) or posey.shape != (PENN_NUM_JOINTS,) or visible.shape != posex.shape:
        raise ValueError(f"a Penn pose needs 13 x, 13 y and 13 visibility values; got shapes {posex.shape}, "
                         f"{posey.shape}, {visible.shape}")
    a, b, c, d = _LINES.T
    start_x, start_y = _midpoints(posex, a, b), _midpoints(posey, a, b)
    end_x, end_y = _midpoints(posex, c, d), _midpoints(posey, c, d)
    start_visible, end_visible = visible[a] & visible[b], visible[c] & visible[d]
    channels, centers = [], []
    for line in range(len(PENN_LIMB_LINES)):
        if start_visible[line] and end_visible[line]:
            along_x = np.linspace(start_x[line], end_x[line], 4, True)
            along_y = np.linspace(start_y[line], end_y[line], 4, True)
            for k in range(4):
                channels.append(4 * line + k)
                centers.append((along_y[k], along_x[k]))
        else:
            if start_visible[line]:
                channels.append(4 * line)
                centers.append((start_y[line], start_x[line]))
            if end_visible[line]:
                channels.append(4 * line + 3)
                centers.append((end_y[line], end_x[line]))
    return channels, centers


def penn_limb_map(posex, posey, visibility, shape, sigma: float = SIGMA, dtype=np.float64) -> np.ndarray:
    """(H, W, 48) limb heat map of one Penn pose in pixels of a ``shape`` = (H, W) map; invisible parts are 0."""
    channels, centers = penn_limb_blobs(posex, posey, visibility)
    maps = np.zeros((int(shape[0]), int(shape[1]), PENN_NUM_CHANNELS), dtype=dtype)
    if channels:
        maps[:, :, channels] = np.moveaxis(peak_normalised_blobs(centers, shape, sigma), 0, -1)
    return maps


def joint_map(posex, posey, shape, sigma: float = SIGMA, dtype=np.float64) -> np.ndarray:
    """(shape[0], shape[1], J) map with one blob per joint at row ``posey[j]``, column ``posex[j]``."""
    posex, posey = np.asarray(posex), np.asarray(posey)
    if posex.ndim != 1 or posex.shape != posey.shape:
        raise ValueError(f"joint maps need equal-length x and y vectors; got shapes {posex.shape}, {posey.shape}")
    centers = np.stack([posey.astype(np.float64), posex.astype(np.float64)], axis=-1)
    return np.moveaxis(peak_normalised_blobs(centers, shape, sigma), 0, -1).astype(dtype, copy=False)


def h36m_joint_map(posex, posey, shape, sigma: float = SIGMA, dtype=np.float64) -> np.ndarray:
    """(shape[0], shape[1], 32) Human3.6M joint map (see :func:`h36m_train_map_shape` for the training quirk)."""
    if np.shape(posex) != (H36M_NUM_JOINTS,):
        raise ValueError(f"a Human3.6M pose needs 32 joints; got x of shape {np.shape(posex)}")
    return joint_map(posex, posey, shape, sigma, dtype)


def h36m_train_map_shape(box) -> Tuple[int, int]:
    """Quirk of the training loader: the map is (box width, box height), i.e. transposed for non-square boxes."""
    return int(box[2] - box[0]), int(box[3] - box[1])


def h36m_test_map_shape(box) -> Tuple[int, int]:
    """The image test's map: (box height, box width)."""
    return int(box[3] - box[1]), int(box[2] - box[0])


def resize_maps(maps: np.ndarray, image_size: int) -> np.ndarray:
    """``cv2.resize`` (bilinear) of an (H, W, C) map to ``image_size`` x ``image_size``, dtype kept."""
    return cv2.resize(maps, (int(image_size), int(image_size)))


def from_unit_range(coords, image_size: int):
    """[-1, 1] coordinates to pixels of an ``image_size`` map, as the LSTM scripts do: ``(v + 1) / 2 * size``."""
    return (np.asarray(coords) + 1.) / 2. * image_size


def penn_lstm_render(pose_vector, visibility, image_size: int) -> np.ndarray:
    """(size, size) max over the 48 limb channels of a [-1, 1] Penn pose ``[x0..x12, y0..y12]`` (LSTM samples
    and the pose test's frames)."""
    pose_vector = np.asarray(pose_vector)
    posex = from_unit_range(pose_vector[:PENN_NUM_JOINTS], image_size)
    posey = from_unit_range(pose_vector[PENN_NUM_JOINTS:2 * PENN_NUM_JOINTS], image_size)
    return penn_limb_map(posex, posey, visibility, (image_size, image_size)).max(axis=2)


def h36m_lstm_render(pose_vector, image_size: int) -> np.ndarray:
    """(size, size) max over the 32 joint channels of a [-1, 1] Human3.6M pose ``[x0..x31, y0..y31]``."""
    pose_vector = np.asarray(pose_vector)
    posex = from_unit_range(pose_vector[:H36M_NUM_JOINTS], image_size)
    posey = from_unit_range(pose_vector[H36M_NUM_JOINTS:2 * H36M_NUM_JOINTS], image_size)
    return h36m_joint_map(posex, posey, (image_size, image_size)).max(axis=2)


def draw_frame(image: np.ndarray, is_input: bool) -> np.ndarray:
    """The original's 2-pixel border, in place on an (H, W, 3) BGR uint8 image: green for observed steps, red for
    predicted ones, except that the left edge of a predicted frame keeps its G channel (quirk)."""
    edges = (np.s_[:2, :], np.s_[:, :2], np.s_[-2:, :], np.s_[:, -2:])
    if is_input:
        for edge in edges:
            image[edge + (0,)] = 0
            image[edge + (2,)] = 0
            image[edge + (1,)] = 255
        return image
    cleared: Sequence[Tuple[int, int]] = ((0, 1), (0, 2), (0, 1), (0, 1))
    for edge, channels in zip(edges, cleared):
        for channel in channels:
            image[edge + (channel,)] = 0
    for edge in edges:
        image[edge + (2,)] = 255
    return image
