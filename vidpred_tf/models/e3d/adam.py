"""The E3D-LSTM study's Adam update rule as a pure function (the reference for the trainer's optimiser).

``v = b1 v + (1 - b1) g;  m = b2 m + (1 - b2) g^2;  p -= lr * (v / (1 - b1^t)) / sqrt(m / (1 - b2^t) + eps)``

with b1 = 0.95, b2 = 0.9995, eps = 1e-8 *inside* the square root and t counting from 1. The original applied
these updates racily (assignments not ordered after the backward pass); this function is the clean rule, the
trainer uses ``vidpred_tf.training.optimizers.AdamEpsInsideSqrt``. At t = 1 from zero slots it reduces to
``p - lr * g / sqrt(g^2 + eps)``.
"""

from __future__ import annotations

import tensorflow as tf

BETA1 = 0.95
BETA2 = 0.9995
EPSILON = 1e-8


def adam_update(param, grad, first_moment, second_moment, step, lr, beta1: float = BETA1, beta2: float = BETA2,
                epsilon: float = EPSILON):
    """One update; returns ``(new_param, new_first_moment, new_second_moment)`` (tensors, nothing assigned).

    ``step`` is the 1-based index of this update.
    """
    dtype = tf.as_dtype(getattr(param, "dtype", tf.float32))
    param = tf.convert_to_tensor(param, dtype)
    grad = tf.convert_to_tensor(grad, dtype)
    step = tf.cast(step, dtype)
    lr = tf.cast(lr, dtype)
    first = beta1 * tf.convert_to_tensor(first_moment, dtype) + (1.0 - beta1) * grad
    second = beta2 * tf.convert_to_tensor(second_moment, dtype) + (1.0 - beta2) * tf.square(grad)
    first_hat = first / (1.0 - tf.pow(tf.constant(beta1, dtype), step))
    second_hat = second / (1.0 - tf.pow(tf.constant(beta2, dtype), step))
    return param - lr * first_hat / tf.sqrt(second_hat + epsilon), first, second
