"""Training losses of the E3D-LSTM study, in the original's (un-normalised) sum form.

Per replica ("tower"), over all T-1 generated frames in patch space, with ``d = gen_all - images[:, 1:]``:

* l1 = sum |d|
* l2 = sum(d^2) / 2 (``half_sum_sq``, ``tf.nn.l2_loss``), sum(d^2) (``sum_sq``, e3d_lstm_add) or
  sqrt(sum(d^2)) (``norm``, e3d_lstm_concat)
* loss = l2_weight * l2 + l1_weight * l1 (both weights 1 in every model at HEAD)

The original differentiates ``loss`` itself (no mean over batch, time or pixels) and adds the gradients of its
towers; the values it logs are ``loss / batch_size`` (see ``logged_losses``).
"""

from __future__ import annotations

from typing import Dict, Tuple

import tensorflow as tf

from vidpred_tf.models.e3d.config import L2_FORMS, E3DConfig


def l2_term(diff, l2_form: str):
    """The l2 term of ``diff`` in one of ``L2_FORMS``."""
    half = tf.nn.l2_loss(diff)
    if l2_form == "half_sum_sq":
        return half
    if l2_form == "sum_sq":
        return half * 2.0
    if l2_form == "norm":
        return tf.sqrt(half * 2.0)
    raise ValueError(f"l2_form must be one of {', '.join(L2_FORMS)}; got {l2_form!r}")


def e3d_losses(gen_all, images, config: E3DConfig) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``(loss, l1, l2)`` of one replica's batch, un-normalised (sums).

    Args:
      gen_all: the model output, ``[B, T-1, h, w, C0]`` (predictions of frames 1..T-1).
      images: the patched input sequence ``[B, T, h, w, C0]``.
      config: supplies ``l2_form``, ``l1_weight`` and ``l2_weight``.
    """
    images = tf.convert_to_tensor(images, dtype=gen_all.dtype)
    diff = gen_all - images[:, 1:]
    l2 = l2_term(diff, config.l2_form)
    l1 = tf.reduce_sum(tf.abs(diff))
    if config.l1_weight == 1.0 and config.l2_weight == 1.0:
        loss = l2 + l1
    else:
        loss = config.l2_weight * l2 + config.l1_weight * l1
    return loss, l1, l2


def logged_losses(loss, l1, l2, batch_size: int) -> Dict[str, tf.Tensor]:
    """The scalars the original logs: each term divided by the per-replica batch size."""
    size = float(batch_size)
    return {"loss_train": loss / size, "l1_loss_train": l1 / size, "l2_loss_train": l2 / size}
