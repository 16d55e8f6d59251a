"""Spectral normalisation of a weight (Miyato et al. 2018) as SAVP's discriminators apply it.

The weight is viewed as a matrix ``W [-1, out]`` (all axes but the last merged). A non-trainable vector
``u [1, out]`` (initialised from a truncated normal of standard deviation 1) carries the power-iteration estimate
of the leading right singular vector across steps. One iteration per forward pass::

    v  = l2n(u W^T)        u' = l2n(v W)        sigma = v W u'^T        W_sn = W / sigma

with ``l2n(x) = x / (||x|| + 1e-12)``. Gradients flow through ``v``, ``u'`` and ``sigma`` (nothing is stopped),
as in the original graph. The forward pass uses the fresh ``u'``; the stored ``u`` is NOT changed here:
:func:`spectral_normalize` returns ``u'`` and the caller assigns it when its training step says so (SAVP did it
once per step, before the discriminator update). Keras's ``SpectralNormalization`` wrapper differs (epsilon,
variable layout, in-call assignment), hence this module.
"""

from __future__ import annotations

from typing import Tuple

import keras
import tensorflow as tf

SN_EPSILON = 1e-12


def l2_normalize(x: tf.Tensor, epsilon: float = SN_EPSILON) -> tf.Tensor:
    """``x / (||x||_2 + epsilon)`` over the whole tensor (not ``tf.math.l2_normalize``, which uses a max)."""
    return x / (tf.norm(x) + epsilon)


def spectral_normalize(kernel: tf.Tensor, u: tf.Tensor, num_iters: int = 1) -> Tuple[tf.Tensor, tf.Tensor]:
    """``(kernel / sigma, u')``: the normalised kernel (same shape as ``kernel``) and the new ``u [1, out]``."""
    if num_iters < 1:
        raise ValueError(f"spectral_normalize needs num_iters >= 1; got {num_iters}")
    kernel = tf.convert_to_tensor(kernel)
    shape = tf.shape(kernel)
    matrix = tf.reshape(kernel, [-1, kernel.shape[-1]])
    u_new = tf.convert_to_tensor(u)
    for _ in range(num_iters):
        v = l2_normalize(tf.matmul(u_new, matrix, transpose_b=True))
        u_new = l2_normalize(tf.matmul(v, matrix))
    sigma = tf.squeeze(tf.matmul(tf.matmul(v, matrix), u_new, transpose_b=True))
    return tf.reshape(matrix / sigma, shape), u_new


def add_u_weight(layer: keras.layers.Layer, channels: int, name: str = "u") -> keras.Variable:
    """The non-trainable ``u [1, channels]`` of one spectrally normalised weight, created on ``layer``."""
    return layer.add_weight(shape=(1, int(channels)), name=name, trainable=False, dtype="float32",
                            initializer=keras.initializers.TruncatedNormal(mean=0.0, stddev=1.0))
