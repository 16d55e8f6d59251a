"""Frozen stacked-hourglass features (the original ``imggen_src/hg_stacked.py``, ``hg_forward``): the second
perceptual network of the image generator's feature loss.

Public interface::

    net = StackedHourglassFeatures(params)  # params: the 414 arrays in traversal order, convs in HWIO
    layers = net(images)                    # images (B, H, W, 3) in [-1, 1] -> list of 4 tensors, innermost first:
                                            # (B, 8, 8, 512), (B, 16, 16, 512), (B, 32, 32, 512), (B, 64, 64, 512)
    layers = net(images, num_groups=2)      # G equal consecutive chunks of the batch, each with its own BN moments
    layers = net.features_of_unit_images(x) # x already in [0, 1] (the original ``hg_forward(x)``)
    net.original_variables(first=20)        # {"Variable_N": weight} for the 414 arrays in creation order
    hourglass_param_shapes(widths)          # the 414 HWIO shapes (and kinds) for nominal->real widths
    resize_bilinear_legacy(x, [h, w])       # TF1 bilinear resize (no half-pixel centres), dtype kept
    batch_moment_norm(x, offset, groups)    # the original's "BN" (batch moments, offset, no scale)

``params`` come from :func:`vidpred_tf.convert.hierchvid_perceptual.load_hourglass_weights` (files
``hourglass_weights_1..414.npy`` in Torch OIHW layout, transposed to HWIO there, or the golden npz). Widths are
read from the arrays: the original's nominal 64/128/256/512 may be any widths (the golden uses 4/6/8/10).

As in the original's ``model_analogy.py`` an image x in [-1, 1] is fed as x01 = (x + 1) / 2 (BGR as given). The
network:

* x01 resized to 256x256 with TF1's legacy bilinear resize (align_corners=False, half_pixel_centers=False);
* conv 7x7 stride 2 -> "BN" -> ReLU; residual(64->128); max-pool 2x2; residual(128,128) x2; residual(128->256);
* hourglass(4, 256, 512), whose every level appends ``up4 + up5`` to the output list (innermost level first).

"BN" is ``(x - mean) / sqrt(var + 1e-5) + offset`` with the batch moments over (N, H, W) of THIS call, always
(train and test alike), the offset the first array of each pair; the second array of a pair is loaded (it is one
of the 414) but unused, as in the original (``scale_after_normalization=False``). Gradients flow through the
moments to the input. A residual is [BN, ReLU, conv1x1 -> out/2], [BN, ReLU, conv3x3 -> out/2], [BN, ReLU,
conv1x1 -> out] plus a 1x1 conv skip when the nominal in and out widths differ (identity otherwise). Every conv
pads SAME and adds its bias. The 2x upsampling inside the hourglass is the same legacy bilinear resize.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

NUM_PARAMS = 414
HOURGLASS_DEPTH = 4
INPUT_SIZE = 256
BN_EPSILON = 1e-5
NOMINAL_WIDTHS = (64, 128, 256, 512)
REAL_WIDTHS = {64: 64, 128: 128, 256: 256, 512: 512}


def resize_bilinear_legacy(images, size):
    """TF1 ``tf.image.resize_images`` / ``resize_bilinear`` with align_corners=False, half_pixel_centers=False
    (source coordinate = destination * in / out): the only faithful op is the legacy kernel. The op returns
    float32 whatever it is given; the result is cast back to the input's dtype."""
    resized = tf.raw_ops.ResizeBilinear(images=images, size=tf.constant(size, tf.int32), align_corners=False,
                                        half_pixel_centers=False)
    return tf.cast(resized, images.dtype)


def _nominal_structure():
    """The traversal of ``hg_forward``: a flat list of ``(kind, nominal in, nominal out, size, stride)``; kinds are
    'conv' (weight + bias) and 'bn' (offset + unused), in the original's order. Widths are tokens: "3" (the image),
    "64".."512" (the nominal widths) and "<n>/2" (the middle of a residual with output n)."""
    steps = [("conv", "3", "64", 7, 2), ("bn", "64", "64", 0, 0)]

    def residual(nin, nout):
        full_in, full_out, half = str(nin), str(nout), f"{nout}/2"  # a half width is its own width (4/6/8/10 -> 3)
        steps.extend([("bn", full_in, full_in, 0, 0), ("conv", full_in, half, 1, 1),
                      ("bn", half, half, 0, 0), ("conv", half, half, 3, 1),
                      ("bn", half, half, 0, 0), ("conv", half, full_out, 1, 1)])
        if nin != nout:
            steps.append(("conv", full_in, full_out, 1, 1))

    def hourglass(n, nin, nout):
        residual(nin, 256), residual(256, 256), residual(256, nout)
        residual(nin, 256), residual(256, 256), residual(256, 256)
        if n > 1:
            hourglass(n - 1, 256, nout)
        else:
            residual(256, nout)
        residual(nout, nout)

    residual(64, 128), residual(128, 128), residual(128, 128), residual(128, 256)
    hourglass(HOURGLASS_DEPTH, 256, 512)
    return steps


def hourglass_param_shapes(widths: Optional[Dict[int, int]] = None) -> List[Tuple[str, tuple]]:
    """The 414 ``(kind, HWIO shape)`` in traversal order; kinds 'conv_w', 'conv_b', 'bn_offset', 'bn_unused'.
    ``widths`` maps the nominal 64/128/256/512 to real widths; a nominal ``n // 2`` maps to ``widths[n] // 2``."""
    widths = dict(REAL_WIDTHS if widths is None else widths)

    def real(token):
        if token == "3":
            return 3
        if token.endswith("/2"):
            return widths[int(token[:-2])] // 2
        return widths[int(token)]

    shapes = []
    for kind, nin, nout, size, _ in _nominal_structure():
        if kind == "conv":
            shapes += [("conv_w", (size, size, real(nin), real(nout))), ("conv_b", (real(nout),))]
        else:
            shapes += [("bn_offset", (real(nin),)), ("bn_unused", (real(nin),))]
    return shapes


@dataclasses.dataclass(frozen=True)
class _Conv:
    kernel: int  # index of the kernel in the parameter list (the bias is the next one)
    stride: int


@dataclasses.dataclass(frozen=True)
class _Residual:
    convs: Tuple[Tuple[int, _Conv], ...]  # (BN offset index, conv) x 3
    skip: Optional[_Conv]


def check_hourglass_params(params: Sequence[np.ndarray], names: Optional[Sequence[str]] = None) -> None:
    """Raise ``ValueError`` naming the array (``names[i]``, by default ``hourglass_weights_<i + 1>``) that does not
    fit; convs are expected in HWIO."""
    if len(params) != NUM_PARAMS:
        raise ValueError(f"the hourglass weights: {len(params)} arrays given, the hourglass consumes exactly "
                         f"{NUM_PARAMS}")
    if names is None:
        names = [f"hourglass_weights_{i + 1}" for i in range(NUM_PARAMS)]
    index = 0
    channels = {"3": 3}  # width token -> real width, learnt from the arrays in order

    def fail(i, text):
        raise ValueError(f"{names[i]}: {text}")

    for kind, nin, nout, size, _ in _nominal_structure():
        first, second = np.asarray(params[index]), np.asarray(params[index + 1])
        if kind == "conv":
            if first.ndim != 4 or first.shape[:2] != (size, size):
                fail(index, f"has shape {first.shape}, expected a ({size}, {size}, in, out) HWIO conv kernel")
            if nin in channels and first.shape[2] != channels[nin]:
                fail(index, f"has shape {first.shape}: {first.shape[2]} input channels, the previous layer gives "
                     f"{channels[nin]}")
            channels.setdefault(nin, first.shape[2])
            if nout in channels and first.shape[3] != channels[nout]:
                fail(index, f"has shape {first.shape}: {first.shape[3]} output channels, expected {channels[nout]}")
            channels.setdefault(nout, first.shape[3])
            if second.shape != (first.shape[3],):
                fail(index + 1, f"has shape {second.shape}, expected the conv bias ({first.shape[3]},)")
        else:
            width = channels.get(nin)
            for i, array in ((index, first), (index + 1, second)):
                if array.ndim != 1 or (width is not None and array.shape[0] != width):
                    fail(i, f"has shape {array.shape}, expected a BN vector ({width},)")
            channels.setdefault(nin, first.shape[0])
        index += 2


def _plan():
    """The residual blocks as index plans, in the order the forward uses them (stem and hourglass separate)."""
    steps = iter(enumerate(_nominal_structure()))

    def take():
        position, step = next(steps)
        return 2 * position, step

    def residual(nin, nout):
        convs = []
        for _ in range(3):
            bn_index, _ = take()
            conv_index, (_, _, _, _, stride) = take()
            convs.append((bn_index, _Conv(conv_index, stride)))
        skip = None
        if nin != nout:
            skip_index, (_, _, _, _, stride) = take()
            skip = _Conv(skip_index, stride)
        return _Residual(tuple(convs), skip)

    def hourglass(n, nin, nout):
        level = {"up": [residual(nin, 256), residual(256, 256), residual(256, nout)],
                 "low": [residual(nin, 256), residual(256, 256), residual(256, 256)]}
        level["inner"] = hourglass(n - 1, 256, nout) if n > 1 else residual(256, nout)
        level["last"] = residual(nout, nout)
        return level

    stem_index, (_, _, _, _, stem_stride) = take()
    stem_bn, _ = take()
    stem = (_Conv(stem_index, stem_stride), stem_bn)
    trunk = [residual(64, 128), residual(128, 128), residual(128, 128), residual(128, 256)]
    return stem, trunk, hourglass(HOURGLASS_DEPTH, 256, 512)


def batch_moment_norm(x, offset, num_groups: int = 1):
    """The original's "BN": ``batch_norm_with_global_normalization`` of x with its own batch moments over (N, H, W)
    (per chunk of the batch with ``num_groups``), eps 1e-5, ``offset`` added, no scale. The gradient goes through
    the moments (as in the original, where they are ops of the graph)."""
    if num_groups == 1:
        mean, variance = tf.nn.moments(x, axes=[0, 1, 2])
        return tf.nn.batch_normalization(x, mean, variance, offset, None, BN_EPSILON)
    shape = tf.shape(x)
    chunks = tf.reshape(x, tf.concat([[num_groups, -1], shape[1:]], 0))
    mean, variance = tf.nn.moments(chunks, axes=[1, 2, 3], keepdims=True)
    return tf.reshape(tf.nn.batch_normalization(chunks, mean, variance, offset, None, BN_EPSILON), shape)


def _max_pool_2x2(x):
    return tf.nn.max_pool2d(x, 2, 2, "VALID")


class StackedHourglassFeatures(keras.layers.Layer):
    """The four hourglass outputs of the frozen pose network; see the module docstring."""

    def __init__(self, params: Sequence[np.ndarray], **kwargs):
        kwargs.setdefault("name", "hourglass_features")
        super().__init__(trainable=False, **kwargs)
        check_hourglass_params(params)
        self.params = []
        for i, value in enumerate(params):
            value = np.asarray(value, np.float32)
            variable = self.add_weight(name=f"hourglass_weights_{i + 1}", shape=value.shape, initializer="zeros",
                                       trainable=False)
            variable.assign(value.astype(variable.dtype))
            self.params.append(variable)
        self.output_width = int(self.params[-2].shape[-1])
        self._stem, self._trunk, self._hourglass = _plan()

    def original_variables(self, first: int = 0) -> Dict[str, keras.Variable]:
        """``{"Variable_N": weight}``: the original makes every one of the 414 arrays an unnamed ``tf.Variable`` in
        traversal order (in the train graph the first hourglass is Variable_20..433, the second 434..847)."""
        return {(f"Variable_{first + i}" if first + i else "Variable"): v for i, v in enumerate(self.params)}

    def _value(self, variable):
        return tf.cast(variable, self.compute_dtype)

    def _conv(self, x, conv: _Conv):
        out = tf.nn.conv2d(x, self._value(self.params[conv.kernel]), conv.stride, "SAME")
        return tf.nn.bias_add(out, self._value(self.params[conv.kernel + 1]))

    def _batch_norm(self, x, offset_index: int, num_groups: int):
        return batch_moment_norm(x, self._value(self.params[offset_index]), num_groups)

    def _residual(self, x, block: _Residual, num_groups: int):
        out = x
        for bn_index, conv in block.convs:
            out = self._conv(tf.nn.relu(self._batch_norm(out, bn_index, num_groups)), conv)
        return out + (x if block.skip is None else self._conv(x, block.skip))

    def _level(self, x, level, num_groups: int, outputs: list):
        up = x
        for block in level["up"]:
            up = self._residual(up, block, num_groups)
        low = _max_pool_2x2(x)
        for block in level["low"]:
            low = self._residual(low, block, num_groups)
        if isinstance(level["inner"], dict):
            low = self._level(low, level["inner"], num_groups, outputs)
        else:
            low = self._residual(low, level["inner"], num_groups)
        low = self._residual(low, level["last"], num_groups)
        height, width = low.shape[1], low.shape[2]
        if height is None or width is None:
            raise ValueError("the hourglass needs static spatial sizes")
        merged = up + resize_bilinear_legacy(low, [2 * height, 2 * width])
        outputs.append(merged)
        return merged

    def features_of_unit_images(self, x01, num_groups: int = 1) -> List[tf.Tensor]:
        """The original ``hg_forward(x01)``: the four hourglass outputs, innermost first."""
        x = tf.cast(x01, self.compute_dtype)
        if tuple(x.shape[1:3]) != (INPUT_SIZE, INPUT_SIZE):
            x = resize_bilinear_legacy(x, [INPUT_SIZE, INPUT_SIZE])
        conv, bn_index = self._stem
        x = tf.nn.relu(self._batch_norm(self._conv(x, conv), bn_index, num_groups))
        x = self._residual(x, self._trunk[0], num_groups)
        x = _max_pool_2x2(x)
        for block in self._trunk[1:]:
            x = self._residual(x, block, num_groups)
        outputs: List[tf.Tensor] = []
        self._level(x, self._hourglass, num_groups, outputs)
        return outputs

    def call(self, images, num_groups: int = 1):
        return self.features_of_unit_images((tf.cast(images, self.compute_dtype) + 1.0) / 2.0, num_groups)

    def compute_output_shape(self, input_shape):
        batch = input_shape[0]
        return [(batch, size, size, self.output_width) for size in (8, 16, 32, 64)]
