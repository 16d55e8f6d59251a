"""SAVP's losses and schedules (``VideoPredictionModel.generator_loss_fn`` / ``discriminator_loss_fn``, the KL
annealing and learning-rate decay of its constructor, and ``video_prediction/losses.py``).

Everything is time-major as inside the original's ``tower_fn``. The loss functions return an ordered dict
``name -> (unweighted loss, weight)`` with the original's names, in the order it summed them:

* generator: ``gen_l1_loss``, ``gen_l2_loss``, ``gen_feature_l2_loss``, ``gen_ae_l2_loss``, ``gen_state_loss``,
  ``gen_tv_loss``, then per discriminator kind (``_image_sn``, ``_images_sn``, ``_video_sn``) the gan loss and its
  feature-matching l2 / cdist losses, then the same for the vae-gan (posterior) outputs, then ``gen_kl_loss``
  (weight: the annealed :func:`kl_weight`);
* discriminator: ``discrim<kind>_gan_loss`` per kind, then ``discrim<kind>_vae_gan_loss`` per kind.

The pixel target is ``images[1:]`` (the context reconstructions included, Q12); the prediction is
``gen_images_enc`` when present (every nz > 0 config, ours_gan too), else ``gen_images``. For the generator's
step against the updated discriminator (``g_losses_post``), pass the post-pass discriminator outputs.
"""

from __future__ import annotations

import collections
import math
from typing import Callable, Mapping, Optional

import keras
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.training import schedules

GAN_LOSS_TYPES = ("GAN", "LSGAN", "SNGAN")
DISCRIMINATOR_INFIXES = (("_image_sn", "image_sn"), ("_images_sn", "images_sn"), ("_video_sn", "video_sn"))
COSINE_EPSILON = 1e-10


# ---------------------------------------------------------------------------------------------- loss terms
def l1_loss(pred, target):
    return tf.reduce_mean(tf.abs(target - pred))


def l2_loss(pred, target):
    return tf.reduce_mean(tf.square(target - pred))


def _unit_last_axis(x, epsilon: float = COSINE_EPSILON):
    return x / (tf.norm(x, axis=-1, keepdims=True) + epsilon)


def cosine_distance(a, b):
    """``mean over all but the last axis of sum_c (n(a) - n(b))^2 / 2`` with ``n(x) = x / (||x||_c + 1e-10)``."""
    return tf.reduce_mean(tf.reduce_sum(tf.square(_unit_last_axis(a) - _unit_last_axis(b)), axis=-1)) / 2.0


def _sigmoid_kl_with_logits(logits, target: float):
    entropy = 0.0 if target in (0.0, 1.0) else -target * math.log(target) - (1.0 - target) * math.log(1.0 - target)
    labels = tf.fill(tf.shape(logits), tf.cast(target, logits.dtype))
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits) - entropy


def gan_loss(logits, label: float, gan_loss_type: str):
    """The original's ``gan_loss``: label 1.0 for real, 0.0 for fake.

    ``GAN``: mean sigmoid cross-entropy (a non-0/1 label: the sigmoid KL); ``LSGAN``: ``mean (logits - label)^2``;
    ``SNGAN``: ``mean softplus(logits)`` for label 0, ``mean softplus(-logits)`` for label 1."""
    logits = tf.convert_to_tensor(logits, tf.float32)
    label = float(label)
    if gan_loss_type == "GAN":
        return tf.reduce_mean(_sigmoid_kl_with_logits(logits, label))
    if gan_loss_type == "LSGAN":
        return tf.reduce_mean(tf.square(logits - label))
    if gan_loss_type == "SNGAN":
        if label == 0.0:
            return tf.reduce_mean(tf.nn.softplus(logits))
        if label == 1.0:
            return tf.reduce_mean(tf.nn.softplus(-logits))
        raise ValueError(f"SNGAN loss needs a label of 0.0 or 1.0; got {label}")
    raise InputError(f"hparam gan_loss_type={gan_loss_type!r} is not one of {', '.join(GAN_LOSS_TYPES)}")


def kl_loss(mu, log_sigma_sq, mu2=None, log_sigma2_sq=None):
    """``mean over all but the last axis of sum_z KL(N(mu, e^log_sigma_sq) || prior)``; the prior is N(0, 1)
    unless ``mu2`` / ``log_sigma2_sq`` (a learned prior) are given."""
    if mu2 is None and log_sigma2_sq is None:
        return -0.5 * tf.reduce_mean(tf.reduce_sum(1.0 + log_sigma_sq - tf.square(mu) - tf.exp(log_sigma_sq),
                                                   axis=-1))
    return tf.reduce_mean(tf.reduce_sum(
        (log_sigma2_sq - log_sigma_sq) / 2.0
        + (tf.exp(log_sigma_sq) + tf.square(mu - mu2)) / (2.0 * tf.exp(log_sigma2_sq)) - 0.5, axis=-1))


# ---------------------------------------------------------------------------------------------- schedules
def kl_weight(hparams, step) -> Optional[tf.Tensor]:
    """The (annealed) KL weight at ``step``, ``None`` when ``hparams.kl_weight`` is 0 (no KL term at all).

    ``none``: constant; ``linear``: 0 until ``kl_anneal_steps[0]``, linear to ``kl_weight`` at
    ``kl_anneal_steps[1]``; ``sigmoid``: ``kl_weight / (1 + k * exp(-step / k))`` with ``k = kl_anneal_k``."""
    weight = float(hparams.kl_weight)
    if not weight:
        return None
    anneal = hparams.kl_anneal
    if anneal == "none":
        return tf.constant(weight, tf.float32)
    if anneal == "sigmoid":
        k = float(hparams.kl_anneal_k)
        if k == -1.0:
            raise InputError("hparam kl_anneal_k=-1.0 is invalid with kl_anneal=sigmoid (set a positive k)")
        if k > 0:
            # 1 / (1 + k e^{-s/k}) = sigmoid((s - k ln k) / k)
            return schedules.sigmoid_ramp(step, midpoint=k * math.log(k), steepness=1.0 / k, max_value=weight)
        return weight / (1.0 + k * tf.exp(-tf.cast(step, tf.float32) / k))
    if anneal == "linear":
        start, end = (int(s) for s in hparams.kl_anneal_steps)
        return schedules.linear_ramp(step, start, end, 0.0, weight)
    raise InputError(f"hparam kl_anneal={anneal!r} is not one of none, sigmoid, linear")


class _ConstantRate(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, value: float):
        self.value = float(value)

    def __call__(self, step):
        return tf.constant(self.value, tf.float32)

    def get_config(self):
        return {"value": self.value}


def learning_rate(hparams) -> keras.optimizers.schedules.LearningRateSchedule:
    """The original's learning rate as a function of the global step.

    ``any(lr_boundaries)``: ``lr * 0.1**i`` after the i-th boundary (TF1's ``piecewise_constant`` switches at
    ``step > boundary``, so the boundaries move up by one for :class:`schedules.PiecewiseConstant`, which
    switches at ``>=``); else ``any(decay_steps)``: ``lr`` until ``decay_steps[0]``, linear to ``end_lr`` at
    ``decay_steps[1]`` (a step when both are equal); else constant ``lr``."""
    lr = float(hparams.lr)
    boundaries = [int(b) for b in hparams.lr_boundaries]
    if any(boundaries):
        values = [lr * 0.1 ** i for i in range(len(boundaries) + 1)]
        return schedules.PiecewiseConstant([b + 1 for b in boundaries], values)
    decay = [int(s) for s in hparams.decay_steps]
    if any(decay):
        if len(decay) != 2:
            raise InputError(f"hparam decay_steps={decay} needs two steps (start, end)")
        return schedules.LinearDecay(lr, float(hparams.end_lr), decay[0], decay[1])
    return _ConstantRate(lr)


# ---------------------------------------------------------------------------------------------- loss dicts
def _features(outputs: Mapping, infix: str, fake_suffix: str, real_suffix: str):
    pairs, i = [], 0
    while True:
        fake = outputs.get(f"discrim{infix}_feature{i}_{fake_suffix}")
        real = outputs.get(f"discrim{infix}_feature{i}_{real_suffix}")
        if fake is None or real is None:
            return pairs
        pairs.append((fake, real))
        i += 1


def _need(mapping: Mapping, key: str, what: str):
    if key not in mapping:
        raise InputError(f"{what} needs {key!r} in the model outputs; it is not there")
    return mapping[key]


def check_hparams(hparams) -> None:
    """Refuse what the original could not run: ``vgg_cdist_weight`` (its ``vgg_cosine_distance`` does not exist)
    and an unknown ``gan_loss_type``."""
    if hparams.vgg_cdist_weight:
        raise InputError(f"hparam vgg_cdist_weight={hparams.vgg_cdist_weight}: the original's VGG cosine distance "
                         f"(vp.metrics.vgg_cosine_distance) does not exist, so this loss is not supported; set it to 0")
    if hparams.gan_loss_type not in GAN_LOSS_TYPES:
        raise InputError(f"hparam gan_loss_type={hparams.gan_loss_type!r} is not one of {', '.join(GAN_LOSS_TYPES)}")


def generator_losses(hparams, inputs: Mapping, outputs: Mapping, step,
                     kl_fn: Callable = kl_loss) -> "collections.OrderedDict[str, tuple]":
    """``name -> (loss, weight)`` of the original's ``generator_loss_fn``; ``outputs`` = generator outputs plus
    the discriminator outputs of the pass the generator is trained against. ``kl_fn(mu, log_sigma_sq, mu_prior,
    log_sigma_sq_prior)`` computes the KL (a baseline with another KL reduction passes its own)."""
    check_hparams(hparams)
    losses = collections.OrderedDict()
    if hparams.l1_weight or hparams.l2_weight:
        gen_images = outputs["gen_images_enc"] if "gen_images_enc" in outputs else outputs["gen_images"]
        target_images = inputs["images"][1:]
    if hparams.l1_weight:
        losses["gen_l1_loss"] = (l1_loss(gen_images, target_images), hparams.l1_weight)
    if hparams.l2_weight:
        losses["gen_l2_loss"] = (l2_loss(gen_images, target_images), hparams.l2_weight)
    if hparams.feature_l2_weight:
        gen_features = outputs.get("gen_features_enc", outputs.get("gen_features"))
        if gen_features is None:
            raise InputError("hparam feature_l2_weight needs 'gen_features' in the model outputs; it is not there")
        target_features = _need(outputs, "features", "hparam feature_l2_weight")[1:]
        losses["gen_feature_l2_loss"] = (l2_loss(gen_features, target_features), hparams.feature_l2_weight)
    if hparams.ae_l2_weight:
        gen_images_dec = outputs.get("gen_images_dec_enc", outputs.get("gen_images_dec"))
        if gen_images_dec is None:
            raise InputError("hparam ae_l2_weight needs 'gen_images_dec' in the model outputs; it is not there")
        losses["gen_ae_l2_loss"] = (l2_loss(gen_images_dec, inputs["images"]), hparams.ae_l2_weight)
    if hparams.state_weight:
        gen_states = outputs["gen_states_enc"] if "gen_states_enc" in outputs else \
            _need(outputs, "gen_states", "hparam state_weight")
        target_states = _need(inputs, "states", "hparam state_weight")[1:]
        losses["gen_state_loss"] = (l2_loss(gen_states, target_states), hparams.state_weight)
    if hparams.tv_weight:
        flows = outputs.get("gen_flows_enc", outputs.get("gen_flows"))
        if flows is None:
            raise InputError("hparam tv_weight needs 'gen_flows' in the model outputs; it is not there")
        diff1 = flows[..., 1:, :, :, :] - flows[..., :-1, :, :, :]
        diff2 = flows[..., :, 1:, :, :] - flows[..., :, :-1, :, :]
        tv = (tf.reduce_mean(tf.reduce_sum(tf.abs(diff1), axis=(-2, -1)))
              + tf.reduce_mean(tf.reduce_sum(tf.abs(diff2), axis=(-2, -1))))
        losses["gen_tv_loss"] = (tv, hparams.tv_weight)
    for variant, fake, real, feature_l2, feature_cdist in (
            ("gan", "fake", "real", "gan_feature_l2_weight", "gan_feature_cdist_weight"),
            ("vae_gan", "enc_fake", "enc_real", "vae_gan_feature_l2_weight", "vae_gan_feature_cdist_weight")):
        for infix, kind in DISCRIMINATOR_INFIXES:
            weight = hparams.get(f"{kind}_{variant}_weight")
            if not weight:
                continue
            logits = _need(outputs, f"discrim{infix}_logits_{fake}", f"hparam {kind}_{variant}_weight")
            losses[f"gen{infix}_{variant}_loss"] = (gan_loss(logits, 1.0, hparams.gan_loss_type), weight)
            l2_weight, cdist_weight = hparams.get(feature_l2), hparams.get(feature_cdist)
            if not (l2_weight or cdist_weight):
                continue
            pairs = _features(outputs, infix, fake, real)
            if l2_weight:
                losses[f"gen{infix}_{variant}_feature_l2_loss"] = (
                    tf.add_n([l2_loss(f, r) for f, r in pairs]) if pairs else tf.zeros(()), l2_weight)
            if cdist_weight:
                losses[f"gen{infix}_{variant}_feature_cdist_loss"] = (
                    tf.add_n([cosine_distance(f, r) for f, r in pairs]) if pairs else tf.zeros(()), cdist_weight)
    weight = kl_weight(hparams, step)
    if weight is not None:
        kl = kl_fn(_need(outputs, "zs_mu_enc", "hparam kl_weight"),
                   _need(outputs, "zs_log_sigma_sq_enc", "hparam kl_weight"),
                   outputs.get("zs_mu_prior"), outputs.get("zs_log_sigma_sq_prior"))
        losses["gen_kl_loss"] = (kl, weight)
    return losses


def discriminator_losses(hparams, inputs: Mapping, outputs: Mapping,
                         step=None) -> "collections.OrderedDict[str, tuple]":
    """``name -> (loss, weight)`` of the original's ``discriminator_loss_fn`` (real label 1, fake label 0)."""
    check_hparams(hparams)
    losses = collections.OrderedDict()
    for variant, fake, real in (("gan", "fake", "real"), ("vae_gan", "enc_fake", "enc_real")):
        for infix, kind in DISCRIMINATOR_INFIXES:
            weight = hparams.get(f"{kind}_{variant}_weight")
            if not weight:
                continue
            what = f"hparam {kind}_{variant}_weight"
            loss_real = gan_loss(_need(outputs, f"discrim{infix}_logits_{real}", what), 1.0, hparams.gan_loss_type)
            loss_fake = gan_loss(_need(outputs, f"discrim{infix}_logits_{fake}", what), 0.0, hparams.gan_loss_type)
            losses[f"discrim{infix}_{variant}_loss"] = (loss_real + loss_fake, weight)
    return losses


def weighted_total(losses: Mapping) -> tf.Tensor:
    """``sum loss * weight`` in the dict's order (0 for no terms), the original's ``d_loss`` / ``g_loss``."""
    total = tf.zeros((), tf.float32)
    for loss, weight in losses.values():
        total = total + tf.cast(loss, tf.float32) * tf.cast(weight, tf.float32)
    return total


__all__ = ["cosine_distance", "discriminator_losses", "gan_loss", "generator_losses", "kl_loss", "kl_weight",
           "l1_loss", "l2_loss", "learning_rate", "weighted_total", "check_hparams"]
