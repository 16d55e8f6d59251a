"""The TF1 ``tf.contrib.slim`` / ``tf.contrib.layers`` building blocks of the SAVP baselines (SV2P, SNA, DNA), as
plain functions on explicit variables, plus a variable store that names each variable as TF1 did.

Facts carried over from TF1 (``tf_slim.layers``):

* ``slim.conv2d`` / ``slim.conv2d_transpose`` / ``slim.fully_connected``: variables ``<scope>/weights`` and
  ``<scope>/biases``; the biases are left out when a ``normalizer_fn`` is given. Default activation ReLU, applied
  after the normaliser. ``weights`` start Glorot-uniform (``xavier_initializer``), ``biases`` at zero. A conv
  kernel is ``[kh, kw, in, out]``, a transposed-conv kernel ``[kh, kw, out, in]``, a dense one ``[in, out]``
  (all as Keras stores them). Padding ``SAME``.
* ``tf.contrib.layers.layer_norm`` (defaults ``begin_norm_axis=1``, ``begin_params_axis=-1``): mean and biased
  variance over every axis but the batch axis (H, W and C of a feature map together), then
  ``gamma * (x - mean) / sqrt(var + 1e-12) + beta`` with ``beta``/``gamma`` of shape ``[C]`` (beta created
  first, beta=0, gamma=1). The epsilon is 1e-12 for float32.
* The baselines' ``basic_conv_lstm_cell``: one conv (``<scope>/Gates``, 5x5, bias, no activation) over
  ``concat(x, h)`` giving the gates in the order i, j, f, o; ``c' = c*sigmoid(f + 1) + sigmoid(i)*tanh(j)``,
  ``h' = tanh(c')*sigmoid(o)``; the state is ``concat(c, h)`` on channels and starts at zero.
* CDNA: per-sample ``k x k`` kernels, ``relu(x - 1e-12) + 1e-12`` and normalised to sum 1, applied to every
  colour channel with a zero-padded ``SAME`` convolution. DNA: per-pixel ``k*k`` kernels normalised the same way
  over the taps, on a zero-padded frame (``(k-1)//2`` before, the rest after).
* The baselines' scheduled sampling: ``round(B * k / (k + exp(step / k)))`` samples of the batch take the ground
  truth; which ones is the first that many entries of a random permutation of ``range(B)``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Sequence

import keras
import numpy as np
import tensorflow as tf

LAYER_NORM_EPSILON = 1e-12
RELU_SHIFT = 1e-12


class SlimVariables:
    """Creates Keras variables on ``layer`` under their TF1 names, in creation order.

    ``get(name)`` returns the variable; ``items()`` the ``{TF1 name: variable}`` map in order. Keras 3 refuses
    ``/`` in a variable name, so the Keras-side name has ``/`` written as ``.``.
    """

    def __init__(self, layer: keras.layers.Layer, prefix: str):
        self._layer = layer
        self._prefix = prefix
        self._vars: "OrderedDict[str, keras.Variable]" = OrderedDict()

    def add(self, name: str, shape: Sequence[int], initializer) -> keras.Variable:
        full = f"{self._prefix}/{name}" if self._prefix else name
        if full in self._vars:
            raise ValueError(f"variable {full} created twice")
        var = self._layer.add_weight(name=full.replace("/", "."), shape=tuple(int(s) for s in shape),
                                     initializer=initializer, trainable=True, dtype="float32")
        self._vars[full] = var
        return var

    def get(self, name: str) -> keras.Variable:
        return self._vars[f"{self._prefix}/{name}" if self._prefix else name]

    def items(self) -> Dict[str, keras.Variable]:
        return OrderedDict(self._vars)

    # -------------------------------------------------------------------------------- slim layer variables
    def conv(self, scope: str, kernel: Sequence[int], in_ch: int, out_ch: int, *, normalizer: str = None,
             transpose: bool = False) -> None:
        """``slim.conv2d`` (or ``conv2d_transpose``) variables; ``normalizer`` = the layer_norm scope inside
        ``scope``, which replaces the biases."""
        kh, kw = kernel
        shape = (kh, kw, out_ch, in_ch) if transpose else (kh, kw, in_ch, out_ch)
        self.add(f"{scope}/weights", shape, keras.initializers.GlorotUniform())
        if normalizer is None:
            self.add(f"{scope}/biases", (out_ch,), keras.initializers.Zeros())
        else:
            self.layer_norm(f"{scope}/{normalizer}", out_ch)

    def dense(self, scope: str, in_units: int, out_units: int) -> None:
        self.add(f"{scope}/weights", (in_units, out_units), keras.initializers.GlorotUniform())
        self.add(f"{scope}/biases", (out_units,), keras.initializers.Zeros())

    def layer_norm(self, scope: str, channels: int) -> None:
        self.add(f"{scope}/beta", (channels,), keras.initializers.Zeros())
        self.add(f"{scope}/gamma", (channels,), keras.initializers.Ones())

    def conv_lstm(self, scope: str, in_ch: int, units: int, filter_size: int = 5) -> None:
        self.conv(f"{scope}/Gates", (filter_size, filter_size), in_ch + units, 4 * units)


# ------------------------------------------------------------------------------------------------- ops
def layer_norm(x: tf.Tensor, beta, gamma, epsilon: float = LAYER_NORM_EPSILON) -> tf.Tensor:
    """contrib ``layer_norm``: statistics over all axes but 0, affine over the last axis."""
    axes = list(range(1, len(x.shape)))
    mean, variance = tf.nn.moments(x, axes, keepdims=True)
    return tf.nn.batch_normalization(x, mean, variance, beta, gamma, epsilon)


def conv2d(x: tf.Tensor, kernel, bias=None, stride: int = 1) -> tf.Tensor:
    y = tf.nn.conv2d(x, kernel, strides=stride, padding="SAME")
    return y if bias is None else tf.nn.bias_add(y, bias)


def conv2d_transpose(x: tf.Tensor, kernel, bias=None, stride: int = 1) -> tf.Tensor:
    """SAME transposed conv, output ``[B, H*stride, W*stride, out]`` (kernel ``[kh, kw, out, in]``)."""
    batch = tf.shape(x)[0]
    out_shape = tf.stack([batch, x.shape[1] * stride, x.shape[2] * stride, kernel.shape[2]])
    y = tf.nn.conv2d_transpose(x, kernel, out_shape, strides=stride, padding="SAME")
    y = tf.reshape(y, [-1, x.shape[1] * stride, x.shape[2] * stride, kernel.shape[2]])
    return y if bias is None else tf.nn.bias_add(y, bias)


def dense(x: tf.Tensor, kernel, bias) -> tf.Tensor:
    return tf.matmul(x, kernel) + bias


def conv_lstm_step(x: tf.Tensor, state, kernel, bias, units: int, forget_bias: float = 1.0):
    """One step of the baselines' ``basic_conv_lstm_cell``. ``state`` None = zeros. Returns ``(h, state)``."""
    if state is None:
        state = tf.zeros(tf.concat([tf.shape(x)[:3], [2 * units]], 0), x.dtype)
    c, h = tf.split(state, 2, axis=3)
    gates = conv2d(tf.concat([x, h], axis=3), kernel, bias)
    i, j, f, o = tf.split(gates, 4, axis=3)
    new_c = c * tf.sigmoid(f + forget_bias) + tf.sigmoid(i) * tf.tanh(j)
    new_h = tf.tanh(new_c) * tf.sigmoid(o)
    return new_h, tf.concat([new_c, new_h], axis=3)


def cdna_transform(image: tf.Tensor, kernel_params: tf.Tensor, kernel_size: Sequence[int],
                   num_masks: int) -> List[tf.Tensor]:
    """``image [B, H, W, C]`` moved by ``num_masks`` per-sample kernels from ``kernel_params [B, kh*kw*M]``
    (laid out ``[kh, kw, M]``) -> a list of ``num_masks`` images ``[B, H, W, C]``."""
    kh, kw = kernel_size
    height, width, channels = image.shape[1], image.shape[2], image.shape[3]
    kernels = tf.reshape(kernel_params, [-1, kh, kw, 1, num_masks])
    kernels = tf.nn.relu(kernels - RELU_SHIFT) + RELU_SHIFT
    kernels = kernels / tf.reduce_sum(kernels, axis=[1, 2, 3], keepdims=True)
    # Batch on the channel axis so that a depthwise conv gives every sample its own kernels; colours become the
    # conv's batch.
    batch = tf.shape(kernels)[0]
    kernels = tf.reshape(tf.transpose(kernels, [1, 2, 0, 4, 3]), [kh, kw, batch, num_masks])
    moved = tf.nn.depthwise_conv2d(tf.transpose(image, [3, 1, 2, 0]), kernels, [1, 1, 1, 1], "SAME")
    moved = tf.reshape(moved, [channels, height, width, batch, num_masks])
    moved = tf.transpose(moved, [3, 1, 2, 0, 4])
    return tf.unstack(moved, num=num_masks, axis=-1)


def dna_transform(image: tf.Tensor, kernel_logits: tf.Tensor, kernel_size: Sequence[int]) -> tf.Tensor:
    """``image [B, H, W, C]`` moved by per-pixel kernels ``kernel_logits [B, H, W, kh*kw]`` (taps row-major over
    the zero-padded window) -> ``[B, H, W, C]``."""
    kh, kw = kernel_size
    height, width = image.shape[1], image.shape[2]
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = tf.pad(image, [[0, 0], [top, kh - 1 - top], [left, kw - 1 - left], [0, 0]])
    windows = tf.stack([padded[:, dy:dy + height, dx:dx + width, :] for dy in range(kh) for dx in range(kw)],
                       axis=3)  # [B, H, W, k*k, C]
    kernel = tf.nn.relu(kernel_logits - RELU_SHIFT) + RELU_SHIFT
    kernel = kernel / tf.reduce_sum(kernel, axis=3, keepdims=True)
    return tf.reduce_sum(kernel[..., None] * windows, axis=3)


def num_ground_truth(batch_size: int, k: float, step) -> tf.Tensor:
    """How many samples of the batch the scheduled sampling gives the ground truth at global ``step``."""
    step = tf.cast(step, tf.float32)
    return tf.cast(tf.round(float(batch_size) * (k / (k + tf.exp(step / k)))), tf.int32)


def scheduled_sample(ground_truth: tf.Tensor, generated: tf.Tensor, permutation: tf.Tensor,
                     n_ground_truth: tf.Tensor) -> tf.Tensor:
    """Samples ``permutation[:n_ground_truth]`` from ``ground_truth``, the rest from ``generated``."""
    batch = tf.shape(permutation)[0]
    rank = tf.scatter_nd(tf.cast(permutation, tf.int32)[:, None], tf.range(batch), [batch])  # position of b
    use_truth = rank < n_ground_truth
    shape = tf.concat([[batch], tf.ones([len(ground_truth.shape) - 1], tf.int32)], 0)
    return tf.where(tf.reshape(use_truth, shape), ground_truth, generated)


def stateless_permutations(seed, count: int, batch_size: int) -> tf.Tensor:
    """``count`` random permutations of ``range(batch_size)``, int32 ``[count, batch_size]``."""
    keys = tf.random.stateless_uniform([count, batch_size], seed=seed)
    return tf.argsort(keys, axis=-1, stable=True, direction="ASCENDING")


def fold(seed, index: int) -> tf.Tensor:
    """The seed of draw ``index`` (stateless fold-in)."""
    return tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), index)


def param_count(variables: Dict[str, keras.Variable]) -> int:
    return int(sum(np.prod(v.shape) for v in variables.values()))
