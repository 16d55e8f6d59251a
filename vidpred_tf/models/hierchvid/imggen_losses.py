"""The eleven loss terms of ``IMGGEN.build_model`` (spec section 5.2), with ``x_hat`` the generator output and
``x = xtpn``:

==============  ==============================================================================================
``L_img``       ``0.5 mean((x_hat - x)^2)`` in [-1, 1]
``feat_loss1``  ``0.5 mean((A(x) - A(x_hat))^2)``, A = AlexNet conv5 of ``255 x01 - mean(255 x01)`` (one scalar
                mean over the whole batch tensor), ``x01 = (x + 1) / 2`` (BGR as given)
``feat_loss2``  ``0.5 mean((HG(x)[layer] - HG(x_hat)[layer])^2)``, HG = the stacked hourglass's list of outputs
                (innermost first) of ``x01``
``L_feat``      ``alpha feat_loss1 + beta feat_loss2``
``L``           ``L_img + L_feat``
``d_loss_real``  ``mean BCE(D(x, ptpn), 1)``
``d_loss_fake1`` ``0.5 mean BCE(D(x_hat, ptpn), 0)``
``d_loss_fake2`` ``0.5 mean BCE(D(xt, ptpn), 0)`` (the "bad pair", quirk 10)
``d_loss_fake``  ``d_loss_fake1 + d_loss_fake2``; ``d_loss = d_loss_real + d_loss_fake``
``g_loss``       ``mean BCE(D(x_hat, ptpn), 1)``
==============  ==============================================================================================

The generator minimises ``L + gamma g_loss`` (``g_objective``). Gradients flow through the frozen perceptual nets
(their batch moments included). The discriminator is called three times, each call normalised with its own batch
moments, in the original's order: good, bad, generated.

The perceptual networks are passed in as callables on images in [-1, 1] that do their own preprocessing, as
:class:`~vidpred_tf.models.hierchvid.alexnet.AlexNetFeatures` (``x01 * 255`` centred on one scalar mean -> conv5)
and :class:`~vidpred_tf.models.hierchvid.hourglass.StackedHourglassFeatures` (``x01`` -> the list of outputs) do.
Each is called once on ``x`` and once on ``x_hat``, as the original (the moments and means are per call).
"""

from __future__ import annotations

from typing import Callable, Dict, Mapping, Sequence, Tuple

import tensorflow as tf

LOSS_NAMES = ("L", "L_img", "L_feat", "feat_loss1", "feat_loss2", "g_loss", "d_loss", "d_loss_real",
              "d_loss_fake", "d_loss_fake1", "d_loss_fake2")
G_OBJECTIVE = "g_objective"

AlexNetFn = Callable[[tf.Tensor], tf.Tensor]
HourglassFn = Callable[[tf.Tensor], Sequence[tf.Tensor]]


def _bce(logits: tf.Tensor, label: float) -> tf.Tensor:
    labels = tf.fill(tf.shape(logits), tf.constant(label, logits.dtype))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def reconstruction_losses(x_hat: tf.Tensor, xtpn: tf.Tensor, alexnet: AlexNetFn, hourglass: HourglassFn,
                          layer: int, alpha: float, beta: float) -> Dict[str, tf.Tensor]:
    """``L_img``, ``feat_loss1``, ``feat_loss2``, ``L_feat`` and ``L``."""
    alex_true, alex_gen = alexnet(xtpn), alexnet(x_hat)
    hg_true, hg_gen = hourglass(xtpn), hourglass(x_hat)
    feat_loss1 = 0.5 * tf.reduce_mean(tf.square(alex_true - alex_gen))
    feat_loss2 = 0.5 * tf.reduce_mean(tf.square(hg_true[layer] - hg_gen[layer]))
    l_feat = alpha * feat_loss1 + beta * feat_loss2
    l_img = 0.5 * tf.reduce_mean(tf.square(x_hat - xtpn))
    return {"L_img": l_img, "feat_loss1": feat_loss1, "feat_loss2": feat_loss2, "L_feat": l_feat,
            "L": l_img + l_feat}


def discriminator_logits(discriminator, xt: tf.Tensor, xtpn: tf.Tensor, ptpn: tf.Tensor,
                         x_hat: tf.Tensor) -> Dict[str, tf.Tensor]:
    """The three calls of D in the original's order: ``D_logits`` (good: xtpn), ``DB_logits`` (bad: xt),
    ``D_logits_`` (generated: x_hat), all paired with ``ptpn``."""
    _, good = discriminator(xtpn, ptpn)
    _, bad = discriminator(xt, ptpn)
    _, generated = discriminator(x_hat, ptpn)
    return {"D_logits": good, "DB_logits": bad, "D_logits_": generated}


def adversarial_losses(logits: Mapping[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    """``d_loss_real``, ``d_loss_fake1``, ``d_loss_fake2``, ``d_loss_fake``, ``d_loss`` and ``g_loss`` from the logits
    of ``discriminator_logits``."""
    real = _bce(logits["D_logits"], 1.0)
    fake1 = 0.5 * _bce(logits["D_logits_"], 0.0)
    fake2 = 0.5 * _bce(logits["DB_logits"], 0.0)
    fake = fake1 + fake2
    return {"d_loss_real": real, "d_loss_fake1": fake1, "d_loss_fake2": fake2, "d_loss_fake": fake,
            "d_loss": real + fake, "g_loss": _bce(logits["D_logits_"], 1.0)}


def imggen_losses(batch: Mapping[str, tf.Tensor], x_hat: tf.Tensor, discriminator, alexnet: AlexNetFn,
                  hourglass: HourglassFn, layer: int, alpha: float, beta: float, gamma: float
                  ) -> Tuple[Dict[str, tf.Tensor], Dict[str, tf.Tensor]]:
    """All eleven terms plus ``g_objective = L + gamma g_loss``, and the three logit tensors.

    ``batch`` holds ``xt``, ``xtpn`` (B, H, W, 3) in [-1, 1] and ``ptpn`` (B, H, W, J).
    """
    xt = tf.convert_to_tensor(batch["xt"], tf.float32)
    xtpn = tf.convert_to_tensor(batch["xtpn"], tf.float32)
    ptpn = tf.convert_to_tensor(batch["ptpn"], tf.float32)
    losses = reconstruction_losses(x_hat, xtpn, alexnet, hourglass, layer, alpha, beta)
    logits = discriminator_logits(discriminator, xt, xtpn, ptpn, x_hat)
    losses.update(adversarial_losses(logits))
    losses[G_OBJECTIVE] = losses["L"] + gamma * losses["g_loss"]
    return losses, logits
