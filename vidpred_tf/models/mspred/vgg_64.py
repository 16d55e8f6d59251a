"""VGG-64 encoder/decoder of the linear SVG baselines (the original ``models/VGG_64.py``).

A ``vgg_layer`` is Conv 3x3 p1 + BN + LeakyReLU(0.2). The encoder runs blocks of 2/2/3/3 vgg_layers (64, 128,
256, 512 channels) with 2x2 max-pooling between them, then ``c5`` = Conv 4x4 s1 p0 + BN + tanh on the pooled
4x4 map, flattened to a ``dim`` vector; it returns ``(vec (B, dim), [h1, h2, h3, h4])`` at 64/32/16/8 px. The
decoder starts with ``upc1`` = ConvT 4x4 s1 p0 (1 -> 4 px) + BN + LeakyReLU, then upsamples (nearest x2) and
concatenates a skip before each block; its last block ends in a ConvT 3x3 s1 p1 + sigmoid. It returns
``(frame, [d1, d2, d3, d4])``. Channel widths are fixed; ``extra_deep`` is accepted and ignored, as in the
original. Only 64x64 frames fit.

Torch names: ``c{1..4}.{i}.main.{0,1}``, ``c5.{0,1}``, ``upc1.{0,1}``, ``upc{2..5}.{i}.main.{0,1}``,
``upc5.1`` (the final ConvT).
"""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import keras
from keras import ops

from vidpred_tf.models.mspred.blocks import (
    ConvNormAct,
    TorchConv2DTranspose,
    TorchParam,
    apply_in_order,
    join_name,
    leaky_relu,
    modules_original_variables,
    upsample_nearest,
)
from vidpred_tf.models.mspred.dcgan_64 import IMAGE_SIZE, check_image_size
from vidpred_tf.models.mspred.vgg_conv import VGGLayer, max_pool_2x2

# (input width, output width) of each vgg_layer, block by block.
_ENCODER_BLOCKS = (
    ((None, 64), (64, 64)),
    ((64, 128), (128, 128)),
    ((128, 256), (256, 256), (256, 256)),
    ((256, 512), (512, 512), (512, 512)),
)
_DECODER_BLOCKS = (
    ((1024, 512), (512, 512), (512, 256)),
    ((512, 256), (256, 256), (256, 128)),
    ((256, 128), (128, 64)),
    ((128, 64),),
)


class VGG64Encoder(keras.layers.Layer):
    """``encoder(dim, nc)``: (B, 64, 64, nc) -> vec (B, dim), skips [h1 (64, 64 px), h2 (128, 32 px),
    h3 (256, 16 px), h4 (512, 8 px)]."""

    def __init__(self, dim: int, nc: int = 1, extra_deep: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.nc, self.extra_deep = int(dim), int(nc), bool(extra_deep)
        self.blocks = []
        for b, block in enumerate(_ENCODER_BLOCKS):
            layers = [VGGLayer(self.nc if nin is None else nin, nout, name=f"c{b + 1}_{i}")
                      for i, (nin, nout) in enumerate(block)]
            self.blocks.append(layers)
        self.c5 = ConvNormAct(512, self.dim, 4, 1, 0, False, ops.tanh, name="c5")
        self.built = True

    def spatial_dims(self, img_size: Sequence[int] = (IMAGE_SIZE, IMAGE_SIZE), level: int = -1) -> Tuple[int, int]:
        """The encoder output is a vector: (1, 1), whatever ``img_size`` (the original asserts level == -1)."""
        if level != -1:
            raise ValueError(f"the VGG-64 encoder only reports its output level (-1); got level {level}")
        return 1, 1

    def call(self, x):
        check_image_size(x.shape[1], x.shape[2], "the VGG-64 encoder")
        skips = []
        for b, block in enumerate(self.blocks):
            x = apply_in_order(block, x if b == 0 else max_pool_2x2(x))
            skips.append(x)
        vec = ops.reshape(self.c5(max_pool_2x2(x)), (-1, self.dim))
        return vec, skips

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params: Dict[str, TorchParam] = {}
        for b, block in enumerate(self.blocks):
            params.update(modules_original_variables(join_name(prefix, f"c{b + 1}"), block))
        params.update(self.c5.original_variables(join_name(prefix, "c5")))
        return params


class VGG64Decoder(keras.layers.Layer):
    """``decoder(dim, nc)``: (vec (B, dim), [h1, h2, h3, h4]) -> frame (B, 64, 64, nc) in [0, 1],
    [d1 (512, 4 px), d2 (256, 8 px), d3 (128, 16 px), d4 (64, 32 px)]."""

    def __init__(self, dim: int, nc: int = 1, extra_deep: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.nc, self.extra_deep = int(dim), int(nc), bool(extra_deep)
        self.upc1 = ConvNormAct(self.dim, 512, 4, 1, 0, True, leaky_relu, name="upc1")
        self.blocks = []
        for b, block in enumerate(_DECODER_BLOCKS):
            self.blocks.append([VGGLayer(nin, nout, name=f"upc{b + 2}_{i}") for i, (nin, nout) in enumerate(block)])
        self.final_deconv = TorchConv2DTranspose(64, self.nc, 3, stride=1, padding=1, name="upc5_final")
        self.built = True

    def call(self, vec, skips):
        if len(skips) != 4:
            raise ValueError(f"the VGG-64 decoder takes 4 skips [h1, h2, h3, h4]; got {len(skips)}")
        x = self.upc1(ops.reshape(vec, (-1, 1, 1, self.dim)))
        features = [x]
        for b, (block, skip) in enumerate(zip(self.blocks, (skips[3], skips[2], skips[1], skips[0]))):
            x = apply_in_order(block, ops.concatenate([upsample_nearest(x, 2), skip], axis=-1))
            if b < 3:
                features.append(x)
        frame = ops.sigmoid(self.final_deconv(x))
        return frame, features

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params = self.upc1.original_variables(join_name(prefix, "upc1"))
        for b, block in enumerate(self.blocks):
            params.update(modules_original_variables(join_name(prefix, f"upc{b + 2}"), block))
        params.update(self.final_deconv.original_variables(join_name(prefix, f"upc5.{len(self.blocks[-1])}")))
        return params
