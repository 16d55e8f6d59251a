"""EPVA's training modes as a ``vidpred_tf.training.Task``: which Adams minimise which loss over which parts.

Spec section 5. Every optimiser is Adam with TF1's defaults (beta1 .9, beta2 .999, eps 1e-8); ``clip_gradient_norm
> 0`` clips each gradient tensor separately (slim's ``create_train_op``), except the epva_gan discriminator.

epva_gan runs on every trainer step either the discriminator or the two generator optimisers: the generator on
steps 0, k+1, 2(k+1)... (k = ``discrim_steps_per_pred``; read the step, then increment it: the deterministic form
of the original's racy counter). The trainer's step therefore counts calls; the original's ``global_step`` counts
generator steps = ``ceil(calls / (k + 1))``, logged as ``generator_steps``.
"""

from __future__ import annotations

from typing import Mapping, Optional

import keras
import tensorflow as tf

from vidpred_tf.models.epva.config import MODES, EPVAConfig
from vidpred_tf.models.epva.losses import compute_losses, gan_losses
from vidpred_tf.models.epva.network import EPVANetwork
from vidpred_tf.training.task import OptimizerSpec, Task


def _adam(learning_rate: float) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)


class EPVATask(Task):
    """The six modes of ``--model_mode``; learning rates and clipping as the original's flags."""

    name = "epva"

    def __init__(self, config: EPVAConfig, enc_learning_rate: float = 1e-5, pred_learning_rate: float = 3e-4,
                 van_learning_rate: float = 3e-5, discrim_learning_rate: float = 1e-2,
                 all_learning_rate: float = 1e-5, clip_gradient_norm: float = 0.0, discrim_steps_per_pred: int = 5):
        if config.model_mode not in MODES:
            raise ValueError(f"--model_mode={config.model_mode!r} is not one of {', '.join(MODES)}")
        if config.model_mode == "individual" and config.enc_size != 12:
            raise ValueError(f"--model_mode=individual needs --enc_size=12, got --enc_size={config.enc_size}")
        self.config = config
        self.rates = dict(enc=enc_learning_rate, pred=pred_learning_rate, van=van_learning_rate,
                          discrim=discrim_learning_rate, all=all_learning_rate)
        self.clip = clip_gradient_norm if clip_gradient_norm > 0 else None
        self.cycle = int(discrim_steps_per_pred) + 1

    def build_model(self) -> keras.Model:
        return EPVANetwork(self.config)

    def is_generator_step(self, step: int) -> bool:
        return step % self.cycle == 0

    def build_optimizers(self, model):
        def spec(name, rate, parts, loss, clip=True, active_on=None):
            def variables():
                return [v for part in parts for v in getattr(model, part).trainable_variables]
            return OptimizerSpec(name, _adam(self.rates[rate]), variables, loss, self.clip if clip else None,
                                 "per_tensor", active_on)

        everything = ("encoder", "predictor", "van")
        mode = self.config.model_mode
        if mode == "e2e":
            return [spec("all", "all", everything, "van_loss/loss")]
        if mode == "epva":
            return [spec("all", "all", everything, "epva_loss")]
        if mode == "e2epose_oneop":
            return [spec("all", "all", everything, "e2epose_loss")]
        if mode == "e2epose_sepop":
            return [spec("all", "all", everything, "van_loss/loss"),
                    spec("encoder", "enc", ("encoder",), "pose_from_enc_loss_quant/total_loss"),
                    spec("predictor", "pred", ("predictor",), "pose_from_pred_loss_quant/total_loss")]
        if mode == "individual":
            return [spec("encoder", "enc", ("encoder",), "pose_from_enc_loss_quant/total_loss"),
                    spec("predictor", "pred", ("predictor",), "pose_from_pred_on_pose_loss_quant/total_loss"),
                    spec("van", "van", ("van",), "van_on_pose_loss/loss")]
        generator, discriminator = self.is_generator_step, (lambda step: not self.is_generator_step(step))
        return [spec("discriminator", "discrim", ("discriminator",), "discrim_total_loss", clip=False,
                     active_on=discriminator),
                spec("enc_pred", "pred", ("encoder", "predictor"), "enc_pred_loss_total", active_on=generator),
                spec("enc_van", "van", ("encoder", "van"), "van_on_enc_loss/loss", active_on=generator)]

    def _losses(self, model, batch, step, seed) -> Mapping[str, tf.Tensor]:
        outputs = model(batch, training=True, seed=tf.random.experimental.stateless_fold_in(seed, 0))
        losses = dict(compute_losses(outputs, batch, self.config, step))
        mode = self.config.model_mode
        if mode == "e2epose_oneop":
            losses["e2epose_loss"] = ((losses["pose_from_enc_loss_quant/total_loss"]
                                       + losses["pose_from_pred_loss_quant/total_loss"]) * self.config.pose_weight
                                      + losses["van_loss/loss"])
        if mode == "epva_gan":
            batch_size = tf.shape(batch["images"])[0]
            alpha = tf.random.stateless_uniform([batch_size, 1, 1], tf.random.experimental.stateless_fold_in(seed, 1))
            gan = gan_losses(model, outputs, self.config, alpha, losses["enc_pred_loss/loss"])
            losses.update({k: gan[k] for k in ("enc_pred_loss_gan", "enc_pred_loss_total", "discrim_total_loss")})
            # The original's global_step: generator steps done after this call.
            losses["generator_steps"] = tf.cast(step // self.cycle + 1, tf.float32)
        return losses

    def train_losses(self, model, batch, step, seed):
        return self._losses(model, batch, step, seed)

    def eval_outputs(self, model, batch, seed) -> Mapping[str, tf.Tensor]:
        outputs = model(batch, training=False, seed=seed)
        return {**compute_losses(outputs, batch, self.config, 0), **outputs}

    def predict(self, model, batch, seed: Optional[tf.Tensor] = None) -> tf.Tensor:
        return model(batch, training=False, seed=seed)["van_out_all"]

    def summary_videos(self, model, batch, seed):
        outputs = model(batch, training=False, seed=seed)
        videos = {"ground_truth": batch["images"][:, 1:], "van_out_all": outputs["van_out_all"],
                  "van_on_enc_all": outputs["van_on_enc_all"]}
        return {k: tf.clip_by_value(v, 0.0, 1.0) for k, v in videos.items()}
