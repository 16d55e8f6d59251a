"""The image-generator training of ``imggen_src/train_{penn,h36m}.py`` as a ``vidpred_tf.training.Task``.

Per iteration the original runs (spec 5.2):

1. ``g_optim`` if ``updateG``: Adam(lr, beta1 0.5) on ``L + gamma g_loss`` over the ``GEN`` variables;
2. ``d_optim`` if ``updateD``: Adam(lr, beta1 0.5) on ``d_loss`` over the ``DIS`` variables, in a new
   ``sess.run``, i.e. with a forward pass through the generator as step 1 left it;
3. ``d_loss_fake``, ``d_loss_real``, ``g_loss`` re-evaluated after both updates, which set the sticky flags
   (``gan_schedule.StickyGanSchedule``) of the next iteration.

Here: two ``OptimizerSpec`` s in that order, each ``active_on`` its flag (the trainer decides on the host; an
inactive Adam leaves its slots and ``iterations`` untouched, as a train op that is not run). ``staged_updates``:
the first stage is the full forward (generator, AlexNet and hourglass on ``xtpn`` and ``x_hat``, the three D calls)
and yields every loss; after the generator's update the second stage recomputes ``x_hat`` with the updated
generator and the three D calls, and yields the adversarial losses the discriminator minimises, which is what the
original's ``d_optim`` run computes (it needs no perceptual feature). ``post_update_losses`` is step 3 and
``on_step_end`` applies the rule to the flags, a variable of ``checkpoint_objects`` so that a resumed run continues
the schedule.

The batch holds ``xt``, ``xtpn`` float32 (B, H, W, 3) in [-1, 1] (BGR) and ``pt``, ``ptpn`` (B, H, W, J) in [0, 1]
(the readers also add the contract's ``images``, unused here). The trainer's step counts iterations (the original's
``iters``).
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.models.hierchvid.alexnet import AlexNetFeatures
from vidpred_tf.models.hierchvid.config import ImggenConfig
from vidpred_tf.models.hierchvid.gan_schedule import StickyGanSchedule
from vidpred_tf.models.hierchvid.hourglass import StackedHourglassFeatures
from vidpred_tf.models.hierchvid.imggen import ImggenModel
from vidpred_tf.models.hierchvid.imggen_losses import (
    G_OBJECTIVE,
    adversarial_losses,
    discriminator_logits,
    imggen_losses,
)
from vidpred_tf.training.task import OptimizerSpec, Task

XT, XTPN, PT, PTPN = "xt", "xtpn", "pt", "ptpn"
BATCH_KEYS = (XT, XTPN, PT, PTPN)
ADAM_BETA2, ADAM_EPSILON = 0.999, 1e-8
# Losses re-evaluated after the updates (names of their own: the trainer returns them beside the step's losses).
AFTER_PREFIX = "after_update/"
AFTER_KEYS = ("d_loss_fake", "d_loss_real", "g_loss")
FLAGS_OBJECT = "imggen_update_flags"


def tf1_adam(learning_rate: float, beta1: float) -> keras.optimizers.Optimizer:
    """TF1 ``AdamOptimizer(lr, beta1)`` (beta2 0.999, eps 1e-8): Keras 3 Adam applies the same rule
    (``lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``, checked against TF1's in the golden check)."""
    return keras.optimizers.Adam(learning_rate, beta_1=beta1, beta_2=ADAM_BETA2, epsilon=ADAM_EPSILON)


class ImggenTask(Task):
    """``ImggenTask(config, alexnet_weights, hourglass_params)``.

    ``alexnet_weights`` (``{convK: (W, b)}``) and ``hourglass_params`` (the 414 HWIO arrays) are what
    ``vidpred_tf.convert.hierchvid_perceptual.load_alexnet_weights`` / ``load_hourglass_weights`` return.
    """

    name = "hierchvid_imggen"
    staged_updates = True

    def __init__(self, config: ImggenConfig, alexnet_weights: Mapping[str, Sequence[np.ndarray]],
                 hourglass_params: Sequence[np.ndarray]):
        self.config = config
        self.alexnet_weights = alexnet_weights
        self.hourglass_params = hourglass_params
        # [updateD, updateG]; both start True.
        self.update_flags = tf.Variable([True, True], dtype=tf.bool, trainable=False, name=FLAGS_OBJECT)

    # ------------------------------------------------------------------------------------------- setup
    def build_model(self) -> ImggenModel:
        return ImggenModel(self.config, with_discriminator=True, alexnet=AlexNetFeatures(self.alexnet_weights),
                           hourglass=StackedHourglassFeatures(self.hourglass_params))

    @property
    def update_d(self) -> bool:
        return bool(self.update_flags.numpy()[0])

    @property
    def update_g(self) -> bool:
        return bool(self.update_flags.numpy()[1])

    def build_optimizers(self, model: ImggenModel):
        config = self.config
        return [
            OptimizerSpec("generator", tf1_adam(config.lr, config.beta1), model.generator_variables, G_OBJECTIVE,
                          active_on=lambda step: self.update_g),
            OptimizerSpec("discriminator", tf1_adam(config.lr, config.beta1), model.discriminator_variables,
                          "d_loss", active_on=lambda step: self.update_d),
        ]

    def checkpoint_objects(self):
        return {FLAGS_OBJECT: self.update_flags}

    # ------------------------------------------------------------------------------------------ losses
    def forward(self, model: ImggenModel, batch: Mapping[str, tf.Tensor]
                ) -> Tuple[tf.Tensor, Dict[str, tf.Tensor], Dict[str, tf.Tensor]]:
        """The train graph: ``x_hat``, the eleven losses (+ ``g_objective``) and the three D logits."""
        x_hat = model.generate(batch[XT], batch[PT], batch[PTPN])
        config = self.config
        losses, logits = imggen_losses(batch, x_hat, model.discriminator, model.alexnet, model.hourglass,
                                       config.layer, config.alpha, config.beta, config.gamma)
        return x_hat, losses, logits

    def adversarial(self, model: ImggenModel, batch: Mapping[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """The adversarial losses with the current weights (what ``d_optim`` and the flag re-evaluation compute)."""
        x_hat = model.generate(batch[XT], batch[PT], batch[PTPN])
        logits = discriminator_logits(model.discriminator, tf.convert_to_tensor(batch[XT], tf.float32),
                                      tf.convert_to_tensor(batch[XTPN], tf.float32),
                                      tf.convert_to_tensor(batch[PTPN], tf.float32), x_hat)
        return adversarial_losses(logits)

    def train_losses(self, model, batch, step, seed):
        return self.forward(model, batch)[1]

    def staged_losses(self, model, batch, step, seed):
        yield self.train_losses(model, batch, step, seed)
        # The generator has been updated (when active): d_optim's forward pass sees the new G.
        yield self.adversarial(model, batch)

    def post_update_losses(self, model, batch, step, seed):
        losses = self.adversarial(model, batch)
        return {AFTER_PREFIX + key: losses[key] for key in AFTER_KEYS}

    def on_step_end(self, step: int, losses: Mapping[str, float]) -> None:
        schedule = StickyGanSchedule(self.config.margin, self.update_d, self.update_g)
        schedule.update(losses[AFTER_PREFIX + "d_loss_fake"], losses[AFTER_PREFIX + "d_loss_real"])
        self.update_flags.assign([schedule.update_d, schedule.update_g])

    # -------------------------------------------------------------------------------------- evaluation
    def predict(self, model, batch, seed: Optional[tf.Tensor] = None) -> tf.Tensor:
        """``(x_hat + 1) / 2`` as one future frame ``[B, 1, H, W, 3]`` (channels as fed: BGR)."""
        x_hat = model.generate(batch[XT], batch[PT], batch[PTPN])
        return tf.expand_dims((x_hat + 1.0) / 2.0, axis=1)

    def eval_outputs(self, model, batch, seed):
        x_hat, losses, _ = self.forward(model, batch)
        return {**losses, "prediction": tf.expand_dims((x_hat + 1.0) / 2.0, axis=1)}

    def summary_videos(self, model, batch, seed):
        target = tf.expand_dims((tf.convert_to_tensor(batch[XTPN], tf.float32) + 1.0) / 2.0, axis=1)
        return {"ground_truth": target[..., ::-1], "prediction": self.predict(model, batch, seed)[..., ::-1]}
