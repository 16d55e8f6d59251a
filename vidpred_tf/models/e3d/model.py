"""The E3D-LSTM study's networks as one Keras model configured by ``E3DConfig``.

``E3DLSTM(config)`` maps patched frames ``[B, T, w, w, C0]`` and a scheduled-sampling mask
``[B, T-Tin-1, w, w, C0]`` (1 = feed the true frame) to all T-1 predictions ``gen_all`` ``[B, T-1, w, w, C0]``
(prediction k is frame k+1). Without a mask every step after the context feeds back its own prediction (the
original's test mode).

Unrolling (per step t = 0..T-2, window K = 2): the input window is ``[x_{t-1}, x_t]`` (``x_{-1} = 0``); each
layer l updates ``(h_l, c_l)`` from its input, its cell history (all of its previous cell states, for the
attention) and the shared global memory (zeros with the last layer's width, never updated, because the
original's cell returns the memory it was given instead of the new one); the decoder, a Conv3D with kernel and
stride [2, 1, 1], folds the window of its input into one frame.

Sub-layers carry the TF1 names (``3Denc/conv3d``, ``e3d<l>/...``, decoder ``conv3d``), and
``original_variables()`` lists them under their full original names for the checkpoint converter
(:mod:`vidpred_tf.convert.e3d`).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.layers.eidetic import EideticLSTMCell
from vidpred_tf.models.e3d.config import WINDOW_LENGTH, E3DConfig

TF1_PREFIX = "generator/e3d-lstm/"


class FrameEncoder3D(keras.layers.Layer):
    """The "3Denc" of the 2-D models: one Conv3D [2, 5, 5] over the input window, reused at every step."""

    def __init__(self, channels: int, **kwargs):
        kwargs.setdefault("name", "3Denc")
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv3D(channels, (WINDOW_LENGTH, 5, 5), padding="same", name="conv3d")

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.built = True

    def call(self, window):
        return self.conv(window)


@keras.saving.register_keras_serializable(package="vidpred_tf.e3d")
class E3DLSTM(keras.Model):
    """All five ``--model_name`` networks; see the module docstring and ``E3DConfig``."""

    def __init__(self, config: E3DConfig, **kwargs):
        kwargs.setdefault("name", "e3d-lstm")
        super().__init__(**kwargs)
        self.e3d_config = config
        cfg = config
        self.encoder = FrameEncoder3D(cfg.patch_channels) if cfg.has_3d_encoder else None
        # One attribute per layer (not a list): tf.train.Checkpoint does not follow Keras' tracked lists.
        for index, channels in enumerate(cfg.num_hidden):
            setattr(self, f"cell_{index}", EideticLSTMCell(
                filters=channels, kernel_size=cfg.cell_kernel, conv_ndims=cfg.cell_dims,
                eidetic_attention=cfg.eidetic_attention, layer_norm=cfg.layer_norm,
                return_new_memory=cfg.propagate_memory, name=f"e3d{index}"))
        self.decoder = keras.layers.Conv3D(cfg.patch_channels, (WINDOW_LENGTH, 1, 1), strides=(WINDOW_LENGTH, 1, 1),
                                           padding="same", name="conv3d", trainable=cfg.decoder_trainable)

    @property
    def cells(self):
        """The Eidetic LSTM layers, bottom first."""
        return [getattr(self, f"cell_{index}") for index in range(self.e3d_config.num_layers)]

    # Shapes -------------------------------------------------------------------------------------------------

    def _state_spatial(self):
        w = self.e3d_config.patch_width
        return (w, w) if self.e3d_config.cell_dims == 3 else (w * w,)

    def _layer_input_channels(self, index: int) -> int:
        cfg = self.e3d_config
        return cfg.patch_channels if index == 0 else cfg.num_hidden[index - 1]

    def build(self, images_shape=None, real_input_flag_shape=None):
        """Creates every variable from the config alone (``images_shape`` only supplies the batch size).

        Variables are created in the original's order: [3Denc], e3d0, e3d1, ..., decoder.
        """
        cfg = self.e3d_config
        batch = None if images_shape is None else images_shape[0]
        if images_shape is not None and tuple(images_shape[1:]) != cfg.images_shape()[1:]:
            raise ValueError(f"{self.name}: expected patched images [B, {cfg.total_length}, {cfg.patch_width}, "
                             f"{cfg.patch_width}, {cfg.patch_channels}] for this config; got {tuple(images_shape)}")
        w = cfg.patch_width
        window_shape = (batch, WINDOW_LENGTH, w, w, cfg.patch_channels)
        if self.encoder is not None:
            self.encoder.build(window_shape)
        spatial = self._state_spatial()
        memory_shape = (batch, WINDOW_LENGTH) + spatial + (cfg.num_hidden[-1],)
        for index, cell in enumerate(self.cells):
            inputs_shape = (batch, WINDOW_LENGTH) + spatial + (self._layer_input_channels(index),)
            cell.build(inputs_shape, memory_shape=memory_shape)
        self.decoder.build((batch, WINDOW_LENGTH, w, w, cfg.decoder_channels))
        self.built = True

    # Forward ------------------------------------------------------------------------------------------------

    def call(self, images, real_input_flag=None, training=None):
        """``gen_all`` [B, T-1, w, w, C0] from patched ``images`` and the optional sampling mask."""
        cfg = self.e3d_config
        images = tf.convert_to_tensor(images)
        dtype = images.dtype
        batch = tf.shape(images)[0]
        w, channels = cfg.patch_width, cfg.patch_channels
        spatial = list(self._state_spatial())
        expected = cfg.images_shape()[1:]
        if images.shape.rank != 5 or not images.shape[1:].is_compatible_with(expected):
            raise ValueError(f"{self.name}: expected patched images [B, {', '.join(map(str, expected))}] "
                             f"(reshape_patch with patch_size {cfg.patch_size}); got {images.shape}")
        if real_input_flag is not None:
            real_input_flag = tf.cast(real_input_flag, dtype)
            mask_expected = cfg.mask_shape()[1:]
            if real_input_flag.shape.rank != 5 or not real_input_flag.shape[1:].is_compatible_with(mask_expected):
                raise ValueError(f"{self.name}: expected a sampling mask [B, {', '.join(map(str, mask_expected))}]; "
                                 f"got {real_input_flag.shape}")

        def zeros(width):
            return tf.zeros(tf.stack([batch, WINDOW_LENGTH] + spatial + [width]), dtype=dtype)

        hidden = [zeros(c) for c in cfg.num_hidden]
        cell = list(hidden)
        memory = zeros(cfg.num_hidden[-1])
        history = [None] * cfg.num_layers
        previous_frame = tf.zeros(tf.stack([batch, w, w, channels]), dtype=dtype)
        generated = []
        x_gen = None
        for step in range(cfg.total_length - 1):
            if step < cfg.input_length:
                frame = images[:, step]
            elif real_input_flag is None:
                frame = x_gen
            else:
                flag = real_input_flag[:, step - cfg.input_length]
                frame = flag * images[:, step] + (1 - flag) * x_gen
            window = tf.stack([previous_frame, frame], axis=1)
            previous_frame = frame

            for index, layer in enumerate(self.cells):
                if cfg.eidetic_attention:
                    # The history includes the current cell state before the update.
                    history[index] = cell[index] if step == 0 else tf.concat([history[index], cell[index]], 1)
                if index == 0:
                    inputs = window
                    if self.encoder is not None:
                        inputs = tf.reshape(self.encoder(window), tf.stack([batch, WINDOW_LENGTH, w * w, channels]))
                elif index == 2 and cfg.residual_mode == "add_layer2_and_decoder":
                    inputs = hidden[1] + hidden[0]
                else:
                    inputs = hidden[index - 1]
                hidden[index], cell[index], memory = layer(inputs, hidden[index], cell[index], memory,
                                                           history[index])

            x_gen = self._decode(hidden, batch)
            generated.append(x_gen)
        return tf.stack(generated, axis=1)

    def _decode(self, hidden, batch):
        cfg = self.e3d_config
        mode = cfg.residual_mode
        if mode == "add_layer2_and_decoder":
            decoder_input = hidden[-1] + hidden[-2] if len(hidden) > 1 else hidden[0] + hidden[0]
        elif mode == "add_all":
            decoder_input = tf.add_n(hidden)
        elif mode == "concat_all":
            decoder_input = tf.concat(hidden, axis=-1)
        else:
            decoder_input = hidden[-1]
        if cfg.cell_dims == 2:
            w = cfg.patch_width
            decoder_input = tf.reshape(decoder_input, tf.stack([batch, WINDOW_LENGTH, w, w, cfg.decoder_channels]))
        return tf.squeeze(self.decoder(decoder_input), axis=1)

    # Variables ----------------------------------------------------------------------------------------------

    def original_variables(self, prefix: str = TF1_PREFIX) -> Dict[str, keras.Variable]:
        """Original TF1 name -> variable, for every model variable, in the original creation order."""
        if not self.built:
            self.build()
        table = {}
        if self.encoder is not None:
            table[f"{prefix}3Denc/conv3d/kernel"] = self.encoder.conv.kernel
            table[f"{prefix}3Denc/conv3d/bias"] = self.encoder.conv.bias
        for layer in self.cells:
            for name, variable in layer.original_variables().items():
                table[f"{prefix}{layer.name}/{name}"] = variable
        table[f"{prefix}conv3d/kernel"] = self.decoder.kernel
        table[f"{prefix}conv3d/bias"] = self.decoder.bias
        return table

    def parameter_count(self, trainable_only: bool = False) -> int:
        """Number of scalars in the model variables (the original's P, not its 3P+1 printout)."""
        variables = self.original_variables().values()
        return int(sum(np.prod(v.shape) for v in variables if v.trainable or not trainable_only))

    def decoder_parameter_fraction(self) -> float:
        """Percentage of the model parameters in the decoder (the original also counted EMA shadows)."""
        decoder = int(np.prod(self.decoder.kernel.shape) + np.prod(self.decoder.bias.shape))
        return 100.0 * decoder / self.parameter_count()

    def get_config(self):
        return {"name": self.name, "e3d_config": dataclasses.asdict(self.e3d_config)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(E3DConfig(**config.pop("e3d_config")), **config)


def build_model(config: E3DConfig, batch_size: Optional[int] = None) -> E3DLSTM:
    """An ``E3DLSTM`` with all variables created (nothing is run)."""
    model = E3DLSTM(config)
    model.build(config.images_shape(batch_size))
    return model


def output_frames(gen_all, config: E3DConfig):
    """The predicted future frames ``gen_all[:, -(T - Tin):]`` (the original's ``pred_seq``)."""
    return gen_all[:, -config.output_length:]
