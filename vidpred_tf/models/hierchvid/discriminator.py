"""The pose-conditioned discriminator of ``IMGGEN.discriminator`` (scope ``DIS``), spec section 4.3.

Input ``concat([image, ptpn], channels)``. Four 5x5 stride-2 SAME convolutions (``ops.conv2d`` defaults:
``<name>/w`` Glorot-uniform, ``<name>/biases`` zeros) of widths df, 2df, 4df, 8df; the last three are followed by
contrib ``batch_norm(is_training=True, scale=True)`` (``bnK/beta``, ``bnK/gamma``, eps 1e-3) and every one by
``lrelu(x) = 0.6 x + 0.4 |x|``; then a linear layer (``dis_h3_lin/Matrix`` N(0, 0.02), ``bias`` 0) to one logit.

The batch norm ALWAYS normalises with the moments of the current call's batch (each of the original's three
calls, real / bad / generated, is normalised on its own). Its ``moving_mean``/``moving_variance`` exist as
variables, as in the original's checkpoints, but the original never runs their update ops: they stay at 0 / 1.
"""

from __future__ import annotations

import math
from typing import Dict, Tuple

import keras
import tensorflow as tf

SCOPE = "DIS"
KERNEL = 5
STRIDE = 2
BN_EPSILON = 1e-3
LEAK = 0.2
LINEAR_STDDEV = 0.02
NUM_CONVS = 4


def lrelu(x: tf.Tensor, leak: float = LEAK) -> tf.Tensor:
    """The original's ``0.5 (1 + leak) x + 0.5 (1 - leak) |x|``."""
    return 0.5 * (1.0 + leak) * x + 0.5 * (1.0 - leak) * tf.abs(x)


def batch_norm_batch_stats(x: tf.Tensor, beta, gamma, epsilon: float = BN_EPSILON) -> tf.Tensor:
    """Training-mode (non-fused) batch norm: moments over every axis but the channels, of this batch."""
    mean, variance = tf.nn.moments(x, axes=list(range(len(x.shape) - 1)))
    return tf.nn.batch_normalization(x, mean, variance, beta, gamma, epsilon)


class PoseDiscriminator(keras.layers.Layer):
    """``call(image, pose) -> (sigmoid, logits)``, logits ``(B, 1)``; ``image`` (B, S, S, c_dim), ``pose`` (B, S, S, J).

    ``image_size`` fixes the width of the linear layer ((S/16)^2 * 8 df inputs).
    """

    def __init__(self, n_joints: int, image_size: int = 128, df_dim: int = 64, c_dim: int = 3, **kwargs):
        super().__init__(name=kwargs.pop("name", "imggen_discriminator"), **kwargs)
        self.n_joints, self.image_size = int(n_joints), int(image_size)
        self.df_dim, self.c_dim = int(df_dim), int(c_dim)
        self._variables: Dict[str, keras.Variable] = {}
        glorot, zeros, ones = keras.initializers.GlorotUniform(), keras.initializers.Zeros(), keras.initializers.Ones()
        self._convs, self._norms = [], []
        channels, size = self.c_dim + self.n_joints, self.image_size
        for index in range(NUM_CONVS):
            out = self.df_dim * 2 ** index
            kernel = self._add(f"dis_h{index}_conv/w", (KERNEL, KERNEL, channels, out), glorot)
            bias = self._add(f"dis_h{index}_conv/biases", (out,), zeros)
            self._convs.append((kernel, bias))
            if index:
                beta = self._add(f"bn{index}/beta", (out,), zeros)
                gamma = self._add(f"bn{index}/gamma", (out,), ones)
                # Never updated (the original does not run the update ops); kept for checkpoint fidelity.
                self._add(f"bn{index}/moving_mean", (out,), zeros, trainable=False)
                self._add(f"bn{index}/moving_variance", (out,), ones, trainable=False)
                self._norms.append((beta, gamma))
            channels, size = out, -(-size // STRIDE)
        self.flat_size = size * size * channels
        self._matrix = self._add("dis_h3_lin/Matrix", (self.flat_size, 1),
                                 keras.initializers.RandomNormal(stddev=LINEAR_STDDEV))
        self._bias = self._add("dis_h3_lin/bias", (1,), zeros)
        self.built = True

    def _add(self, name: str, shape, initializer, trainable: bool = True) -> keras.Variable:
        full = f"{SCOPE}/{name}"
        variable = self.add_weight(name=full.replace("/", "."), shape=tuple(int(d) for d in shape),
                                   initializer=initializer, trainable=trainable, dtype="float32")
        self._variables[full] = variable
        return variable

    def original_variables(self) -> Dict[str, keras.Variable]:
        """All 22 ``DIS/...`` variables (16 trainable + 6 moving statistics) in the original's creation order."""
        return dict(self._variables)

    def trainable_original_variables(self) -> Dict[str, keras.Variable]:
        return {name: v for name, v in self._variables.items() if v.trainable}

    def param_count(self) -> int:
        return int(sum(math.prod(v.shape) for v in self.trainable_original_variables().values()))

    def call(self, image, pose) -> Tuple[tf.Tensor, tf.Tensor]:
        x = tf.concat([tf.convert_to_tensor(image, tf.float32), tf.convert_to_tensor(pose, tf.float32)], axis=3)
        for index, (kernel, bias) in enumerate(self._convs):
            x = tf.nn.bias_add(tf.nn.conv2d(x, kernel, strides=STRIDE, padding="SAME"), bias)
            if index:
                beta, gamma = self._norms[index - 1]
                x = batch_norm_batch_stats(x, beta, gamma)
            x = lrelu(x)
        logits = tf.matmul(tf.reshape(x, [-1, self.flat_size]), self._matrix) + self._bias
        return tf.nn.sigmoid(logits), logits
