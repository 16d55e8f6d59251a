"""Gaussian blob heat maps at normalised keypoint positions (MSPred's ``data/heatmaps.py``), channels-last.

One channel per keypoint. Each blob is a fixed template ``exp(-d^2 / (2 sigma^2))`` of ``ceil(6 sigma + 3)``
pixels a side, centred at ``3 sigma + 1``, pasted (elementwise max, clipped at the border) with its upper-left
corner at ``(px - 3 sigma - 1, py - 3 sigma - 1)`` truncated to int, where ``px = int(x * size)``. The
original's conventions are kept because MSPred's targets and pretrained models depend on them:

* a keypoint whose pixel column or row is 0 is treated as missing and leaves its channel empty, so (0.0, 0.3)
  gives nothing at all;
* on an H x W canvas with H < W, the keypoint is drawn on an H x H square window whose first column is
  ``clip(px - H // 2, 0, W - H)`` and the whole window is copied into the canvas (zeros included);
* an empty keypoint list gives all-zero channels.
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple, Union

import numpy as np

Shape = Union[int, Sequence[int]]


def gaussian_template(sigma: float) -> np.ndarray:
    """The float64 square blob pasted at each keypoint: side ``ceil(6 sigma + 3)``, peak 1 at ``3 sigma + 1``."""
    side = 6 * sigma + 3
    coords = np.arange(0, side, 1, dtype=np.float64)
    centre = 3 * sigma + 1
    return np.exp(-((coords[np.newaxis, :] - centre) ** 2 + (coords[:, np.newaxis] - centre) ** 2)
                  / (2 * sigma ** 2))


class HeatmapGenerator:
    """Heat maps for ``num_kpoints`` keypoints on a canvas of ``shape`` = (H, W) with H <= W (or an int side).

    ``generator(keypoints)`` takes ``num_kpoints`` normalised ``(x, y)`` pairs (x along the width, y along the
    height; a list, or an array ``[num_kpoints, 2]``; an empty list means "all missing") and returns float32
    ``(H, W, num_kpoints)``.
    """

    def __init__(self, shape: Shape, num_kpoints: int, sigma: float = 1.0):
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape), int(shape))
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"HeatmapGenerator shape must be a positive (H, W) pair or int; got {shape}")
        if shape[0] > shape[1]:
            raise ValueError(f"HeatmapGenerator needs H <= W (the original draws on an H x H window); got {shape}")
        if not isinstance(num_kpoints, (int, np.integer)) or num_kpoints < 1:
            raise ValueError(f"HeatmapGenerator num_kpoints must be a positive integer; got {num_kpoints!r}")
        if not (isinstance(sigma, (int, float, np.number)) and math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"HeatmapGenerator sigma must be a positive number; got {sigma!r}")
        self.shape: Tuple[int, int] = shape
        self.num_kpoints = int(num_kpoints)
        self.sigma = sigma
        self.template = gaussian_template(sigma)

    def _draw_square(self, keypoints) -> np.ndarray:
        """(H, H, n) float32 maps on the square side-H canvas."""
        size = self.shape[0]
        sigma = self.sigma
        maps = np.zeros((size, size, self.num_kpoints), np.float32)
        for channel, point in enumerate(keypoints):
            px, py = int(point[0] * size), int(point[1] * size)
            if not (0 <= px < size and 0 <= py < size):
                raise ValueError(f"keypoint {channel} = ({point[0]}, {point[1]}) falls at pixel ({px}, {py}), "
                                 f"outside the {size}x{size} heat-map canvas")
            if px == 0 or py == 0:
                continue
            left, top = int(px - 3 * sigma - 1), int(py - 3 * sigma - 1)
            right, bottom = int(px + 3 * sigma + 2), int(py + 3 * sigma + 2)
            # Canvas window and the matching part of the template, both clipped to the canvas.
            col0, col1 = max(0, left), min(right, size)
            row0, row1 = max(0, top), min(bottom, size)
            tcol0, tcol1 = max(0, -left), min(right, size) - left
            trow0, trow1 = max(0, -top), min(bottom, size) - top
            target = maps[row0:row1, col0:col1, channel]
            target[...] = np.maximum(target, self.template[trow0:trow1, tcol0:tcol1])
        return maps

    def __call__(self, keypoints) -> np.ndarray:
        if len(keypoints) == 0:
            keypoints = [(0.0, 0.0)] * self.num_kpoints
        if len(keypoints) != self.num_kpoints:
            raise ValueError(f"HeatmapGenerator was built for {self.num_kpoints} keypoints; got {len(keypoints)}")
        height, width = self.shape
        if height == width:
            return self._draw_square(keypoints)
        # Wide canvas: move each keypoint into an H x H window that contains it, draw there, copy back.
        window_starts = []
        in_window = []
        for channel, point in enumerate(keypoints):
            px = int(point[0] * width)
            if not 0 <= px < width:
                raise ValueError(f"keypoint {channel} = ({point[0]}, {point[1]}) falls at pixel column {px}, "
                                 f"outside the {height}x{width} heat-map canvas")
            if px == 0:
                window_starts.append(None)
                in_window.append((0.0, 0.0))
                continue
            if px <= height // 2:
                start, local_x = 0, px
            elif px >= width - height // 2:
                start, local_x = width - height, px - width + height
            else:
                start, local_x = px - height // 2, height // 2
            window_starts.append(start)
            in_window.append((local_x / height, point[1]))
        square = self._draw_square(in_window)
        maps = np.zeros((height, width, self.num_kpoints), np.float32)
        for channel, start in enumerate(window_starts):
            if start is not None:
                maps[:, start:start + height, channel] = square[:, :, channel]
        return maps
