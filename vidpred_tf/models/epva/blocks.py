"""Small building blocks with TF1 variable names: a variable container and stateless dropout."""
from typing import List, Optional, Tuple

import keras
import tensorflow as tf

GLOROT = 'glorot_uniform'


def truncated(stddev: float):
    return keras.initializers.TruncatedNormal(stddev=stddev)


class TF1Block(keras.layers.Layer):
    """A layer whose variables are created up front (shapes follow from the config) under TF1 names."""

    def __init__(self, scope: str, **kwargs):
        super().__init__(**kwargs)
        self.scope = scope
        self._tf1: List[Tuple[str, keras.Variable]] = []
        self.built = True

    def var(self, name: str, shape, initializer):
        variable = self.add_weight(name=name.replace('/', '_'), shape=tuple(int(d) for d in shape),
                                   initializer=initializer)
        self._tf1.append((f'{self.scope}/{name}', variable))
        return variable

    def adopt(self, prefix: str, layer):
        """Record a sub-layer's TF1 variables under ``scope/prefix``."""
        self._tf1.extend((f'{self.scope}/{prefix}{name}', v) for name, v in layer.tf1_variables())
        return layer

    def tf1_variables(self):
        return list(self._tf1)


class Seeds:
    """Hands out one stateless seed per random op of one forward pass (or None: unseeded ops)."""

    def __init__(self, seed: Optional[tf.Tensor]):
        self.seed = None if seed is None else tf.cast(seed, tf.int32)
        self.count = 0

    def next(self):
        self.count += 1
        if self.seed is None:
            return None
        return tf.random.experimental.stateless_fold_in(self.seed, self.count)


def dropout(x, keep_prob: float, seeds: Seeds):
    """Inverted dropout, applied whenever keep_prob < 1 (the original never gates it on training)."""
    if keep_prob >= 1.0:
        return x
    seed = seeds.next()
    if seed is None:
        return tf.nn.dropout(x, rate=1.0 - keep_prob)
    return tf.nn.experimental.stateless_dropout(x, rate=1.0 - keep_prob, seed=seed)


def conv(x, kernel, bias, stride=1, relu=True):
    y = tf.nn.bias_add(tf.nn.conv2d(x, kernel, [1, stride, stride, 1], 'SAME'), bias)
    return tf.nn.relu(y) if relu else y


def deconv(x, kernel, bias, stride=1, relu=True):
    """tf.layers.conv2d_transpose, padding same; kernel [kh, kw, out, in]."""
    shape = tf.shape(x)
    out_shape = tf.stack([shape[0], shape[1] * stride, shape[2] * stride, kernel.shape[2]])
    y = tf.nn.conv2d_transpose(x, kernel, out_shape, [1, stride, stride, 1], 'SAME')
    y = tf.reshape(y, [-1, x.shape[1] * stride, x.shape[2] * stride, kernel.shape[2]])
    y = tf.nn.bias_add(y, bias)
    return tf.nn.relu(y) if relu else y
