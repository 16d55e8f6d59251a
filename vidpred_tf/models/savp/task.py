"""SAVP and its baselines as a Task of the shared trainer: the original's ``VideoPredictionModel.build_graph``.

One training step, as the original's train op ran it:
1. the generator on the batch (posterior, prior and sample unrolls; scheduled sampling at the global step);
2. the discriminator on real and generated clips -> ``d_loss`` = sum of weighted D terms; the Adam update of
   the discriminator (the spectral-norm ``u`` vectors take their new power-iteration value first, as the
   original's UPDATE_OPS did under the D update's control dependencies);
3. the discriminator AGAIN, with the updated weights and fresh clip draws (the original's ``discrim_outputs_post``
   re-wired to the updated variables by graph surgery) -> ``g_loss_post``; the Adam update of the generator.
The trainer's ``staged_updates`` runs 2 and 3 under one tape so the generator's forward pass is shared. With
``joint_gan_optimization=True`` both updates use the weights from before the step (one shared pass, G still on
the post-pass loss), as the original's flag did.

Logged: every unweighted loss term under its own name (``discrim_video_sn_gan_loss``, ``gen_l1_loss``...), the
totals ``d_loss``, ``g_loss`` (with the first D pass, as the original printed it), ``loss`` (their sum),
``g_loss_post``, the scalars ``learning_rate``, ``kl_weight`` and ``ground_truth_sampling_mean``, and the
original's training-batch metrics ``psnr``, ``mse``, ``ssim`` (means over the future frames; LPIPS, which needs
downloaded weights, is left out). A model without discriminator has one stage: the generator's update.
"""

from __future__ import annotations

from typing import Callable, Dict, Mapping, Optional

import keras
import tensorflow as tf

from vidpred_tf.models.savp import losses as savp_losses
from vidpred_tf.training.task import OptimizerSpec, Task

# Stream of the stateless seed of each random source of a step (folded into the trainer's per-step seed).
GENERATOR_STREAM, DISCRIMINATOR_STREAM, DISCRIMINATOR_POST_STREAM, SUMMARY_STREAM = 0, 1, 2, 3


def time_major(batch: Mapping[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    """Batch-major ``[B, T, ...]`` tensors -> time-major ``[T, B, ...]`` (the original's ``transpose_batch_time``)."""
    return {key: _swap01(value) for key, value in batch.items()}


def batch_major(outputs: Mapping[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    """Time-major outputs back to batch-major; scalars stay."""
    return {key: _swap01(value) if len(value.shape) >= 2 else value for key, value in outputs.items()}


def _swap01(value: tf.Tensor) -> tf.Tensor:
    value = tf.convert_to_tensor(value)
    rank = len(value.shape)
    if rank < 2:
        return value
    return tf.transpose(value, [1, 0] + list(range(2, rank)))


def _fold(seed: tf.Tensor, stream: int) -> tf.Tensor:
    return tf.cast(tf.random.experimental.stateless_fold_in(seed, stream), tf.int32)


class SAVPTask(Task):
    """Trains a :class:`vidpred_tf.models.savp.model.VideoPredictionModel` built by ``build_fn``.

    Args:
      build_fn: () -> the model in mode 'train' (called by the trainer inside the strategy scope).
      hparams: the resolved model hparams (optimiser, schedules, loss weights).
      inputs_fn: optional ``(input_context, epoch) -> tf.data.Dataset`` of training batches (``build_inputs``).
    """

    name = "savp"

    def __init__(self, build_fn: Callable[[], keras.Model], hparams, inputs_fn: Optional[Callable] = None):
        self.build_fn = build_fn
        self.hparams = hparams
        self.inputs_fn = inputs_fn
        self.staged_updates = not hparams.joint_gan_optimization
        self.model = None

    # ------------------------------------------------------------------------------------------ building
    def build_model(self) -> keras.Model:
        self.model = self.build_fn()
        # Without a discriminator there is one update: the trainer's plain (XLA-compilable) step does it.
        self.staged_updates = self.model.discriminator is not None and not self.hparams.joint_gan_optimization
        return self.model

    def _adam(self) -> keras.optimizers.Optimizer:
        # TF1's AdamOptimizer(lr, beta1, beta2) with its epsilon 1e-8 (Keras' default is 1e-7).
        return keras.optimizers.Adam(learning_rate=savp_losses.learning_rate(self.hparams),
                                     beta_1=self.hparams.beta1, beta_2=self.hparams.beta2, epsilon=1e-8)

    def build_optimizers(self, model):
        specs = []
        if model.discriminator is not None and model.discriminator.trainable_weights:
            specs.append(OptimizerSpec("discriminator", self._adam(),
                                       lambda: model.discriminator.trainable_weights, "d_loss"))
        specs.append(OptimizerSpec("generator", self._adam(), lambda: model.generator.trainable_weights,
                                   "g_loss_post"))
        return specs

    def build_inputs(self, input_context, epoch=None):
        if self.inputs_fn is None:
            return super().build_inputs(input_context, epoch)
        return self.inputs_fn(input_context, epoch)

    # ------------------------------------------------------------------------------------------ losses
    def _scalars(self, step, gen_outputs) -> Dict[str, tf.Tensor]:
        scalars = {"learning_rate": tf.convert_to_tensor(savp_losses.learning_rate(self.hparams)(step), tf.float32)}
        kl_weight = savp_losses.kl_weight(self.hparams, step)
        if kl_weight is not None:
            scalars["kl_weight"] = tf.convert_to_tensor(kl_weight, tf.float32)
        for key, value in gen_outputs.items():
            if len(value.shape) == 0:
                scalars[key] = tf.cast(value, tf.float32)
        return scalars

    def _discriminate(self, model, inputs, gen_outputs, seed, stream):
        """One discriminator pass and its new spectral-norm ``u`` values."""
        if model.discriminator is None:
            return {}, []
        outputs, u_updates = model.discriminator(inputs, gen_outputs, seed=_fold(seed, stream), return_u_updates=True)
        return dict(outputs), u_updates

    def staged_losses(self, model, batch, step, seed):
        inputs = time_major(batch)
        gen_outputs = dict(model.generator(inputs, step=step, seed=_fold(seed, GENERATOR_STREAM)))
        scalars = self._scalars(step, gen_outputs)
        discrim_outputs, u_updates = self._discriminate(model, inputs, gen_outputs, seed, DISCRIMINATOR_STREAM)
        outputs = {**gen_outputs, **discrim_outputs}
        d_losses = savp_losses.discriminator_losses(self.hparams, inputs, outputs, step)
        g_losses = savp_losses.generator_losses(self.hparams, inputs, outputs, step)
        d_loss, g_loss = savp_losses.weighted_total(d_losses), savp_losses.weighted_total(g_losses)
        first = {**scalars, **{name: loss for name, (loss, _) in d_losses.items()},
                 **{name: loss for name, (loss, _) in g_losses.items()},
                 **self._metrics(batch["images"], gen_outputs["gen_images"]),
                 "d_loss": d_loss, "g_loss": g_loss, "loss": d_loss + g_loss}
        if model.discriminator is None:  # one optimiser: the generator, on the same losses
            yield {**first, "g_loss_post": g_loss}
            return
        # The original's UPDATE_OPS: u takes its power-iteration value under the D update's control dependencies.
        if u_updates:
            model.discriminator.assign_u(u_updates)
        yield first
        # After the D update (staged) or with the same weights (joint): the post pass the G step minimises.
        post_outputs, _ = self._discriminate(model, inputs, gen_outputs, seed, DISCRIMINATOR_POST_STREAM)
        g_losses_post = savp_losses.generator_losses(self.hparams, inputs, {**gen_outputs, **post_outputs}, step)
        yield {"g_loss_post": savp_losses.weighted_total(g_losses_post)}

    def train_losses(self, model, batch, step, seed):
        # joint_gan_optimization: one pass feeds both optimisers (the trainer differentiates once).
        losses = {}
        for stage in self.staged_losses(model, batch, step, seed):
            losses.update(stage)
        return losses

    def _metrics(self, images: tf.Tensor, gen_images_time_major: tf.Tensor) -> Dict[str, tf.Tensor]:
        """The original's training-batch metrics (its ``metrics_fn``): batch means on the future frames."""
        future = images.shape[1] - self.hparams.context_frames
        target = images[:, -future:]
        predicted = _swap01(gen_images_time_major)[:, -future:]
        return {"psnr": tf.reduce_mean(tf.image.psnr(target, predicted, max_val=1.0)),
                "mse": tf.reduce_mean(tf.square(target - predicted)),
                "ssim": tf.reduce_mean(tf.image.ssim(target, predicted, max_val=1.0))}

    # ------------------------------------------------------------------------------------------ predictions
    def predict(self, model, batch, seed):
        """The future frames of the test-mode generator (prior z), ``[B, T - context_frames, H, W, C]``."""
        outputs = model.generate(batch, seed=seed)
        future = batch["images"].shape[1] - self.hparams.context_frames
        return outputs["gen_images"][:, -future:]

    def summary_videos(self, model, batch, seed):
        outputs = model.generate(batch, seed=seed)
        context = batch["images"][:, :self.hparams.context_frames]
        return {"images": batch["images"],
                "gen_images": tf.concat([context, outputs["gen_images"][:, self.hparams.context_frames - 1:]], 1)}
