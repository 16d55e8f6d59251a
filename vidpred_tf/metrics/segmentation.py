"""Semantic-segmentation metrics per frame, as MSPred evaluates SynpickVP's level-1 maps.

Inputs are class-score maps ``[..., H, W, C]`` (channels last; a one-hot target is a score map too); the class of
a pixel is the arg-max over C (the first on ties). Everything is NumPy and returns one value (or one C-vector)
per frame.

The confusion matrix here is the usual one: ``cm[t, p]`` counts pixels of target class t predicted as p. From it:

* ``accuracy``: trace / total;
* ``precision[c]`` = tp / (pixels predicted c): what MSPred writes as ``classwise_segmentation_accuracy``,
  because it builds its matrix transposed (its rows are the predicted classes);
* ``recall[c]`` = tp / (pixels of target class c): the per-class accuracy in the usual sense;
* ``iou[c]`` = tp / (predicted c + target c - tp), NaN for a class absent from both (symmetric, so the
  transposition does not touch it);
* the per-frame mean IoU of the original is a plain mean over all C classes, which is NaN as soon as one class
  is absent from both maps (``mean_iou``); ``mean_iou_present`` averages over the classes that occur.
"""

from __future__ import annotations

from typing import Dict

import numpy as np


def class_maps(scores, name: str = "scores") -> np.ndarray:
    """``[..., H, W, C]`` scores -> ``[..., H, W]`` int class ids (arg-max over the last axis)."""
    array = np.asarray(scores)
    if array.ndim < 3 or array.shape[-1] < 1:
        raise ValueError(f"{name}: class-score maps must be [..., H, W, C]; got shape {array.shape}")
    return array.argmax(axis=-1)


def confusion_matrices(pred_classes, target_classes, num_classes: int) -> np.ndarray:
    """``[..., H, W]`` class ids x2 -> ``[..., C, C]`` int64 counts, ``cm[..., target, pred]`` (sklearn order).

    Ids outside ``[0, num_classes)`` are not counted (as sklearn does with an explicit ``labels`` list).
    """
    pred_classes = np.asarray(pred_classes)
    target_classes = np.asarray(target_classes)
    if pred_classes.shape != target_classes.shape or pred_classes.ndim < 2:
        raise ValueError(f"confusion_matrices: need two [..., H, W] class maps of one shape; got "
                         f"{pred_classes.shape} and {target_classes.shape}")
    leading = pred_classes.shape[:-2]
    pred_flat = pred_classes.reshape((-1, pred_classes.shape[-2] * pred_classes.shape[-1])).astype(np.int64)
    target_flat = target_classes.reshape(pred_flat.shape).astype(np.int64)
    inside = (pred_flat >= 0) & (pred_flat < num_classes) & (target_flat >= 0) & (target_flat < num_classes)
    frame_ids = np.broadcast_to(np.arange(pred_flat.shape[0])[:, None], pred_flat.shape)
    cell = (frame_ids * num_classes + target_flat) * num_classes + pred_flat
    counts = np.bincount(cell[inside], minlength=pred_flat.shape[0] * num_classes * num_classes)
    return counts.reshape(leading + (num_classes, num_classes))


def segmentation_stats(preds, targets) -> Dict[str, np.ndarray]:
    """Per-frame statistics of ``[..., H, W, C]`` predicted and target score maps (see the module docstring).

    Returns ``accuracy``, ``mean_iou`` and ``mean_iou_present`` (``[...]``), and ``precision``, ``recall`` and
    ``iou`` (``[..., C]``), all float32 with NaN where a ratio is 0 / 0.
    """
    pred_shape, target_shape = np.shape(preds), np.shape(targets)
    if pred_shape != target_shape:
        raise ValueError(f"segmentation: predictions and targets must have the same shape; got {pred_shape} "
                         f"and {target_shape}")
    num_classes = pred_shape[-1] if len(pred_shape) >= 3 else 0
    cm = confusion_matrices(class_maps(preds, "predictions"), class_maps(targets, "targets"), num_classes)
    true_positives = np.diagonal(cm, axis1=-2, axis2=-1).astype(np.float64)
    per_target = cm.sum(axis=-1).astype(np.float64)
    per_pred = cm.sum(axis=-2).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = true_positives.sum(axis=-1) / per_target.sum(axis=-1)
        precision = true_positives / per_pred
        recall = true_positives / per_target
        iou = true_positives / (per_pred + per_target - true_positives)
        present = ~np.isnan(iou)
        mean_iou_present = np.where(present, iou, 0.0).sum(axis=-1) / present.sum(axis=-1)
    stats = {
        "accuracy": accuracy,
        "precision": precision,
        "recall": recall,
        "iou": iou,
        "mean_iou": iou.mean(axis=-1),
        "mean_iou_present": mean_iou_present,
    }
    return {key: value.astype(np.float32) for key, value in stats.items()}
