"""Training the pose LSTM (stage 1) on the shared trainer: the original ``DET_LSTM`` train graph as a ``Task``.

Spec section 5.1. The loss is ``recons_loss = mean(mask2 * (output - seq)^2)`` over the future steps only, every
element counted in the mean (masked ones included); one TF1 ``RMSPropOptimizer`` (``TF1RMSProp``: decay 0.9,
epsilon 1e-10 inside the square root, mean-square slot starting at one) minimises it over every variable, after
``clip_by_global_norm(gradients, 25)``.

Batches are pose sequences, not videos: ``seq`` float32 ``[B, seen + fut, 2L]`` (x's then y's in [-1, 1]) and
``mask`` float32 ``[B, seen + fut, L]`` (visibility; ones for Human3.6M). They carry no ``images``, so this task
checks its own batch keys (``validate_inputs``) and writes no video summaries.
"""

from __future__ import annotations

from typing import Mapping, Optional

import keras
import tensorflow as tf

from vidpred_tf.models.hierchvid.pose_lstm import PoseLSTM, PoseLSTMConfig
from vidpred_tf.training.optimizers import TF1RMSProp
from vidpred_tf.training.task import OptimizerSpec, Task

SEQ = "seq"
MASK = "mask"
CLIP_NORM = 25.0  # the original's clip_by_global_norm(gradients, 25)


def recons_loss(output: tf.Tensor, seq: tf.Tensor, mask: tf.Tensor, seen_step: int) -> tf.Tensor:
    """``mean(concat([mask, mask]) * (output - seq)^2)`` over the steps after ``seen_step``, dividing by all
    ``B * fut * 2L`` elements."""
    seq = tf.convert_to_tensor(seq, tf.float32)
    mask = tf.convert_to_tensor(mask, tf.float32)
    mask2 = tf.concat([mask, mask], axis=-1)
    return tf.reduce_mean(mask2[:, seen_step:] * tf.square(output[:, seen_step:] - seq[:, seen_step:]))


class PoseLSTMTask(Task):
    """``DET_LSTM`` training: one ``TF1RMSProp`` over every variable, gradients clipped to global norm 25.

    ``predict`` returns the pose sequence ``[B, seen + fut, 2L]`` in [-1, 1] (the original's ``predict``), not
    frames: ``Task.predict``'s ``[B, T, H, W, C]`` frame contract does not apply to this task, and
    ``summary_videos`` is empty (the poses are drawn as heat maps by the paper's workflow).
    """

    name = "hierchvid_lstm"

    def __init__(self, config: PoseLSTMConfig = PoseLSTMConfig(), learning_rate: float = 1e-3,
                 clip_norm: Optional[float] = CLIP_NORM):
        self.config = config
        self.learning_rate = float(learning_rate)
        self.clip_norm = clip_norm

    def build_model(self) -> keras.Model:
        return PoseLSTM(self.config)

    def build_optimizers(self, model):
        return [OptimizerSpec("lstm", TF1RMSProp(self.learning_rate),
                              lambda: list(model.original_variables().values()), "loss",
                              clip_norm=self.clip_norm, clip_mode="global_norm")]

    def future_steps(self, batch: Mapping[str, tf.Tensor]) -> int:
        """The future length of a training batch: its steps after ``seen_step`` (the config's ``fut_step`` when
        the length is not static)."""
        length = tf.convert_to_tensor(batch[SEQ]).shape[1]
        return self.config.fut_step if length is None else int(length) - self.config.seen_step

    def _output(self, model, batch, seed, fut_step=None):
        return model({SEQ: batch[SEQ], MASK: batch[MASK]}, fut_step=fut_step, training=True, seed=seed)

    def train_losses(self, model, batch, step, seed):
        output = self._output(model, batch, seed, self.future_steps(batch))
        return {"loss": recons_loss(output, batch[SEQ], batch[MASK], self.config.seen_step)}

    def predict(self, model, batch, seed: Optional[tf.Tensor] = None) -> tf.Tensor:
        """The pose sequence ``[B, seen + fut, 2L]``: the masked observed steps, then ``fut_step`` predictions
        (the batch's future length when it has one, else the config's)."""
        length = tf.convert_to_tensor(batch[SEQ]).shape[1]
        fut_step = self.future_steps(batch) if length is not None and length > self.config.seen_step else None
        return model({SEQ: batch[SEQ], MASK: batch[MASK]}, fut_step=fut_step, seed=seed)

    def eval_outputs(self, model, batch, seed) -> Mapping[str, tf.Tensor]:
        output = self._output(model, batch, seed, self.future_steps(batch))
        return {"prediction": output, "loss": recons_loss(output, batch[SEQ], batch[MASK], self.config.seen_step)}

    def summary_videos(self, model, batch, seed) -> Mapping[str, tf.Tensor]:
        return {}

    def validate_inputs(self, element_spec, source: str) -> None:
        config = self.config
        missing = [key for key in (SEQ, MASK) if key not in element_spec]
        if missing:
            raise ValueError(f"{source}: pose-LSTM batches need {SEQ!r} [B, T, {config.input_size}] and {MASK!r} "
                             f"[B, T, {config.lm_size}]; missing {missing} (got keys {sorted(element_spec)})")
        seq, mask = tuple(element_spec[SEQ].shape), tuple(element_spec[MASK].shape)
        if len(seq) != 3 or seq[-1] not in (None, config.input_size):
            raise ValueError(f"{source}: {SEQ!r} must be [B, T, {config.input_size}]; got {seq}")
        if len(mask) != 3 or mask[-1] not in (None, config.lm_size) or mask[:2] != seq[:2]:
            raise ValueError(f"{source}: {MASK!r} must be [B, T, {config.lm_size}] with the [B, T] of {SEQ!r} "
                             f"{seq[:2]}; got {mask}")
        if seq[1] is not None and seq[1] <= config.seen_step:
            raise ValueError(f"{source}: {SEQ!r} has {seq[1]} steps; training needs seen_step={config.seen_step} "
                             f"observed steps and at least one future step")
