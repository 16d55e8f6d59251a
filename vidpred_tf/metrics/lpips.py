"""LPIPS v0.1 (Zhang et al. 2018, the ``lpips`` package) in Keras 3, on AlexNet, VGG16 or SqueezeNet1.1 trunks.

For two frames x0, x1 in [-1, 1] the distance is

    sum over taps l of  mean over (h, w) of  sum over c of  w_l[c] * (u0_l - u1_l)[h, w, c] ** 2

where ``u_l`` is the trunk's activation at tap ``l`` divided by its Euclidean norm over channels (plus 1e-10),
the trunk sees ``(x - SHIFT) / SCALE`` (the lpips ScalingLayer, which maps [-1, 1] input to ImageNet
statistics) and ``w_l`` are the non-negative calibration weights of the lpips "lin" layers (1x1 convolutions
without bias). The taps are the ReLU outputs lpips reads: AlexNet relu1..relu5, VGG16 relu1_2, relu2_2, relu3_3,
relu4_3, relu5_3, and SqueezeNet1.1 the first ReLU and the outputs of Fire modules fire3, fire5, fire6, fire7,
fire8 and fire9 (torchvision ``features`` 1, 4, 7, 9, 10, 11, 12: the seven lpips slices).

Everything is NHWC. ``LPIPS`` is the metric: ``[..., H, W, C]`` frames in, one value per frame out (NumPy in,
NumPy out; tensors in, tensors out), with the input range stated on every call. ``LPIPSNetwork`` is the Keras
model under it. Weights come from the original files through :mod:`vidpred_tf.convert.lpips`; a freshly built
network has random weights, which only tests want.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import List, Optional, Tuple

import keras
import tensorflow as tf

from vidpred_tf.fileio import save_keras_weights

NETS = ("alex", "vgg", "squeeze")
INPUT_RANGES = ("[0,1]", "[-1,1]")

# The lpips ScalingLayer: per RGB channel, trunk input = (x - SHIFT) / SCALE for x in [-1, 1].
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
# Added to the channel norm before dividing (lpips.normalize_tensor).
NORM_EPSILON = 1e-10


@dataclasses.dataclass(frozen=True)
class Conv:
    """A convolution followed by ReLU. ``key`` is its prefix in a torchvision state_dict (``features.0``)."""

    key: str
    in_channels: int
    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0


@dataclasses.dataclass(frozen=True)
class MaxPool:
    """Max pooling without padding; ``ceil_mode`` keeps a last, partial window as PyTorch's ceil_mode does."""

    kernel: int
    stride: int
    ceil_mode: bool = False


@dataclasses.dataclass(frozen=True)
class Fire:
    """SqueezeNet's Fire module: 1x1 squeeze + ReLU, then 1x1 and 3x3 expands (+ ReLU) concatenated in that order."""

    key: str
    in_channels: int
    squeeze_channels: int
    expand1x1_channels: int
    expand3x3_channels: int

    @property
    def convs(self) -> Tuple[Conv, Conv, Conv]:
        return (Conv(f"{self.key}.squeeze", self.in_channels, self.squeeze_channels, 1),
                Conv(f"{self.key}.expand1x1", self.squeeze_channels, self.expand1x1_channels, 1),
                Conv(f"{self.key}.expand3x3", self.squeeze_channels, self.expand3x3_channels, 3, padding=1))

    @property
    def out_channels(self) -> int:
        return self.expand1x1_channels + self.expand3x3_channels


def _vgg16_stages():
    # torchvision's VGG16 "features": 13 3x3 convolutions (padding 1) at these indices, 2x2 pools between blocks.
    blocks = (((0, 3, 64), (2, 64, 64)),
              ((5, 64, 128), (7, 128, 128)),
              ((10, 128, 256), (12, 256, 256), (14, 256, 256)),
              ((17, 256, 512), (19, 512, 512), (21, 512, 512)),
              ((24, 512, 512), (26, 512, 512), (28, 512, 512)))
    stages = []
    for number, block in enumerate(blocks):
        ops = [] if number == 0 else [MaxPool(2, 2)]
        ops += [Conv(f"features.{index}", cin, cout, 3, padding=1) for index, cin, cout in block]
        stages.append(tuple(ops))
    return tuple(stages)


# Each trunk as the lpips slices: the ops of one stage run in order and the stage's output is one tap.
BACKBONES = {
    "alex": (
        (Conv("features.0", 3, 64, 11, stride=4, padding=2),),
        (MaxPool(3, 2), Conv("features.3", 64, 192, 5, padding=2)),
        (MaxPool(3, 2), Conv("features.6", 192, 384, 3, padding=1)),
        (Conv("features.8", 384, 256, 3, padding=1),),
        (Conv("features.10", 256, 256, 3, padding=1),),
    ),
    "vgg": _vgg16_stages(),
    "squeeze": (
        (Conv("features.0", 3, 64, 3, stride=2),),
        (MaxPool(3, 2, ceil_mode=True), Fire("features.3", 64, 16, 64, 64), Fire("features.4", 128, 16, 64, 64)),
        (MaxPool(3, 2, ceil_mode=True), Fire("features.6", 128, 32, 128, 128),
         Fire("features.7", 256, 32, 128, 128)),
        (MaxPool(3, 2, ceil_mode=True), Fire("features.9", 256, 48, 192, 192)),
        (Fire("features.10", 384, 48, 192, 192),),
        (Fire("features.11", 384, 64, 256, 256),),
        (Fire("features.12", 512, 64, 256, 256),),
    ),
}

# The prefix of the backbone's classification head in a torchvision state_dict: present in the downloaded
# files, unused by LPIPS.
HEAD_PREFIX = "classifier."


def _check_net(net: str) -> str:
    if net not in BACKBONES:
        raise ValueError(f"unknown LPIPS net {net!r}; known nets: {list(NETS)}")
    return net


def backbone_convs(net: str) -> List[Conv]:
    """Every convolution of the trunk ``net`` in forward order (Fire modules expanded)."""
    convs = []
    for stage in BACKBONES[_check_net(net)]:
        for op in stage:
            if isinstance(op, Conv):
                convs.append(op)
            elif isinstance(op, Fire):
                convs.extend(op.convs)
    return convs


def tap_channels(net: str) -> Tuple[int, ...]:
    """Channels of each tap (lpips' ``chns``): alex (64, 192, 384, 256, 256), vgg (64, 128, 256, 512, 512),
    squeeze (64, 128, 256, 384, 384, 512, 512)."""
    channels = []
    for stage in BACKBONES[_check_net(net)]:
        last = [op for op in stage if not isinstance(op, MaxPool)][-1]
        channels.append(last.out_channels)
    return tuple(channels)


def _pooled_size(size: int, pool: MaxPool) -> int:
    if pool.ceil_mode:
        return -(-(size - pool.kernel) // pool.stride) + 1
    return (size - pool.kernel) // pool.stride + 1


def _check_frame_size(net: str, height: Optional[int], width: Optional[int]) -> None:
    """Walk the trunk's geometry so that a too small frame fails here, naming the layer, not deep inside TF."""
    for axis, size in (("height", height), ("width", width)):
        if size is None:
            continue
        current = size
        for stage in BACKBONES[net]:
            for op in stage:
                for layer in (op.convs if isinstance(op, Fire) else (op,)):
                    if isinstance(layer, MaxPool):
                        if current < layer.kernel:
                            raise ValueError(f"LPIPS({net}): frame {axis} {size} is too small: a {layer.kernel}x"
                                             f"{layer.kernel} max pool sees {current} pixels")
                        current = _pooled_size(current, layer)
                    else:
                        padded = current + 2 * layer.padding
                        if padded < layer.kernel:
                            raise ValueError(f"LPIPS({net}): frame {axis} {size} is too small for convolution "
                                             f"{layer.key} ({layer.kernel}x{layer.kernel}, sees {padded} pixels)")
                        current = (padded - layer.kernel) // layer.stride + 1


def _layer_name(key: str) -> str:
    return key.replace(".", "_")


class LPIPSNetwork(keras.Model):
    """The LPIPS trunk and calibration layers of one ``net``; ``call((x0, x1))`` gives ``[N]`` distances.

    Inputs are NHWC RGB batches already in [-1, 1]; :class:`LPIPS` does the range, gray and shape handling. The
    trunk's convolutions are named after their torchvision keys (``features.3.squeeze`` -> ``features_3_squeeze``)
    and the calibration layers ``lin0``, ``lin1``, ... as in lpips; all weights exist once constructed.
    """

    def __init__(self, net: str = "alex", **kwargs):
        kwargs.setdefault("name", f"lpips_{_check_net(net)}")
        super().__init__(**kwargs)
        self.net = net
        self.conv_layers = []
        self._conv_index = {}
        for conv in backbone_convs(net):
            layer = keras.layers.Conv2D(conv.out_channels, conv.kernel, strides=conv.stride, padding="valid",
                                        use_bias=True, name=_layer_name(conv.key))
            layer.build((None, None, None, conv.in_channels))
            self._conv_index[conv.key] = len(self.conv_layers)
            self.conv_layers.append(layer)
        self.lin_layers = []
        for index, channels in enumerate(tap_channels(net)):
            layer = keras.layers.Conv2D(1, 1, use_bias=False, name=f"lin{index}")
            layer.build((None, None, None, channels))
            self.lin_layers.append(layer)
        self.built = True

    def conv_layer(self, key: str) -> keras.layers.Conv2D:
        """The Keras layer of the torchvision convolution ``key`` (``features.0``, ``features.3.expand3x3``...)."""
        if key not in self._conv_index:
            raise KeyError(f"LPIPS({self.net}) has no convolution {key!r}")
        return self.conv_layers[self._conv_index[key]]

    def _conv_relu(self, conv: Conv, x):
        if conv.padding:
            pad = conv.padding
            x = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
        return tf.nn.relu(self.conv_layer(conv.key)(x))

    @staticmethod
    def _max_pool(pool: MaxPool, x):
        if pool.ceil_mode:
            # PyTorch's ceil_mode adds a last window that hangs over the bottom/right edge; padding there with
            # the lowest value gives that window the max of its real pixels.
            shape = tf.shape(x)
            pad_h = tf.math.floormod(pool.kernel - shape[1], pool.stride)
            pad_w = tf.math.floormod(pool.kernel - shape[2], pool.stride)
            x = tf.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], constant_values=x.dtype.min)
        return tf.nn.max_pool2d(x, pool.kernel, pool.stride, padding="VALID")

    def features(self, images) -> List[tf.Tensor]:
        """The tap activations (after ReLU) of ``[N, H, W, 3]`` images in [-1, 1], one per lpips slice."""
        x = (tf.cast(images, tf.float32) - tf.constant(SHIFT, tf.float32)) / tf.constant(SCALE, tf.float32)
        taps = []
        for stage in BACKBONES[self.net]:
            for op in stage:
                if isinstance(op, MaxPool):
                    x = self._max_pool(op, x)
                elif isinstance(op, Fire):
                    squeeze, expand1x1, expand3x3 = op.convs
                    x = self._conv_relu(squeeze, x)
                    x = tf.concat([self._conv_relu(expand1x1, x), self._conv_relu(expand3x3, x)], axis=-1)
                else:
                    x = self._conv_relu(op, x)
            taps.append(x)
        return taps

    def call(self, inputs):
        images0, images1 = inputs
        # Two separate passes (not one concatenated batch) so that identical images give bit-identical features.
        features0 = self.features(images0)
        features1 = self.features(images1)
        distance = 0.0
        for lin, tap0, tap1 in zip(self.lin_layers, features0, features1):
            unit0 = tap0 / (tf.norm(tap0, axis=-1, keepdims=True) + NORM_EPSILON)
            unit1 = tap1 / (tf.norm(tap1, axis=-1, keepdims=True) + NORM_EPSILON)
            distance = distance + tf.reduce_mean(lin(tf.square(unit0 - unit1)), axis=[1, 2, 3])
        return distance


def _range_to_signed(images: tf.Tensor, input_range: str) -> tf.Tensor:
    if input_range == "[0,1]":
        return images * 2.0 - 1.0
    return images


class LPIPS:
    """LPIPS v0.1 distance per frame (lower is more similar; identical frames give 0).

    ``LPIPS(net)`` builds the network with random weights; give ``weights`` (a ``.weights.h5`` written by
    :meth:`save_weights` or by ``python -m vidpred_tf.convert.lpips``) or use
    :func:`vidpred_tf.convert.lpips.lpips_from_original` for the published weights. ``batch_size`` bounds how
    many frames go through the network at once in eager mode.

    Call it as ``lpips(a, b, input_range="[0,1]")`` on ``[..., H, W, C]`` frames with C = 3 or C = 1 (gray frames
    are tiled to RGB, as SAVP's evaluation does). The range is required: lpips' own ``forward`` assumes [-1, 1]
    unless told ``normalize=True``. MSPred's evaluation passes [0, 1] frames without rescaling; to reproduce its
    numbers say ``input_range="[-1,1]"`` for such frames. SAVP reports the negated distance (higher is better);
    this returns the distance.

    On GPUs TensorFlow runs float32 convolutions in TF32 by default, which moves LPIPS in the third or fourth
    digit; ``tf.config.experimental.enable_tensor_float_32_execution(False)`` gives full float32.
    """

    def __init__(self, net: str = "alex", weights: Optional[str] = None, batch_size: int = 64):
        self.net = _check_net(net)
        if batch_size < 1:
            raise ValueError(f"LPIPS: batch_size must be positive; got {batch_size}")
        self.batch_size = int(batch_size)
        self.network = LPIPSNetwork(net)
        self.pretrained = False
        self._warned_random = False
        if weights is not None:
            self.load_weights(weights)

    @property
    def name(self) -> str:
        """The name a result table should use: ``lpips_v0.1_alex`` etc."""
        return f"lpips_v0.1_{self.net}"

    def load_weights(self, path) -> None:
        """Load a ``.weights.h5`` file of this net (see :meth:`save_weights`)."""
        path = os.fspath(path)
        if not path.endswith(".weights.h5"):
            raise ValueError(f"LPIPS weights must be a .weights.h5 file; got {path} (convert the original files "
                             "with python -m vidpred_tf.convert.lpips)")
        if not os.path.exists(path):
            raise FileNotFoundError(f"LPIPS weights file {path} not found")
        try:
            self.network.load_weights(path)
        except ValueError as err:
            # Keras lists every object it could not fill; the first two lines say what went wrong.
            summary = " ".join(str(err).splitlines()[:2])
            raise ValueError(f"LPIPS({self.net}): {path} does not hold weights of this net: {summary}") from err
        self.pretrained = True

    def mark_pretrained(self) -> None:
        """Record that the network's weights were assigned from published ones (used by the converter)."""
        self.pretrained = True

    def save_weights(self, path) -> str:
        """Write the network's weights to ``path`` (ending in ``.weights.h5``) atomically."""
        return save_keras_weights(self.network, path)

    def _prepare(self, images, input_range: str, which: str) -> tf.Tensor:
        images = tf.convert_to_tensor(images)
        if images.dtype.is_integer or images.dtype == tf.bool:
            raise ValueError(f"LPIPS: {which} has integer dtype {images.dtype.name}; convert the frames to float "
                             f"in {list(INPUT_RANGES)} and say which with input_range")
        images = tf.cast(images, tf.float32)
        if images.shape.rank is not None and images.shape.rank < 3:
            raise ValueError(f"LPIPS: frames must be [..., H, W, C]; {which} has shape {images.shape}")
        channels = images.shape[-1]
        if channels == 1:
            images = tf.tile(images, [1] * (images.shape.rank - 1) + [3])
        elif channels != 3:
            raise ValueError(f"LPIPS: frames need 1 (gray) or 3 (RGB) channels; {which} has shape {images.shape}")
        if tf.executing_eagerly() and tf.size(images) > 0:
            # A gross misfit (e.g. [0, 255] frames called [0, 1]) gives meaningless distances: refuse it. Values
            # a little outside the range (unclipped predictions) are accepted.
            low, high = (0.0, 1.0) if input_range == "[0,1]" else (-1.0, 1.0)
            slack = 0.5 * (high - low)
            smallest, largest = float(tf.reduce_min(images)), float(tf.reduce_max(images))
            if smallest < low - slack or largest > high + slack:
                raise ValueError(f"LPIPS: {which} has values in [{smallest:g}, {largest:g}], far outside "
                                 f"input_range {input_range}")
        return _range_to_signed(images, input_range)

    def __call__(self, a, b, input_range: str):
        """One LPIPS distance per frame: ``[..., H, W, C]`` x2 -> ``[...]``."""
        if input_range not in INPUT_RANGES:
            raise ValueError(f"LPIPS: input_range must be one of {list(INPUT_RANGES)}; got {input_range!r}")
        return_tensor = tf.is_tensor(a) or tf.is_tensor(b)
        a = self._prepare(a, input_range, "the first input")
        b = self._prepare(b, input_range, "the second input")
        if a.shape.is_fully_defined() and b.shape.is_fully_defined():
            if a.shape != b.shape:
                raise ValueError(f"LPIPS: both inputs must have the same shape; got {a.shape} and {b.shape}")
        elif not a.shape.is_compatible_with(b.shape):
            raise ValueError(f"LPIPS: both inputs must have the same shape; got {a.shape} and {b.shape}")
        _check_frame_size(self.net, a.shape[-3], a.shape[-2])
        if not self.pretrained and not self._warned_random:
            warnings.warn(f"LPIPS({self.net}) has random weights: load converted weights "
                          "(vidpred_tf.convert.lpips) for meaningful distances", stacklevel=2)
            self._warned_random = True

        leading_shape = tf.shape(a)[:-3]
        frame_shape = tf.shape(a)[-3:]
        flat_a = tf.reshape(a, tf.concat([[-1], frame_shape], axis=0))
        flat_b = tf.reshape(b, tf.concat([[-1], frame_shape], axis=0))
        if tf.executing_eagerly():
            num_frames = int(flat_a.shape[0])
            chunks = [self.network((flat_a[start:start + self.batch_size], flat_b[start:start + self.batch_size]))
                      for start in range(0, num_frames, self.batch_size)]
            values = tf.concat(chunks, axis=0) if chunks else tf.zeros([0], tf.float32)
        else:
            values = self.network((flat_a, flat_b))
        values = tf.reshape(values, leading_shape)
        return values if return_tensor else values.numpy()
