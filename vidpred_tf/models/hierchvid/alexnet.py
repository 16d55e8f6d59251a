"""Frozen AlexNet up to conv5 (the original ``imggen_src/alexnet.py``): the first perceptual network of the image
generator's feature loss.

Public interface::

    net = AlexNetFeatures(weights)          # weights: {"conv1": (W, b), ..., "conv5": (W, b)}, W in HWIO
    conv5 = net(images)                     # images (B, H, W, 3) in [-1, 1], BGR as fed -> (B, 7, 7, 256) at 128^2
    conv5 = net(images, num_groups=2)       # the batch is G equal consecutive chunks, each centred on its own mean
    conv5 = net.features_of_centred(x)      # x already x01 * 255 - mean (no preprocessing)
    net.original_variables(first=0)         # {"Variable" / "Variable_N": weight} in the original creation order

``weights`` come from :func:`vidpred_tf.convert.hierchvid_perceptual.load_alexnet_weights` (``bvlc_alexnet.npy`` or
the golden npz). Channel widths are read from the kernels, so reduced-width fakes work the same way.

As in the original's ``model_analogy.py``, an image x in [-1, 1] is fed as ``x01 * 255 - mean(x01 * 255)`` with
``x01 = (x + 1) / 2`` and the mean ONE scalar over the whole batch tensor (per chunk with ``num_groups``); the
channel order is left as given (the generator's BGR). Layers: conv1 11x11/4 SAME + ReLU, LRN (radius 2, alpha
2e-5, beta 0.75, bias 1: ``tf.nn.local_response_normalization``, alpha not divided by the window), max-pool 3x3/2
VALID, conv2 5x5 SAME 2 groups + ReLU, LRN, max-pool, conv3 3x3 + ReLU, conv4 3x3 2 groups + ReLU, conv5 3x3 2
groups + ReLU. A g-group conv splits the input channels and the kernel's output channels into g halves and
concatenates the per-group results. The weights are non-trainable (in the original they are ``tf.Variable``s kept
out of every optimiser's var_list); gradients flow to the input.
"""

from __future__ import annotations

from typing import Dict, Mapping, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

LAYER_NAMES = ("conv1", "conv2", "conv3", "conv4", "conv5")
# (kernel size, stride, groups) per layer; every conv pads SAME and is followed by a ReLU.
LAYER_SPECS = {"conv1": (11, 4, 1), "conv2": (5, 1, 2), "conv3": (3, 1, 1), "conv4": (3, 1, 2), "conv5": (3, 1, 2)}
REAL_WIDTHS = (96, 256, 384, 384, 256)
LRN_RADIUS, LRN_ALPHA, LRN_BETA, LRN_BIAS = 2, 2e-5, 0.75, 1.0
POOL_SIZE, POOL_STRIDE = 3, 2


def alexnet_weight_shapes(widths: Sequence[int] = REAL_WIDTHS, in_channels: int = 3) -> Dict[str, Tuple[tuple, tuple]]:
    """``{convK: (kernel HWIO shape, bias shape)}`` for the given output widths (the real ones by default)."""
    shapes = {}
    previous = in_channels
    for name, width in zip(LAYER_NAMES, widths):
        size, _, groups = LAYER_SPECS[name]
        shapes[name] = ((size, size, previous // groups, width), (width,))
        previous = width
    return shapes


def check_alexnet_weights(weights: Mapping[str, Sequence[np.ndarray]], source: str = "the AlexNet weights") -> None:
    """Raise ``ValueError`` naming ``source`` and the layer when a kernel or bias does not fit the network."""
    previous = 3
    for name in LAYER_NAMES:
        if name not in weights:
            raise ValueError(f"{source}: no {name} entry (has {sorted(weights)})")
        kernel, bias = (np.asarray(a) for a in weights[name])
        size, _, groups = LAYER_SPECS[name]
        if kernel.ndim != 4 or kernel.shape[:2] != (size, size) or kernel.shape[2] * groups != previous:
            per_group = f"{previous} // {groups}" if groups > 1 else f"{previous}"
            raise ValueError(f"{source}: {name} kernel has shape {kernel.shape}, expected ({size}, {size}, "
                             f"{per_group}, out) HWIO")
        if kernel.shape[3] % groups:
            raise ValueError(f"{source}: {name} kernel has {kernel.shape[3]} output channels, not divisible into "
                             f"{groups} groups")
        if bias.shape != (kernel.shape[3],):
            raise ValueError(f"{source}: {name} bias has shape {bias.shape}, expected ({kernel.shape[3]},)")
        previous = kernel.shape[3]


def centre_images(images, num_groups: int = 1):
    """The original's AlexNet input: ``x01 * 255 - mean(x01 * 255)`` with x01 = (x + 1) / 2, one scalar mean per
    chunk of the batch (the whole batch when ``num_groups`` is 1)."""
    scaled = (images + 1.0) / 2.0 * 255.0
    if num_groups == 1:
        return scaled - tf.reduce_mean(scaled)
    chunks = tf.reshape(scaled, tf.concat([[num_groups, -1], tf.shape(scaled)[1:]], 0))
    centred = chunks - tf.reduce_mean(chunks, axis=[1, 2, 3, 4], keepdims=True)
    return tf.reshape(centred, tf.shape(scaled))


def _local_response_norm(x):
    return tf.nn.local_response_normalization(x, depth_radius=LRN_RADIUS, bias=LRN_BIAS, alpha=LRN_ALPHA,
                                              beta=LRN_BETA)


def _max_pool(x):
    return tf.nn.max_pool2d(x, POOL_SIZE, POOL_STRIDE, "VALID")


class AlexNetFeatures(keras.layers.Layer):
    """conv5 features of the frozen AlexNet; see the module docstring."""

    def __init__(self, weights: Mapping[str, Sequence[np.ndarray]], **kwargs):
        kwargs.setdefault("name", "alexnet_features")
        super().__init__(trainable=False, **kwargs)
        check_alexnet_weights(weights)
        self.kernels = {}
        self.biases = {}
        for name in LAYER_NAMES:
            kernel, bias = (np.asarray(a, np.float32) for a in weights[name])
            self.kernels[name] = self._frozen(f"{name}_W", kernel)
            self.biases[name] = self._frozen(f"{name}_b", bias)
        self.widths = tuple(int(self.kernels[n].shape[-1]) for n in LAYER_NAMES)

    def _frozen(self, name, value):
        variable = self.add_weight(name=name, shape=value.shape, initializer="zeros", trainable=False)
        variable.assign(value.astype(variable.dtype))
        return variable

    def _value(self, variable):
        return tf.cast(variable, self.compute_dtype)

    def original_variables(self, first: int = 0) -> Dict[str, keras.Variable]:
        """``{"Variable_N": weight}``: the original creates conv1 W, b, ..., conv5 W, b as unnamed ``tf.Variable``s
        (the first AlexNet of the train graph is Variable..Variable_9, the second Variable_10..Variable_19)."""
        names = [f"Variable_{first + i}" if first + i else "Variable" for i in range(2 * len(LAYER_NAMES))]
        values = [v for n in LAYER_NAMES for v in (self.kernels[n], self.biases[n])]
        return dict(zip(names, values))

    def conv_relu(self, x, name):
        """Layer ``name`` (conv1..conv5) with its bias and ReLU: the original's grouped ``conv`` helper."""
        size, stride, groups = LAYER_SPECS[name]
        kernel = self._value(self.kernels[name])
        if groups == 1:
            out = tf.nn.conv2d(x, kernel, stride, "SAME")
        else:
            parts = zip(tf.split(x, groups, axis=3), tf.split(kernel, groups, axis=3))
            out = tf.concat([tf.nn.conv2d(i, k, stride, "SAME") for i, k in parts], axis=3)
        return tf.nn.relu(tf.nn.bias_add(out, self._value(self.biases[name])))

    def features_of_centred(self, x):
        """conv5 of an already centred input (the original ``alexnet(image)``)."""
        x = tf.cast(x, self.compute_dtype)
        x = _max_pool(_local_response_norm(self.conv_relu(x, "conv1")))
        x = _max_pool(_local_response_norm(self.conv_relu(x, "conv2")))
        for name in ("conv3", "conv4", "conv5"):
            x = self.conv_relu(x, name)
        return x

    def call(self, images, num_groups: int = 1):
        return self.features_of_centred(centre_images(tf.cast(images, self.compute_dtype), num_groups))

    def compute_output_shape(self, input_shape):
        def after(size, *ops):
            for op in ops:
                size = None if size is None else op(size)
            return size

        def pooled(n):
            return (n - POOL_SIZE) // POOL_STRIDE + 1

        height = after(input_shape[1], lambda n: -(-n // 4), pooled, pooled)
        width = after(input_shape[2], lambda n: -(-n // 4), pooled, pooled)
        return (input_shape[0], height, width, self.widths[-1])
