"""Keypoint metrics on heat maps, as MSPred computes them: MPJPE, PDJ@f and PCK@f (one value per frame).

Heat maps are ``[..., H, W, K]`` (channels last, one channel per keypoint), NumPy or anything ``np.asarray``
takes; every function returns one value per frame, shape ``[...]`` (float32, like the original's tensors).

A keypoint's position is the arg-max pixel of its channel (the first one in row-major order on ties). It is
*predicted* when the predicted channel's maximum is >= 0.03 and *present* when the target channel's maximum is
> 1e-6; distances are Euclidean, in pixels.

* ``mpjpe``: the mean distance over keypoints both predicted and present; NaN when there is none.
* ``pdj@f`` / ``pck@f``: a keypoint is correct when predicted, present and within ``f * body_height`` of the
  target, where body_height is the y-extent of the target arg-maxima of the channels with a positive maximum
  (``f`` itself, in pixels, when that extent is 0; the full frame height when no channel is positive). PDJ
  divides the number correct by the number present, PCK by the number predicted (NaN when that is 0).
"""

from __future__ import annotations

import numpy as np

# Thresholds of the original (MIN_CONF on predictions; targets count when above 1e-6).
MIN_PREDICTION_CONFIDENCE = 0.03
MIN_TARGET_VALUE = 1e-6


def _peaks(heatmaps, name: str):
    """``[..., H, W, K]`` -> (max value, y, x), each ``[..., K]``, and the frame height H."""
    array = np.asarray(heatmaps, dtype=np.float32)
    if array.ndim < 3:
        raise ValueError(f"{name}: heat maps must be [..., H, W, K]; got shape {array.shape}")
    height, width, channels = array.shape[-3:]
    if height == 0 or width == 0:
        raise ValueError(f"{name}: heat maps must have a non-empty H and W; got shape {array.shape}")
    # [..., K, H*W] in row-major (y, x) order, as the original flattens its (H, W) maps.
    flat = np.moveaxis(array, -1, -3).reshape(array.shape[:-3] + (channels, height * width))
    index = flat.argmax(axis=-1)
    value = np.take_along_axis(flat, index[..., None], axis=-1)[..., 0]
    return value, index // width, index % width, height


def _pair_peaks(preds, targets, name: str):
    pred_shape, target_shape = np.shape(preds), np.shape(targets)
    if pred_shape != target_shape:
        raise ValueError(f"{name}: predictions and targets must have the same shape; got {pred_shape} and "
                         f"{target_shape}")
    pred_value, pred_y, pred_x, height = _peaks(preds, name)
    target_value, target_y, target_x, _ = _peaks(targets, name)
    distance = np.sqrt((pred_y - target_y) ** 2 + (pred_x - target_x) ** 2).astype(np.float32)
    predicted = pred_value >= MIN_PREDICTION_CONFIDENCE
    present = target_value > MIN_TARGET_VALUE
    return distance, predicted, present, target_value, target_y, height


def mpjpe(preds, targets) -> np.ndarray:
    """Mean per-joint position error per frame in pixels (see the module docstring); NaN without valid joints."""
    distance, predicted, present, _, _, _ = _pair_peaks(preds, targets, "mpjpe")
    valid = predicted & present
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(valid, distance, 0.0).sum(axis=-1) / valid.sum(axis=-1)).astype(np.float32)


def body_height(target_value, target_y, frame_height: int) -> np.ndarray:
    """y-extent of the target peaks of channels with a positive maximum; ``frame_height`` when there is none
    (the original starts its running min at H and max at 0)."""
    positive = target_value > 0
    lowest = np.where(positive, target_y, frame_height).min(axis=-1)
    highest = np.where(positive, target_y, 0).max(axis=-1)
    return np.abs(highest - lowest)


def _correct_keypoints(preds, targets, factor: float, name: str):
    if not factor >= 0:
        raise ValueError(f"{name}: the body-height factor must be >= 0; got {factor}")
    distance, predicted, present, target_value, target_y, height = _pair_peaks(preds, targets, name)
    extent = body_height(target_value, target_y, height).astype(np.float32)
    threshold = np.where(extent > 0, np.float32(factor) * extent, np.float32(factor))
    correct = predicted & present & (distance <= threshold[..., None])
    return correct.sum(axis=-1), predicted, present


def pdj(preds, targets, factor: float) -> np.ndarray:
    """Percentage of detected joints per frame: correct keypoints / keypoints present in the target."""
    correct, _, present = _correct_keypoints(preds, targets, factor, f"pdj@{factor}")
    with np.errstate(invalid="ignore", divide="ignore"):
        return (correct / present.sum(axis=-1)).astype(np.float32)


def pck(preds, targets, factor: float) -> np.ndarray:
    """Percentage of correct keypoints per frame: correct keypoints / keypoints predicted (max >= 0.03)."""
    correct, predicted, _ = _correct_keypoints(preds, targets, factor, f"pck@{factor}")
    with np.errstate(invalid="ignore", divide="ignore"):
        return (correct / predicted.sum(axis=-1)).astype(np.float32)


def parse_factor(metric_name: str) -> float:
    """The body-height factor of a metric name such as ``pdj@0.2`` (0.2); a clear error for malformed names."""
    if "@" not in metric_name:
        raise ValueError(f"keypoint metric {metric_name!r} needs a body-height factor, e.g. 'pdj@0.2'")
    text = metric_name.split("@")[-1]
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"keypoint metric {metric_name!r}: factor {text!r} is not a number") from None
