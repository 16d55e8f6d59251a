"""Inception-v1 Inflated 3D ConvNet (I3D, Carreira & Zisserman 2017), RGB stream, as a Keras 3 model.

Layout follows deepmind/kinetics-i3d ``i3d.py`` so that every variable maps 1:1 onto the original's names:

* a ``Unit3D`` layer named like the original scope (``Conv3d_1a_7x7``) holds ``conv_3d`` (Conv3D, SAME
  padding, no bias except the logits) and ``batch_norm`` (offset only, no scale; epsilon 1e-3, decay 0.999,
  as Sonnet's BatchNorm) followed by ReLU;
* a ``MixedBlock`` (``Mixed_3b`` ...) holds four ``Branch`` layers (``Branch_0`` .. ``Branch_3``); Branch_3
  starts with a 3x3x3 stride-1 max pool;
* the ``Logits`` head averages 2x7x7 (VALID), applies a 1x1x1 convolution with bias to ``num_classes``,
  squeezes the spatial axes and averages over time (the original's ``RGB/inception_i3d/Mean``, which the
  FVD uses as its embedding).

Inputs are NDHWC ``[batch, frames, 224, 224, 3]`` in [-1, 1]. The spatial squeeze of the faithful head needs
a 7x7 map after ``Mixed_5c``, i.e. 193..224 pixels; other sizes can stop at an earlier ``final_endpoint``.
Keras paths mirror the original scopes: ``inception_i3d/Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/kernel`` is
``RGB/inception_i3d/Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/w`` (``original_variables`` gives that mapping).
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import keras
import tensorflow as tf

VALID_ENDPOINTS = (
    "Conv3d_1a_7x7",
    "MaxPool3d_2a_3x3",
    "Conv3d_2b_1x1",
    "Conv3d_2c_3x3",
    "MaxPool3d_3a_3x3",
    "Mixed_3b",
    "Mixed_3c",
    "MaxPool3d_4a_3x3",
    "Mixed_4b",
    "Mixed_4c",
    "Mixed_4d",
    "Mixed_4e",
    "Mixed_4f",
    "MaxPool3d_5a_2x2",
    "Mixed_5b",
    "Mixed_5c",
    "Logits",
    "Predictions",
)

# Output channels of the four branches: (Branch_0 1x1, Branch_1 1x1 -> 3x3, Branch_2 1x1 -> 3x3, Branch_3 1x1).
MIXED_CHANNELS = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}

# The original names the second convolution of Mixed_5b's Branch_2 "Conv3d_0a_3x3" (every other block says
# "Conv3d_0b_3x3"); the published checkpoints carry that name, so the port keeps it.
BRANCH_2_SECOND_CONV = {"Mixed_5b": "Conv3d_0a_3x3"}

# Parameters of the original RGB network with 400 classes, counted from the published checkpoint's
# variables: weights, logits bias and batch-norm offsets are trainable, moving statistics are not.
ORIGINAL_TRAINABLE_PARAMS = 12_689_984
ORIGINAL_TOTAL_PARAMS = 12_704_544

_BN_EPSILON = 1e-3
_BN_MOMENTUM = 0.999


class Unit3D(keras.layers.Layer):
    """Conv3D (SAME) + optional offset-only batch norm + optional ReLU, as the original's ``Unit3D``."""

    def __init__(self, output_channels: int, kernel_shape: Sequence[int] = (1, 1, 1),
                 stride: Sequence[int] = (1, 1, 1), activation: Optional[str] = "relu",
                 use_batch_norm: bool = True, use_bias: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.output_channels = int(output_channels)
        self.conv_3d = keras.layers.Conv3D(
            self.output_channels, tuple(kernel_shape), strides=tuple(stride), padding="same",
            use_bias=use_bias, name="conv_3d")
        self.batch_norm = (keras.layers.BatchNormalization(
            axis=-1, momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON, center=True, scale=False, name="batch_norm")
            if use_batch_norm else None)
        self.activation = keras.activations.get(activation) if activation else None

    def call(self, inputs, training=False):
        net = self.conv_3d(inputs)
        if self.batch_norm is not None:
            net = self.batch_norm(net, training=training)
        if self.activation is not None:
            net = self.activation(net)
        return net

    def original_variables(self, scope: str) -> Dict[str, tf.Variable]:
        """``original name -> variable`` under ``scope`` (the unit's own original scope)."""
        names = {f"{scope}/conv_3d/w": self.conv_3d.kernel}
        if self.conv_3d.use_bias:
            names[f"{scope}/conv_3d/b"] = self.conv_3d.bias
        if self.batch_norm is not None:
            names[f"{scope}/batch_norm/beta"] = self.batch_norm.beta
            names[f"{scope}/batch_norm/moving_mean"] = self.batch_norm.moving_mean
            names[f"{scope}/batch_norm/moving_variance"] = self.batch_norm.moving_variance
        return names


class Branch(keras.layers.Layer):
    """One branch of a mixed block: an optional stride-1 3x3x3 max pool, then ``Unit3D`` layers in order."""

    def __init__(self, units: Sequence[Unit3D], pool_first: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.pool = (keras.layers.MaxPooling3D((3, 3, 3), strides=(1, 1, 1), padding="same",
                                               name="MaxPool3d_0a_3x3") if pool_first else None)
        self.units = list(units)

    def call(self, inputs, training=False):
        net = inputs if self.pool is None else self.pool(inputs)
        for unit in self.units:
            net = unit(net, training=training)
        return net

    def original_variables(self, scope: str) -> Dict[str, tf.Variable]:
        names = {}
        for unit in self.units:
            names.update(unit.original_variables(f"{scope}/{unit.name}"))
        return names


class MixedBlock(keras.layers.Layer):
    """Inception block: four branches concatenated on channels."""

    def __init__(self, channels: Tuple[int, int, int, int, int, int], branch_2_second_conv: str = "Conv3d_0b_3x3",
                 **kwargs):
        super().__init__(**kwargs)
        b0, b1a, b1b, b2a, b2b, b3 = channels
        self.branch_0 = Branch([Unit3D(b0, name="Conv3d_0a_1x1")], name="Branch_0")
        self.branch_1 = Branch([Unit3D(b1a, name="Conv3d_0a_1x1"),
                                Unit3D(b1b, (3, 3, 3), name="Conv3d_0b_3x3")], name="Branch_1")
        self.branch_2 = Branch([Unit3D(b2a, name="Conv3d_0a_1x1"),
                                Unit3D(b2b, (3, 3, 3), name=branch_2_second_conv)], name="Branch_2")
        self.branch_3 = Branch([Unit3D(b3, name="Conv3d_0b_1x1")], pool_first=True, name="Branch_3")
        self.output_channels = b0 + b1b + b2b + b3

    @property
    def branches(self) -> List[Branch]:
        return [self.branch_0, self.branch_1, self.branch_2, self.branch_3]

    def call(self, inputs, training=False):
        return tf.concat([branch(inputs, training=training) for branch in self.branches], axis=-1)

    def original_variables(self, scope: str) -> Dict[str, tf.Variable]:
        names = {}
        for branch in self.branches:
            names.update(branch.original_variables(f"{scope}/{branch.name}"))
        return names


class LogitsHead(keras.layers.Layer):
    """2x7x7 VALID average pool, dropout, 1x1x1 conv with bias (no BN, no ReLU), spatial squeeze, time mean."""

    def __init__(self, num_classes: int, spatial_squeeze: bool = True, dropout_rate: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.spatial_squeeze = spatial_squeeze
        self.pool = keras.layers.AveragePooling3D((2, 7, 7), strides=(1, 1, 1), padding="valid", name="AvgPool3D")
        self.dropout = keras.layers.Dropout(dropout_rate) if dropout_rate > 0 else None
        self.conv = Unit3D(num_classes, activation=None, use_batch_norm=False, use_bias=True,
                           name="Conv3d_0c_1x1")

    def call(self, inputs, training=False):
        time, height, width = inputs.shape[1:4]
        if (time is not None and time < 2) or (height is not None and height < 7) or (
                width is not None and width < 7):
            raise ValueError(
                f"I3D Logits: Mixed_5c output {tuple(inputs.shape)} is smaller than the 2x7x7 average pool; "
                f"the network expects 224x224 frames and at least 9 frames (16 for FVD)")
        net = self.pool(inputs)
        if self.dropout is not None:
            net = self.dropout(net, training=training)
        logits = self.conv(net, training=training)
        if self.spatial_squeeze:
            if logits.shape[2] not in (1, None) or logits.shape[3] not in (1, None):
                raise ValueError(
                    f"I3D Logits: the spatial squeeze needs a 1x1 map after the 7x7 pool, got "
                    f"{tuple(logits.shape[2:4])}: resize frames to 224x224 (preprocess_for_i3d does)")
            logits = tf.squeeze(logits, axis=[2, 3])
        return tf.reduce_mean(logits, axis=1)

    def original_variables(self, scope: str) -> Dict[str, tf.Variable]:
        return self.conv.original_variables(f"{scope}/{self.conv.name}")


class InceptionI3d(keras.Model):
    """I3D RGB stream; ``call`` returns the output at ``final_endpoint`` (default: the time-averaged logits)."""

    def __init__(self, num_classes: int = 400, final_endpoint: str = "Logits", spatial_squeeze: bool = True,
                 dropout_rate: float = 0.0, name: str = "inception_i3d", **kwargs):
        if final_endpoint not in VALID_ENDPOINTS:
            raise ValueError(f"unknown I3D final_endpoint {final_endpoint!r}; valid: {', '.join(VALID_ENDPOINTS)}")
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.final_endpoint = final_endpoint
        stop = VALID_ENDPOINTS.index(final_endpoint)
        stages = []
        for endpoint in VALID_ENDPOINTS[:stop + 1]:
            if endpoint == "Predictions":
                stages.append((endpoint, None))  # softmax only, no weights
            else:
                stages.append((endpoint, self._make_stage(endpoint, spatial_squeeze, dropout_rate)))
        self._stage_names = [endpoint for endpoint, _ in stages]
        self.stages = [layer for _, layer in stages if layer is not None]

    def _make_stage(self, endpoint: str, spatial_squeeze: bool, dropout_rate: float) -> keras.layers.Layer:
        if endpoint == "Conv3d_1a_7x7":
            return Unit3D(64, (7, 7, 7), stride=(2, 2, 2), name=endpoint)
        if endpoint == "Conv3d_2b_1x1":
            return Unit3D(64, (1, 1, 1), name=endpoint)
        if endpoint == "Conv3d_2c_3x3":
            return Unit3D(192, (3, 3, 3), name=endpoint)
        if endpoint in ("MaxPool3d_2a_3x3", "MaxPool3d_3a_3x3"):
            return keras.layers.MaxPooling3D((1, 3, 3), strides=(1, 2, 2), padding="same", name=endpoint)
        if endpoint == "MaxPool3d_4a_3x3":
            return keras.layers.MaxPooling3D((3, 3, 3), strides=(2, 2, 2), padding="same", name=endpoint)
        if endpoint == "MaxPool3d_5a_2x2":
            return keras.layers.MaxPooling3D((2, 2, 2), strides=(2, 2, 2), padding="same", name=endpoint)
        if endpoint in MIXED_CHANNELS:
            return MixedBlock(MIXED_CHANNELS[endpoint],
                              branch_2_second_conv=BRANCH_2_SECOND_CONV.get(endpoint, "Conv3d_0b_3x3"),
                              name=endpoint)
        if endpoint == "Logits":
            return LogitsHead(self.num_classes, spatial_squeeze=spatial_squeeze, dropout_rate=dropout_rate,
                              name=endpoint)
        raise ValueError(f"no I3D stage named {endpoint!r}")

    def _check_input(self, inputs):
        shape = inputs.shape
        if len(shape) != 5 or shape[-1] not in (3, None):
            raise ValueError(f"I3D expects RGB videos [batch, frames, height, width, 3], got shape {tuple(shape)}")

    def endpoints(self, inputs, training=False, up_to: Optional[str] = None) -> Dict[str, tf.Tensor]:
        """Every endpoint up to ``final_endpoint`` (or the earlier ``up_to``), by the original's names."""
        if up_to is not None and up_to not in self._stage_names:
            raise ValueError(f"I3D endpoint {up_to!r} is not built in this model (final_endpoint "
                             f"{self.final_endpoint!r})")
        inputs = tf.convert_to_tensor(inputs, dtype=self.compute_dtype)
        self._check_input(inputs)
        outputs = {}
        net = inputs
        layers = iter(self.stages)
        for endpoint in self._stage_names:
            if endpoint == "Predictions":
                net = tf.nn.softmax(net)
            else:
                layer = next(layers)
                if isinstance(layer, (Unit3D, MixedBlock, LogitsHead)):
                    net = layer(net, training=training)
                else:
                    net = layer(net)
            outputs[endpoint] = net
            if endpoint == up_to:
                break
        return outputs

    def call(self, inputs, training=False):
        return self.endpoints(inputs, training=training)[self.final_endpoint]

    def original_variables(self, scope: str = "RGB/inception_i3d") -> Dict[str, tf.Variable]:
        """``original TF1 name -> variable`` for every weight of the built model."""
        if not self.built:
            raise ValueError("build the I3D model (call it once or use build_i3d) before mapping its variables")
        names = {}
        for layer in self.stages:
            if hasattr(layer, "original_variables"):
                names.update(layer.original_variables(f"{scope}/{layer.name}"))
        return names


def build_i3d(num_classes: int = 400, final_endpoint: str = "Logits", num_frames: Optional[int] = None,
              image_size: int = 224, **kwargs) -> InceptionI3d:
    """An ``InceptionI3d`` with its variables created (symbolic build, no computation)."""
    model = InceptionI3d(num_classes=num_classes, final_endpoint=final_endpoint, **kwargs)
    # A symbolic call creates every variable without running the network.
    model(keras.KerasTensor((1, num_frames if num_frames is not None else 16, image_size, image_size, 3)))
    return model


def load_i3d_weights(path, num_classes: int = 400) -> InceptionI3d:
    """A built ``InceptionI3d`` holding the port's weights file ``path`` (``.weights.h5``). The original sources
    (the TF-Hub module, kinetics-i3d checkpoints) are read by :mod:`vidpred_tf.convert.i3d`."""
    path = os.fspath(path)
    if not path.endswith(".weights.h5"):
        raise ValueError(f"I3D weights {path}: expected the port's .weights.h5 (convert the TF-Hub module or a "
                         f"kinetics-i3d checkpoint with: vidpred convert i3d --checkpoint SRC --output W.weights.h5)")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"I3D weights {path} not found")
    model = build_i3d(num_classes=num_classes)
    model.load_weights(path)
    return model
