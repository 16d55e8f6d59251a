"""A ConvLSTM that predicts motion instead of pixels: per-pixel DNA kernels (Finn et al. 2016) applied to the
last frame.

The demo's model. It starts as copy-last-frame (the kernels' centre tap is favoured at initialisation), so its
first predictions are already sharp, and training only has to learn where the content goes; on Moving MNIST
that is a few pixels per frame, inside the ``kernel_size`` window (9: up to 4 pixels per frame, the most a
digit of the generator moves along an axis). The encoder sees the frame and its difference from the previous
one, so velocity is visible from the first step; the kernels are predicted at half resolution (motion is
constant over a digit) and shared by 2x2 pixels. By default a kernel is separable (row taps times column taps,
:func:`~vidpred_tf.layers.pixel_kernels.apply_separable_pixel_kernels`): on a 2-core CPU a training step is 2.4x
faster than with full 9x9 kernels for the same whole-pixel translations (``scripts/bench_baseline.py --kernels
both``). Trained on the mean absolute error (``NextFrameTask(loss="l1")``, as the demo does), the kernels stay on
one place per digit instead of blurring over the places it may be.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import keras
import numpy as np
from keras import ops

from vidpred_tf.layers.conv_lstm import ConvLSTMCell
from vidpred_tf.layers.pixel_kernels import apply_pixel_kernels, apply_separable_pixel_kernels, extract_windows
from vidpred_tf.models.baseline.convlstm import unroll


@dataclasses.dataclass
class DNAConfig:
    image_size: int = 64
    channels: int = 1
    context_frames: int = 10
    encoder_filters: Sequence[int] = (16, 32)
    lstm_filters: Sequence[int] = (32,)
    kernel_size: int = 9
    # Initial logit of the centre tap against 0 for the others: with 6.5 and 9 taps per axis the centre holds 99 %
    # of each separable kernel (98 % of their product), so the untrained model nearly copies the last frame.
    centre_bias: float = 6.5
    # Separable kernels (a row kernel times a column kernel, 2k taps to predict and apply instead of k*k): the
    # same whole-pixel translations at a fraction of the cost; False applies full k x k kernels.
    separable: bool = True
    # Motion evidence beside the first encoder features: the correlation of the frame with the previous one
    # shifted by every offset of a motion_window x motion_window window, at half resolution (5: up to 4 pixels
    # of the full frame). Where content moved by v, the channel of offset -v lights up, the tap its kernel
    # needs: the network has to learn to pass that on, not to discover motion. 0 leaves it out.
    motion_window: int = 5


def _centre_bias(config: "DNAConfig", taps: int):
    """Bias of the kernel logits: ``centre_bias`` on the centre tap (of both axes when separable), 0 elsewhere."""
    def initializer(shape, dtype=None):
        bias = np.zeros(shape, np.float32)
        if config.separable:
            bias[config.kernel_size // 2] = bias[config.kernel_size + config.kernel_size // 2] = config.centre_bias
        else:
            bias[taps // 2] = config.centre_bias
        return ops.convert_to_tensor(bias, dtype=dtype)
    return initializer


class DNAPredictor(keras.Model):
    """``model(images [B, T, H, W, C])`` -> next-frame predictions ``[B, T-1, H, W, C]`` in the range of the input.

    As :class:`~vidpred_tf.models.baseline.convlstm.ConvLSTMPredictor`: prediction ``t`` sees ground truth up
    to ``min(t, context_frames - 1)`` and its own predictions after that, in training as in testing (unless
    ``call(..., ground_truth_frames=T)`` reads every real frame: ``NextFrameTask(teacher_forcing=True)``).
    """

    def __init__(self, config: DNAConfig, **kwargs):
        super().__init__(**kwargs)
        if config.image_size % (2 ** len(config.encoder_filters)):
            raise ValueError(f"image_size {config.image_size} must be divisible by 2**{len(config.encoder_filters)}")
        self.config = config
        self.encoder = [keras.layers.Conv2D(f, 3, strides=2, padding="same", activation="relu",
                                            name=f"encoder_{i}") for i, f in enumerate(config.encoder_filters)]
        self.cells = [ConvLSTMCell(f, 3, name=f"convlstm_{i}") for i, f in enumerate(config.lstm_filters)]
        # Back up to half resolution, with the encoder's features of that scale beside it (a U-Net skip).
        self.decoder = [keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu",
                                                     name=f"decoder_{i}")
                        for i, f in enumerate(reversed(config.encoder_filters[:-1]))]
        taps = 2 * config.kernel_size if config.separable else config.kernel_size * config.kernel_size
        self.kernel_logits = keras.layers.Conv2D(taps, 1, name="kernel_logits",
                                                 kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3),
                                                 bias_initializer=_centre_bias(config, taps))

    def build(self, input_shape):
        batch, _, height, width, channels = input_shape
        shape = (batch, height, width, 2 * channels)
        skips = []
        for index, layer in enumerate(self.encoder):
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
            if index == 0:
                shape = tuple(shape[:3]) + (shape[3] + self.config.motion_window ** 2,)
            skips.append(shape)
        for cell in self.cells:
            cell.build(shape)
            shape = tuple(shape[:3]) + (cell.filters,)
        for layer, skip in zip(self.decoder, reversed(skips[:-1])):
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
            shape = tuple(shape[:3]) + (shape[3] + skip[3],)
        self.kernel_logits.build(shape)
        self.built = True

    def _motion_correlation(self, frame, previous):
        """``[B, H/2, W/2, m*m]``: per offset of the window, the product of the half-resolution frame with the
        previous one shifted by it, summed over channels."""
        half_frame = ops.average_pool(frame, 2, strides=2)
        half_previous = ops.average_pool(previous, 2, strides=2)
        windows = extract_windows(half_previous, self.config.motion_window)
        return ops.sum(windows * half_frame[..., None], axis=3)

    def _step(self, frame, previous, states):
        x = ops.concatenate([frame, frame - previous], axis=-1)
        skips = []
        for index, layer in enumerate(self.encoder):
            x = layer(x)
            if index == 0 and self.config.motion_window:
                x = ops.concatenate([x, self._motion_correlation(frame, previous)], axis=-1)
            skips.append(x)
        new_states = []
        for cell, state in zip(self.cells, states):
            x, state = cell(x, state)
            new_states.append(state)
        for layer, skip in zip(self.decoder, reversed(skips[:-1])):
            x = ops.concatenate([layer(x), skip], axis=-1)
        logits = self.kernel_logits(x)
        parts = ops.split(logits, 2, axis=-1) if self.config.separable else [logits]
        # Normalised at half resolution, then shared by each 2x2 block of pixels.
        kernels = [ops.repeat(ops.repeat(ops.softmax(part, axis=-1), 2, axis=1), 2, axis=2) for part in parts]
        if self.config.separable:
            return apply_separable_pixel_kernels(frame, *kernels), new_states
        return apply_pixel_kernels(frame, kernels[0]), new_states

    def call(self, images, training=False, ground_truth_frames=None):
        """``ground_truth_frames``: how many leading frames are read from ``images`` (default: the config's
        ``context_frames``); the steps after them take the model's own predictions."""
        ground_truth = self.config.context_frames if ground_truth_frames is None else ground_truth_frames
        batch = ops.shape(images)[0]
        factor = 2 ** len(self.encoder)
        height, width = images.shape[2] // factor, images.shape[3] // factor
        states = [cell.initial_state(batch, height, width, dtype=images.dtype) for cell in self.cells]
        return unroll(images, ground_truth, self._step, states)
