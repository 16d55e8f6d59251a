"""A small deterministic ConvLSTM encoder-decoder next-frame predictor.

The common deterministic baseline of the ported papers (SAVP's and MSPred's deterministic ablations, the
ConvLSTM rows of the E3D and PredRNN tables): a strided-conv encoder, a stack of ConvLSTM cells at 1/4
resolution, a transposed-conv decoder, trained on next-frame MSE with the ground truth fed during the context
and its own predictions afterwards.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import keras
from keras import ops

from vidpred_tf.layers.conv_lstm import ConvLSTMCell


@dataclasses.dataclass
class ConvLSTMConfig:
    image_size: int = 64
    channels: int = 1
    context_frames: int = 10
    encoder_filters: Sequence[int] = (8, 16, 32)
    lstm_filters: Sequence[int] = (32,)
    kernel_size: int = 3


def unroll(images, ground_truth: int, step, states):
    """The next-frame rollout of the baseline models: ``step(frame, previous_frame, states) -> (prediction,
    states)`` for ``t = 0 .. T-2``, reading ``images[:, t]`` while ``t < ground_truth`` and the step's own
    prediction after that; returns the predictions ``[B, T-1, ...]``."""
    predictions = []
    previous = frame = images[:, 0]
    for t in range(images.shape[1] - 1):
        if t < ground_truth:
            frame = images[:, t]
        prediction, states = step(frame, previous, states)
        predictions.append(prediction)
        previous, frame = frame, prediction
    return ops.stack(predictions, axis=1)


class ConvLSTMPredictor(keras.Model):
    """``model(images [B, T, H, W, C])`` -> next-frame predictions ``[B, T-1, H, W, C]`` in [0, 1].

    Prediction ``t`` (for frame ``t+1``) sees ground-truth frames up to ``min(t, context_frames-1)`` and the
    model's own earlier predictions after that, in training as in testing.
    """

    def __init__(self, config: ConvLSTMConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.encoder = [keras.layers.Conv2D(f, config.kernel_size, strides=2, padding="same",
                                            activation="relu", name=f"encoder_{i}")
                        for i, f in enumerate(config.encoder_filters)]
        self.cells = [ConvLSTMCell(f, config.kernel_size, name=f"convlstm_{i}")
                      for i, f in enumerate(config.lstm_filters)]
        decoder_filters = list(reversed(config.encoder_filters[:-1])) + [config.channels]
        self.decoder = [keras.layers.Conv2DTranspose(
            f, config.kernel_size, strides=2, padding="same",
            activation=None if i == len(decoder_filters) - 1 else "relu", name=f"decoder_{i}")
            for i, f in enumerate(decoder_filters)]

    def build(self, input_shape):
        batch, _, height, width, channels = input_shape
        shape = (batch, height, width, channels)
        for layer in self.encoder:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        for cell in self.cells:
            cell.build(shape)
            shape = shape[:3] + (cell.filters,)
        for layer in self.decoder:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def _step(self, frame, states):
        x = frame
        for layer in self.encoder:
            x = layer(x)
        new_states = []
        for cell, state in zip(self.cells, states):
            x, state = cell(x, state)
            new_states.append(state)
        for layer in self.decoder:
            x = layer(x)
        return ops.sigmoid(x), new_states

    def call(self, images, training=False, ground_truth_frames=None):
        """``ground_truth_frames``: how many leading frames are read from ``images`` (default: the config's
        ``context_frames``); the steps after them take the model's own predictions."""
        ground_truth = self.config.context_frames if ground_truth_frames is None else ground_truth_frames
        batch = ops.shape(images)[0]
        factor = 2 ** len(self.encoder)
        height, width = images.shape[2] // factor, images.shape[3] // factor
        states = [cell.initial_state(batch, height, width, dtype=images.dtype) for cell in self.cells]
        return unroll(images, ground_truth, lambda frame, previous, states: self._step(frame, states), states)
