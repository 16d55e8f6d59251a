"""TF1-style convolution layers of SAVP (``video_prediction/ops.py``): plain ``conv2d`` / ``dense`` / ``deconv2d``
and the two fused resamplers the generator uses by default.

* ``conv_pool2d``: a SAME convolution followed by a 2x2 average pool, computed as ONE strided convolution whose
  kernel is the stored ``k x k`` kernel average-pooled with full zero padding (``k+1 x k+1``).
* ``upsample_conv2d``: bilinear 2x upsampling followed by a SAME ``k x k`` convolution, computed as ONE
  transposed convolution whose kernel is the full cross-correlation of the bilinear ``4 x 4`` kernel with the
  stored kernel (``k+3 x k+3``).

The stored variables are always the un-combined ``[k, k, in, out]`` kernels (what TF1 checkpoints hold); the
combined kernels are built on every call. The ``_v2`` forms compute the same result the slow way (explicit conv
then pool, explicit upsample then conv and crop).

Each layer builds its variables from a static input shape and lists them with ``tf1_variables()`` as
``(name relative to the TF1 variable scope, variable)`` pairs in the original's creation order.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

TRUNCATED_NORMAL_STDDEV = 0.02


def _pair(value) -> List[int]:
    return list(value) if isinstance(value, (tuple, list)) else [int(value)] * 2


def _weight_init():
    return keras.initializers.TruncatedNormal(stddev=TRUNCATED_NORMAL_STDDEV)


# --------------------------------------------------------------------------------------------- kernels, functional
def bilinear_kernel(strides) -> np.ndarray:
    """The separable bilinear interpolation kernel of an upsampling by ``strides`` (``[.25,.75,.75,.25]`` outer
    product for a factor 2)."""
    strides = np.array(_pair(strides))
    size = 2 * strides - strides % 2
    centre = strides - (size % 2 == 1) - 0.5 * (size % 2 != 1)
    rows = 1 - np.abs(np.arange(size[0]) - centre[0]) / strides[0]
    cols = 1 - np.abs(np.arange(size[1]) - centre[1]) / strides[1]
    return (rows[:, None] * cols[None, :]).astype(np.float32)


def same_paddings(size: Sequence[int], strides: Sequence[int], input_size: Sequence[int]) -> List[List[int]]:
    """``[[top, bottom], [left, right]]`` zero padding that turns a SAME convolution into a VALID one."""
    pads = []
    for k, s, n in zip(size, strides, input_size):
        total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
        pads.append([total // 2, total - total // 2])
    return pads


def pooled_kernel(kernel: tf.Tensor, strides=(2, 2)) -> tf.Tensor:
    """``[k, k, in, out]`` -> the ``[k+s-1, k+s-1, in, out]`` kernel of conv(SAME) followed by ``s x s`` avg-pool."""
    sh, sw = _pair(strides)
    padded = tf.pad(kernel, [[sh - 1, sh - 1], [sw - 1, sw - 1], [0, 0], [0, 0]])
    kh, kw = kernel.shape[0] + sh - 1, kernel.shape[1] + sw - 1
    total = tf.add_n([padded[i:i + kh, j:j + kw] for i in range(sh) for j in range(sw)])
    return total / float(sh * sw)


def upsampled_kernel(kernel: tf.Tensor, strides=(2, 2)) -> tf.Tensor:
    """``[k, k, in, out]`` -> the ``[k+b-1, k+b-1, out, in]`` transposed-convolution kernel (``b`` the bilinear
    kernel size) of bilinear upsampling followed by conv(SAME)."""
    kh, kw, cin, cout = kernel.shape
    bilinear = tf.constant(bilinear_kernel(strides))[None, :, :, None]
    # cross-correlate the bilinear kernel with every (in, out) slice of the kernel, zero padded in full
    filters = tf.reshape(tf.transpose(kernel, [0, 1, 3, 2]), [kh, kw, 1, cout * cin])
    bilinear = tf.pad(bilinear, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])
    combined = tf.nn.conv2d(bilinear, filters, [1, 1, 1, 1], padding="VALID")
    return tf.reshape(combined, list(combined.shape[1:3]) + [cout, cin])


def conv_pool2d(inputs, kernel, bias=None, strides=(2, 2)):
    """conv SAME (stride 1) + ``strides`` average pooling, as one strided SAME convolution."""
    strides = _pair(strides)
    if inputs.shape[1] % strides[0] or inputs.shape[2] % strides[1]:
        raise ValueError(f"conv_pool2d: input size {tuple(inputs.shape[1:3])} is not a multiple of the "
                         f"stride {tuple(strides)}")
    outputs = tf.nn.conv2d(inputs, pooled_kernel(kernel, strides), [1] + strides + [1], padding="SAME")
    return outputs if bias is None else tf.nn.bias_add(outputs, bias)


def conv_pool2d_v2(inputs, kernel, bias=None, strides=(2, 2)):
    """The same as ``conv_pool2d``, computed as an explicit convolution then average pooling."""
    strides = _pair(strides)
    outputs = tf.nn.conv2d(inputs, kernel, [1, 1, 1, 1], padding="SAME")
    outputs = tf.nn.avg_pool2d(outputs, strides, strides, padding="SAME")
    return outputs if bias is None else tf.nn.bias_add(outputs, bias)


def deconv(inputs, kernel, strides, padding="SAME"):
    """``conv2d_transpose`` with a ``[k, k, out, in]`` kernel and the output size of ``padding``."""
    strides = _pair(strides)
    kernel_size = kernel.shape[:2]
    size = inputs.shape[1:3]
    if padding == "SAME":
        out_hw = [s * n for n, s in zip(size, strides)]
    elif padding == "VALID":
        out_hw = [s * (n - 1) + k for n, k, s in zip(size, kernel_size, strides)]
    elif padding == "FULL":
        out_hw = [s * (n + 1) - k for n, k, s in zip(size, kernel_size, strides)]
    else:
        raise ValueError(f"deconv: padding must be SAME, VALID or FULL, not {padding!r}")
    output_shape = tf.stack([tf.shape(inputs)[0], out_hw[0], out_hw[1], kernel.shape[2]])
    return tf.nn.conv2d_transpose(inputs, kernel, output_shape, [1] + strides + [1], padding=padding)


def upsample2d(inputs, strides=(2, 2), padding="SAME"):
    """Bilinear upsampling of every channel (a transposed convolution with a diagonal bilinear kernel)."""
    channels = inputs.shape[-1]
    single = tf.constant(bilinear_kernel(strides))
    kernel = tf.linalg.diag(tf.tile(single[..., None], [1, 1, channels]))
    return deconv(inputs, kernel, strides, padding=padding)


def upsample_conv2d(inputs, kernel, bias=None, strides=(2, 2)):
    """Bilinear upsampling + conv SAME, as one transposed convolution with the combined kernel."""
    outputs = deconv(inputs, upsampled_kernel(kernel, strides), strides, padding="SAME")
    return outputs if bias is None else tf.nn.bias_add(outputs, bias)


def upsample_conv2d_v2(inputs, kernel, bias=None, strides=(2, 2)):
    """The same as ``upsample_conv2d``, computed as an explicit bilinear upsampling (VALID), a FULL convolution and
    the crop that aligns it with the SAME convolution of the upsampled image."""
    strides = _pair(strides)
    kh, kw = kernel.shape[:2]
    up = upsample2d(inputs, strides, padding="VALID")
    up = tf.pad(up, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])
    outputs = tf.nn.conv2d(up, kernel, [1, 1, 1, 1], padding="VALID")
    same = same_paddings([kh, kw], [1, 1], inputs.shape[1:3])
    top = (strides[0] - strides[0] % 2) // 2 + (kh - 1) - same[0][1]
    left = (strides[1] - strides[1] % 2) // 2 + (kw - 1) - same[1][1]
    height, width = strides[0] * inputs.shape[1], strides[1] * inputs.shape[2]
    outputs = outputs[:, top:top + height, left:left + width, :]
    return outputs if bias is None else tf.nn.bias_add(outputs, bias)


# ------------------------------------------------------------------------------------------------------ layers
class _TF1Layer(keras.layers.Layer):
    """A layer whose variables carry TF1 names relative to their scope (``<scope>/<kernel name>``)."""

    scope = ""

    def _make(self, name, shape, initializer, trainable=True):
        variable = self.add_weight(name=name, shape=tuple(int(d) for d in shape), initializer=initializer,
                                   trainable=trainable)
        self._tf1.append((f"{self.scope}/{name}" if self.scope else name, variable))
        return variable

    def tf1_variables(self) -> List[Tuple[str, keras.Variable]]:
        return list(self._tf1)


class Dense(_TF1Layer):
    """``ops.dense``: ``dense/kernel [in, units]``, ``dense/bias``."""

    scope = "dense"

    def __init__(self, units: int, use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.use_bias = int(units), use_bias
        self._tf1 = []

    def build(self, input_shape):
        self.kernel = self._make("kernel", [input_shape[-1], self.units], _weight_init())
        self.bias = self._make("bias", [self.units], "zeros") if self.use_bias else None
        self.built = True

    def call(self, inputs):
        outputs = tf.matmul(inputs, self.kernel)
        return outputs if self.bias is None else tf.nn.bias_add(outputs, self.bias)


class Conv2D(_TF1Layer):
    """``ops.conv2d``: ``conv2d/kernel [k, k, in, filters]``, ``conv2d/bias``; padding SAME / VALID / FULL.

    With stride 2 it is the ``conv2d`` downsampler of ``downsample_layer='conv2d'``."""

    scope = "conv2d"

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding="SAME", use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = int(filters), _pair(kernel_size), _pair(strides)
        self.padding, self.use_bias = padding, use_bias
        self._tf1 = []

    def build(self, input_shape):
        self.kernel = self._make("kernel", self.kernel_size + [input_shape[-1], self.filters], _weight_init())
        self.bias = self._make("bias", [self.filters], "zeros") if self.use_bias else None
        self.built = True

    def call(self, inputs):
        padding = self.padding
        if padding == "FULL":
            kh, kw = self.kernel_size
            inputs = tf.pad(inputs, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])
            padding = "VALID"
        outputs = tf.nn.conv2d(inputs, self.kernel, [1] + self.strides + [1], padding=padding)
        return outputs if self.bias is None else tf.nn.bias_add(outputs, self.bias)


class Deconv2D(_TF1Layer):
    """``ops.deconv2d`` (the ``deconv2d`` upsampler): ``deconv2d/kernel [k, k, filters, in]``, ``deconv2d/bias``."""

    scope = "deconv2d"

    def __init__(self, filters: int, kernel_size, strides=(2, 2), padding="SAME", use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = int(filters), _pair(kernel_size), _pair(strides)
        self.padding, self.use_bias = padding, use_bias
        self._tf1 = []

    def build(self, input_shape):
        self.kernel = self._make("kernel", self.kernel_size + [self.filters, input_shape[-1]], _weight_init())
        self.bias = self._make("bias", [self.filters], "zeros") if self.use_bias else None
        self.built = True

    def call(self, inputs):
        outputs = deconv(inputs, self.kernel, self.strides, padding=self.padding)
        return outputs if self.bias is None else tf.nn.bias_add(outputs, self.bias)


class ConvPool2D(_TF1Layer):
    """``ops.conv_pool2d`` (``v2=False``, combined kernel) or ``ops.conv_pool2d_v2`` (conv then pool); both store
    ``conv_pool2d/kernel [k, k, in, filters]`` and ``conv_pool2d/bias``."""

    scope = "conv_pool2d"

    def __init__(self, filters: int, kernel_size, strides=(2, 2), use_bias=True, v2=False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = int(filters), _pair(kernel_size), _pair(strides)
        self.use_bias, self.v2 = use_bias, v2
        self._tf1 = []

    def build(self, input_shape):
        self.kernel = self._make("kernel", self.kernel_size + [input_shape[-1], self.filters], _weight_init())
        self.bias = self._make("bias", [self.filters], "zeros") if self.use_bias else None
        self.built = True

    def call(self, inputs):
        fn = conv_pool2d_v2 if self.v2 else conv_pool2d
        return fn(inputs, self.kernel, self.bias, self.strides)


class UpsampleConv2D(_TF1Layer):
    """``ops.upsample_conv2d`` (``v2=False``, combined kernel) or ``ops.upsample_conv2d_v2``; both store
    ``upsample_conv2d/kernel [k, k, in, filters]`` and ``upsample_conv2d/bias``."""

    scope = "upsample_conv2d"

    def __init__(self, filters: int, kernel_size, strides=(2, 2), use_bias=True, v2=False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = int(filters), _pair(kernel_size), _pair(strides)
        self.use_bias, self.v2 = use_bias, v2
        self._tf1 = []

    def build(self, input_shape):
        self.kernel = self._make("kernel", self.kernel_size + [input_shape[-1], self.filters], _weight_init())
        self.bias = self._make("bias", [self.filters], "zeros") if self.use_bias else None
        self.built = True

    def call(self, inputs):
        fn = upsample_conv2d_v2 if self.v2 else upsample_conv2d
        return fn(inputs, self.kernel, self.bias, self.strides)


def downsample_layer(kind: str, filters: int, kernel_size, strides=(2, 2), **kwargs) -> _TF1Layer:
    """The layer of the ``downsample_layer`` hparam: ``conv2d``, ``conv_pool2d`` or ``conv_pool2d_v2``."""
    if kind == "conv2d":
        return Conv2D(filters, kernel_size, strides=strides, **kwargs)
    if kind in ("conv_pool2d", "conv_pool2d_v2"):
        return ConvPool2D(filters, kernel_size, strides=strides, v2=kind.endswith("_v2"), **kwargs)
    raise ValueError(f"downsample_layer: unknown kind {kind!r} (conv2d, conv_pool2d, conv_pool2d_v2)")


def upsample_layer(kind: str, filters: int, kernel_size, strides=(2, 2), **kwargs) -> _TF1Layer:
    """The layer of the ``upsample_layer`` hparam: ``deconv2d``, ``upsample_conv2d`` or ``upsample_conv2d_v2``."""
    if kind == "deconv2d":
        return Deconv2D(filters, kernel_size, strides=strides, **kwargs)
    if kind in ("upsample_conv2d", "upsample_conv2d_v2"):
        return UpsampleConv2D(filters, kernel_size, strides=strides, v2=kind.endswith("_v2"), **kwargs)
    raise ValueError(f"upsample_layer: unknown kind {kind!r} (deconv2d, upsample_conv2d, upsample_conv2d_v2)")
