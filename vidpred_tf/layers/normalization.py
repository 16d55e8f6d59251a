"""The normalisation layers SAVP's ``norm_layer`` hparams choose from, with TF1's variable names.

* ``InstanceNorm`` (``layers.fused_instance_norm``): per sample and channel, mean and biased variance over every
  axis but the first and the last; ``gamma * (x - mean) / sqrt(var + eps) + beta``. The original asks for
  eps=1e-6, but TF1's ``fused_batch_norm`` raised any eps below 1.001e-5 to 1.001e-5, so that is the default.
  Variables ``InstanceNorm/beta`` then ``InstanceNorm/gamma`` (the conv-LSTM creates its own gamma first).
* ``LayerNorm`` (``tf.contrib.layers.layer_norm``): moments over every axis but the first, parameters over the
  last; eps 1e-12; ``LayerNorm/beta``, ``LayerNorm/gamma``.
* ``BatchNorm`` (``tf.layers.batch_normalization`` as the original calls it, i.e. with ``training=False``: it
  always normalises with the moving statistics, which nothing updates); eps 1e-3;
  ``batch_normalization/{gamma, beta, moving_mean, moving_variance}``.
* ``'none'``: identity.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import keras
import tensorflow as tf

TF1_FUSED_EPSILON = 1.001e-5


def instance_norm(inputs, gamma=None, beta=None, epsilon: float = TF1_FUSED_EPSILON):
    """Functional instance norm over the axes between the first and the last."""
    inputs = tf.convert_to_tensor(inputs)
    axes = list(range(1, inputs.shape.rank - 1))
    mean, variance = tf.nn.moments(inputs, axes=axes, keepdims=True)
    outputs = (inputs - mean) * tf.math.rsqrt(variance + epsilon)
    if gamma is not None:
        outputs = outputs * gamma
    if beta is not None:
        outputs = outputs + beta
    return outputs


class _Norm(keras.layers.Layer):
    def __init__(self, scope: str, **kwargs):
        super().__init__(**kwargs)
        self.scope = scope
        self._tf1: List[Tuple[str, keras.Variable]] = []

    def _make(self, name, channels, initializer, trainable=True):
        variable = self.add_weight(name=name, shape=(int(channels),), initializer=initializer, trainable=trainable)
        self._tf1.append((f"{self.scope}/{name}" if self.scope else name, variable))
        return variable

    def tf1_variables(self):
        return list(self._tf1)


class InstanceNorm(_Norm):
    """Fused instance norm; ``order`` is the creation order of the two variables (the original's layer makes
    beta first; ``BasicConv2DLSTMCell`` makes gamma first)."""

    def __init__(self, scope: str = "InstanceNorm", epsilon: float = TF1_FUSED_EPSILON,
                 order=("beta", "gamma"), gamma_init: float = 1.0, beta_init: float = 0.0, **kwargs):
        super().__init__(scope, **kwargs)
        self.epsilon, self.order = epsilon, tuple(order)
        self.inits = {"gamma": keras.initializers.Constant(gamma_init), "beta": keras.initializers.Constant(beta_init)}

    def build(self, input_shape):
        for name in self.order:
            setattr(self, name, self._make(name, input_shape[-1], self.inits[name]))
        self.built = True

    def call(self, inputs):
        return instance_norm(inputs, self.gamma, self.beta, self.epsilon)


class LayerNorm(_Norm):
    """contrib ``layer_norm``: moments over all axes but the batch axis, scale and shift per channel."""

    def __init__(self, scope: str = "LayerNorm", epsilon: float = 1e-12, order=("beta", "gamma"),
                 gamma_init: float = 1.0, beta_init: float = 0.0, **kwargs):
        super().__init__(scope, **kwargs)
        self.epsilon, self.order = epsilon, tuple(order)
        self.inits = {"gamma": keras.initializers.Constant(gamma_init), "beta": keras.initializers.Constant(beta_init)}

    def build(self, input_shape):
        for name in self.order:
            setattr(self, name, self._make(name, input_shape[-1], self.inits[name]))
        self.built = True

    def call(self, inputs):
        axes = list(range(1, inputs.shape.rank))
        mean, variance = tf.nn.moments(inputs, axes=axes, keepdims=True)
        return tf.nn.batch_normalization(inputs, mean, variance, self.beta, self.gamma, self.epsilon)


class BatchNorm(_Norm):
    """``tf.layers.batch_normalization`` called with its default ``training=False``: moving statistics only."""

    def __init__(self, scope: str = "batch_normalization", epsilon: float = 1e-3, **kwargs):
        super().__init__(scope, **kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self._make("gamma", channels, "ones")
        self.beta = self._make("beta", channels, "zeros")
        self.moving_mean = self._make("moving_mean", channels, "zeros", trainable=False)
        self.moving_variance = self._make("moving_variance", channels, "ones", trainable=False)
        self.built = True

    def call(self, inputs):
        return tf.nn.batch_normalization(inputs, self.moving_mean, self.moving_variance, self.beta, self.gamma,
                                         self.epsilon)


class Identity(_Norm):
    def __init__(self, **kwargs):
        super().__init__("", **kwargs)

    def build(self, input_shape):
        self.built = True

    def call(self, inputs):
        return inputs


def norm_layer(kind: str, scope: Optional[str] = None, **kwargs) -> keras.layers.Layer:
    """The layer of a ``norm_layer`` / ``conv_rnn_norm_layer`` hparam: instance, layer, batch or none."""
    if kind == "instance":
        return InstanceNorm(scope or "InstanceNorm", **kwargs)
    if kind == "layer":
        return LayerNorm(scope or "LayerNorm", **kwargs)
    kwargs.pop("order", None)
    if kind == "batch":
        return BatchNorm(scope or "batch_normalization", **kwargs)
    if kind == "none":
        return Identity()
    raise ValueError(f"norm_layer: unknown kind {kind!r} (instance, layer, batch, none)")
