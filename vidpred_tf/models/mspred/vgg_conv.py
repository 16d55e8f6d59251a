"""VGG-style convolutional encoder/decoder of MSPred (the original ``models/VGG_Conv.py``).

A ``vgg_layer`` is Conv 3x3 p1 + BN + LeakyReLU(0.2). The encoder keeps full resolution in its first block and
max-pools between blocks; its output conv has no BN and no activation. The decoder upsamples (nearest x2), takes
U-Net skips and ends in a 3x3 stride-1 transposed convolution + sigmoid. Channel widths are fixed (64/128/256);
``extra_deep`` adds layers per block. Torch names: ``c1.{i}.main.{0,1}``, ``out_conv``, ``in_conv``,
``upc1.{i}.main.{0,1}``, ``upc3.{n-1}`` (the final ConvT).
"""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import keras
from keras import ops

from vidpred_tf.models.mspred.blocks import (
    ConvNormAct,
    TorchConv2D,
    TorchConv2DTranspose,
    TorchParam,
    apply_in_order,
    join_name,
    leaky_relu,
    modules_original_variables,
    upsample_nearest,
)


class VGGLayer(ConvNormAct):
    """The original's ``vgg_layer``: Conv 3x3 p1, BN, LeakyReLU(0.2), in an ``nn.Sequential`` named ``main``
    (torch names ``main.0`` and ``main.1``)."""

    def __init__(self, nin: int, nout: int, **kwargs):
        super().__init__(nin, nout, 3, 1, 1, False, leaky_relu, **kwargs)

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        return super().original_variables(join_name(prefix, "main"))


def _stack(nin: int, nmid: int, count: int, name: str):
    return [VGGLayer(nin if i == 0 else nmid, nmid, name=f"{name}_{i}") for i in range(count)]


def max_pool_2x2(x):
    return ops.max_pool(x, pool_size=2, strides=2, padding="valid")


class VGGConvEncoder(keras.layers.Layer):
    """``encoder(dim, nc, extra_deep)``: (B, H, W, nc) -> h4 (B, H/8, W/8, dim), skips [h1 (64, full res),
    h2 (128, /2), h3 (256, /4)]."""

    num_blocks = 4

    def __init__(self, dim: int, nc: int = 1, extra_deep: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.nc, self.extra_deep = int(dim), int(nc), bool(extra_deep)
        self.c1 = _stack(nc, 64, 3 if extra_deep else 2, "c1")
        self.c2 = _stack(64, 128, 4 if extra_deep else 2, "c2")
        self.c3 = _stack(128, 256, 5 if extra_deep else 3, "c3")
        self.out_conv = TorchConv2D(256, dim, 3, padding=1, name="out_conv")
        self.built = True

    def spatial_dims(self, img_size: Sequence[int], level: int = -1) -> Tuple[int, int]:
        """Size of the feature map of block ``level`` (0..3): img / 2^level."""
        if level == -1:
            level = self.num_blocks - 1
        if level not in range(self.num_blocks):
            raise ValueError(f"encoder level must be in 0..{self.num_blocks - 1}; got {level}")
        scale = 2 ** level
        return int(img_size[0]) // scale, int(img_size[1]) // scale

    def call(self, x):
        h1 = apply_in_order(self.c1, x)
        h2 = apply_in_order(self.c2, max_pool_2x2(h1))
        h3 = apply_in_order(self.c3, max_pool_2x2(h2))
        h4 = self.out_conv(max_pool_2x2(h3))
        return h4, [h1, h2, h3]

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params = modules_original_variables(join_name(prefix, "c1"), self.c1)
        params.update(modules_original_variables(join_name(prefix, "c2"), self.c2))
        params.update(modules_original_variables(join_name(prefix, "c3"), self.c3))
        params.update(self.out_conv.original_variables(join_name(prefix, "out_conv")))
        return params


class VGGConvDecoder(keras.layers.Layer):
    """``decoder(dim, nc, extra_deep)``: (vec, [s1, s2, s3]) -> frame (B, H, W, nc) in [0,1],
    [d1 (256), d2 (128), d3 (64)]."""

    def __init__(self, dim: int, nc: int = 1, extra_deep: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.nc, self.extra_deep = int(dim), int(nc), bool(extra_deep)
        self.in_conv = TorchConv2D(dim, 256, 3, padding=1, name="in_conv")
        n = 5 if extra_deep else 3
        self.upc1 = ([VGGLayer(512, 256, name="upc1_0")] + [VGGLayer(256, 256, name=f"upc1_{i + 1}")
                                                             for i in range(n - 2)]
                     + [VGGLayer(256, 128, name=f"upc1_{n - 1}")])
        n = 4 if extra_deep else 2
        self.upc2 = ([VGGLayer(256, 128, name="upc2_0")] + [VGGLayer(128, 128, name=f"upc2_{i + 1}")
                                                             for i in range(n - 2)]
                     + [VGGLayer(128, 64, name=f"upc2_{n - 1}")])
        n = 3 if extra_deep else 2
        self.upc3 = [VGGLayer(128, 64, name="upc3_0")] + [VGGLayer(64, 64, name=f"upc3_{i + 1}")
                                                           for i in range(n - 2)]
        self.final_deconv = TorchConv2DTranspose(64, nc, 3, stride=1, padding=1, name="upc3_final")
        self.built = True

    def call(self, vec, skips):
        d1 = self.in_conv(vec)
        d2 = apply_in_order(self.upc1, ops.concatenate([upsample_nearest(d1, 2), skips[-1]], axis=-1))
        d3 = apply_in_order(self.upc2, ops.concatenate([upsample_nearest(d2, 2), skips[-2]], axis=-1))
        x = apply_in_order(self.upc3, ops.concatenate([upsample_nearest(d3, 2), skips[-3]], axis=-1))
        return ops.sigmoid(self.final_deconv(x)), [d1, d2, d3]

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params = self.in_conv.original_variables(join_name(prefix, "in_conv"))
        params.update(modules_original_variables(join_name(prefix, "upc1"), self.upc1))
        params.update(modules_original_variables(join_name(prefix, "upc2"), self.upc2))
        params.update(modules_original_variables(join_name(prefix, "upc3"), self.upc3))
        params.update(self.final_deconv.original_variables(join_name(prefix, f"upc3.{len(self.upc3)}")))
        return params
