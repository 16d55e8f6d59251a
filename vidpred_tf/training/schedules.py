"""Learning-rate and loss-weight schedules as functions of the global step.

The LR schedules are Keras ``LearningRateSchedule``s (the optimiser calls them with its own iteration count,
which the trainer keeps equal to the global step). Loss-weight schedules are plain callables ``step -> value``
used inside ``Task.train_losses``. All of them accept a tensor step and work inside ``tf.function``.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf


def _as_float(step) -> tf.Tensor:
    return tf.cast(step, tf.float32)


def linear_ramp(step, start_step: int, end_step: int, start_value: float, end_value: float) -> tf.Tensor:
    """``start_value`` until ``start_step``, then linearly to ``end_value`` at ``end_step``, then constant."""
    step = _as_float(step)
    if end_step <= start_step:
        return tf.where(step < start_step, start_value, end_value)
    fraction = tf.clip_by_value((step - start_step) / float(end_step - start_step), 0.0, 1.0)
    return start_value + fraction * (end_value - start_value)


def sigmoid_ramp(step, midpoint: float, steepness: float, max_value: float = 1.0) -> tf.Tensor:
    """``max_value * sigmoid(steepness * (step - midpoint))``: the KL annealing shape of SV2P/SAVP."""
    return max_value * tf.sigmoid(steepness * (_as_float(step) - midpoint))


def piecewise_constant(step, boundaries: Sequence[int], values: Sequence[float]) -> tf.Tensor:
    """``values[i]`` for ``boundaries[i-1] <= step < boundaries[i]``; ``len(values) == len(boundaries) + 1``."""
    if len(values) != len(boundaries) + 1:
        raise ValueError(f"piecewise_constant needs len(values) == len(boundaries) + 1; "
                         f"got {len(values)} values for {len(boundaries)} boundaries")
    step = _as_float(step)
    index = tf.reduce_sum(tf.cast(step >= tf.constant(boundaries, tf.float32), tf.int32))
    return tf.gather(tf.constant(values, tf.float32), index)


@keras.saving.register_keras_serializable(package="vidpred_tf")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant ``initial`` until ``start_step``, linear to ``final`` at ``end_step`` (SAVP's ``decay_steps``)."""

    def __init__(self, initial: float, final: float, start_step: int, end_step: int):
        self.initial, self.final = float(initial), float(final)
        self.start_step, self.end_step = int(start_step), int(end_step)

    def __call__(self, step):
        return linear_ramp(step, self.start_step, self.end_step, self.initial, self.final)

    def get_config(self):
        return {"initial": self.initial, "final": self.final,
                "start_step": self.start_step, "end_step": self.end_step}


@keras.saving.register_keras_serializable(package="vidpred_tf")
class PiecewiseConstant(keras.optimizers.schedules.LearningRateSchedule):
    """Step-wise constant learning rate (also used for per-epoch schedules with boundaries in steps)."""

    def __init__(self, boundaries: Sequence[int], values: Sequence[float]):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstant needs one more value than boundaries; "
                             f"got {len(values)} values, {len(boundaries)} boundaries")
        self.boundaries, self.values = [int(b) for b in boundaries], [float(v) for v in values]

    def __call__(self, step):
        return piecewise_constant(step, self.boundaries, self.values)

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values}
