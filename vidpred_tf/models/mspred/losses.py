"""MSPred's losses (the original ``lib/losses.py`` and the loss assembly of ``02_train.py``).

* ``mse`` / ``mae``: a mean over all elements;
* ``cross_entropy`` (SynpickVP level 1): softmax cross-entropy of the head's *sigmoid* output used as logits
  against the argmax class of the one-hot target, a mean per frame, then over frames (no class
  weights, because the original gates them on a dataset name that never occurs);
* ``weighted_kpoint_loss`` (KTH level 1): per (sequence, frame, channel) MSE, counted when the frame's target is
  empty or that channel's target is non-zero, weighted per class and channel, divided by the number counted;
* KL between the posterior (1) and the prior (2), summed over elements, divided by the batch size, summed over
  levels.

Tensors are NHWC with time on axis 1: (B, F, H, W, C).
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

import numpy as np
from keras import ops

RECONSTRUCTION_LOSSES = ("mse", "mae", "cross_entropy", "weighted_kpoint_loss")


def mse_loss(preds, targets, *unused):
    return ops.mean(ops.square(preds - targets))


def mae_loss(preds, targets, *unused):
    return ops.mean(ops.abs(preds - targets))


def cross_entropy_loss(preds, targets, *unused, class_weights=None):
    """``nn.CrossEntropyLoss(weight)`` per frame, averaged over frames; the classes are on the last axis."""
    target_classes = ops.argmax(targets, axis=-1)
    log_probs = ops.log_softmax(preds, axis=-1)
    picked = ops.take_along_axis(log_probs, ops.expand_dims(target_classes, -1), axis=-1)[..., 0]
    spatial = (0, 2, 3)
    if class_weights is None:
        per_frame = -ops.mean(picked, axis=spatial)
    else:
        weights = ops.take(ops.convert_to_tensor(np.asarray(class_weights, np.float32)), target_classes)
        per_frame = -ops.sum(weights * picked, axis=spatial) / ops.sum(weights, axis=spatial)
    return ops.mean(per_frame)


def _channel_weight_table(channel_weights) -> np.ndarray:
    if isinstance(channel_weights, Mapping):  # {class name: [w per channel]} in class-index order
        return np.asarray(list(channel_weights.values()), dtype=np.float32)
    return np.asarray(channel_weights, dtype=np.float32)


def weighted_kpoint_loss(preds, targets, class_ids=None, channel_weights=None):
    """The original ``HeatmapLoss``. ``channel_weights``: (C,) for every sequence, or a per-class table
    ((num_classes, C) array, or ``{class: [C weights]}`` in class-index order) picked by ``class_ids`` (B,)."""
    channels = int(preds.shape[-1])
    if channel_weights is None:
        table = np.ones((channels,), np.float32)
    else:
        table = _channel_weight_table(channel_weights)
    if table.shape[-1] != channels:
        raise ValueError(f"weighted_kpoint_loss: {table.shape[-1]} channel weights for {channels} channels")
    if table.ndim == 2:
        if class_ids is None:
            raise ValueError("weighted_kpoint_loss: per-class channel weights need class_ids")
        weights = ops.take(ops.convert_to_tensor(table), ops.cast(class_ids, "int32"), axis=0)  # (B, C)
    else:
        weights = ops.broadcast_to(ops.convert_to_tensor(table), (ops.shape(preds)[0], channels))
    per_channel_mse = ops.mean(ops.square(preds - targets), axis=(2, 3))  # (B, F, C)
    channel_has_target = ops.any(ops.not_equal(targets, 0), axis=(2, 3))  # (B, F, C)
    frame_empty = ops.logical_not(ops.any(channel_has_target, axis=-1, keepdims=True))
    counted = ops.cast(ops.logical_or(channel_has_target, frame_empty), preds.dtype)
    weighted = ops.expand_dims(weights, 1) * per_channel_mse * counted
    return ops.sum(weighted) / ops.sum(counted)


RECONSTRUCTION_FUNCTIONS = {"mse": mse_loss, "mae": mae_loss, "cross_entropy": cross_entropy_loss,
                            "weighted_kpoint_loss": weighted_kpoint_loss}


def reconstruction_loss(loss_type: str, preds, targets, class_ids=None, channel_weights=None):
    if loss_type not in RECONSTRUCTION_FUNCTIONS:
        raise ValueError(f"unknown reconstruction loss {loss_type!r}; use one of {', '.join(RECONSTRUCTION_LOSSES)}")
    if loss_type == "weighted_kpoint_loss":
        return weighted_kpoint_loss(preds, targets, class_ids, channel_weights)
    return RECONSTRUCTION_FUNCTIONS[loss_type](preds, targets)


def gaussian_kl(mu1, logvar1, mu2, logvar2):
    """Elementwise KL(N(mu1, sigma1^2) || N(mu2, sigma2^2)) in the original's form."""
    sigma1, sigma2 = ops.exp(0.5 * logvar1), ops.exp(0.5 * logvar2)
    return ops.log(sigma2 / sigma1) + (ops.exp(logvar1) + ops.square(mu1 - mu2)) / (2.0 * ops.exp(logvar2)) - 0.5


def kl_loss(mu_post, logvar_post, mu_prior, logvar_prior):
    """The original ``KLLoss`` for hierarchical outputs: per level, the time-stacked KL summed over all
    elements and divided by the batch size; summed over levels. Each argument maps level -> list of tensors
    (or is a list of such lists). No statistics at level 0 gives 0. A level without statistics is skipped: with
    aux_outputs false the truncation to the (absent) level-1/2 predictions empties those levels, where the
    original's ``torch.stack`` of an empty list raises, so it cannot train that configuration."""
    levels = sorted(mu_post) if isinstance(mu_post, Mapping) else list(range(len(mu_post)))
    if not levels or len(mu_post[levels[0]]) == 0:
        return ops.convert_to_tensor(0.0)
    total = 0.0
    for h in levels:
        if len(mu_post[h]) == 0:
            continue
        kld = gaussian_kl(ops.stack(mu_post[h], 1), ops.stack(logvar_post[h], 1),
                          ops.stack(mu_prior[h], 1), ops.stack(logvar_prior[h], 1))
        total = total + ops.sum(kld) / ops.cast(ops.shape(kld)[0], kld.dtype)
    return total


def select_targets(target, mask) -> object:
    """``target[:, mask]`` for a static numpy bool mask over time."""
    indices = np.flatnonzero(np.asarray(mask))
    return ops.take(target, ops.convert_to_tensor(indices, "int32"), axis=1)


def mspred_total_loss(outputs: dict, targets: Dict[int, object], loss_params: dict, beta: Optional[float] = None,
                      class_ids=None, channel_weights=None) -> Dict[str, object]:
    """``total = sum_h alphas[h] * rec_h(preds[h], targets[h][:, mask_h]) + beta * KL`` as ``02_train.py``.

    ``outputs`` is the model's output dict; ``targets`` {0: frames, 1: heatmap_1, 2: heatmap_2} (B, T, ...);
    ``loss_params`` the experiment's ``loss`` group (``alphas``, ``reconst_losses``, ``beta``); ``beta``
    overrides ``loss_params["beta"]`` (the trainer's beta schedule). Returns {"total", "kl", "rec_<h>"}.
    """
    alphas = loss_params["alphas"]
    loss_types = loss_params["reconst_losses"]
    beta = float(loss_params["beta"] if beta is None else beta)
    losses: Dict[str, object] = {}
    total = 0.0
    for h, preds in sorted(outputs["preds"].items()):
        if h >= len(loss_types) or h >= len(alphas):
            raise ValueError(f"loss.reconst_losses / loss.alphas have no entry for level {h}")
        target = select_targets(targets[h], outputs["target_masks"][h])
        rec = reconstruction_loss(loss_types[h], preds, target, class_ids, channel_weights)
        losses[f"rec_{h}"] = rec
        total = total + float(alphas[h]) * rec
    kl = kl_loss(outputs["mu_post"], outputs["logvar_post"], outputs["mu_prior"], outputs["logvar_prior"])
    losses["kl"] = kl
    losses["total"] = total + beta * kl
    return losses

