"""A convolutional LSTM cell (Shi et al. 2015) stepped by hand, so that models can unroll it frame by frame
and feed their own predictions back (the recurrent layers of Keras run over a whole given sequence)."""

from __future__ import annotations

import keras
from keras import ops


class ConvLSTMCell(keras.layers.Layer):
    """One ConvLSTM step: a single convolution over ``concat(x, h)`` gives the four gates.

    Gate order along the channel axis is input, forget, candidate, output; the forget gate gets
    ``forget_bias`` added before the sigmoid (as TF1's ``BasicConvLSTMCell``-style cells did), so a fresh
    cell starts out remembering. Converters of other codebases reorder their gates to this order.

    Call: ``h, (h, c) = cell(x, (h, c))`` with ``x [B, H, W, C_in]`` and states ``[B, H, W, filters]``.
    """

    def __init__(self, filters: int, kernel_size=3, forget_bias: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.forget_bias = forget_bias
        self.gates = keras.layers.Conv2D(4 * filters, kernel_size, padding="same", name="gates")

    def build(self, input_shape):
        height, width, channels = input_shape[1], input_shape[2], input_shape[3]
        self.gates.build((input_shape[0], height, width, channels + self.filters))
        self.built = True

    def initial_state(self, batch_size, height, width, dtype="float32"):
        zeros = ops.zeros((batch_size, height, width, self.filters), dtype=dtype)
        return zeros, zeros

    def call(self, inputs, state):
        hidden, cell = state
        gates = self.gates(ops.concatenate([inputs, hidden], axis=-1))
        input_gate, forget_gate, candidate, output_gate = ops.split(gates, 4, axis=-1)
        cell = (ops.sigmoid(forget_gate + self.forget_bias) * cell
                + ops.sigmoid(input_gate) * ops.tanh(candidate))
        hidden = ops.sigmoid(output_gate) * ops.tanh(cell)
        return hidden, (hidden, cell)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "kernel_size": self.kernel_size,
                       "forget_bias": self.forget_bias})
        return config
