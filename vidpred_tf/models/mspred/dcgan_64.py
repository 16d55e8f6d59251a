"""DCGAN-64 encoder/decoder of the linear SVG baselines (the original ``models/DCGAN_64.py``).

Unlike :mod:`vidpred_tf.models.mspred.dcgan_conv`, the encoder goes all the way down to a 1x1 map: four
Conv 4x4 s2 p1 + BN + LeakyReLU(0.2) blocks (64 -> 4 px), then ``c5`` = Conv 4x4 s1 p0 + BN + tanh, flattened to
a ``dim`` vector. It returns ``(vec (B, dim), [h1, h2, h3, h4])``. The decoder mirrors it: ``upc1`` = ConvT 4x4
s1 p0 (1 -> 4 px) + BN + LeakyReLU, three ConvT 4x4 s2 p1 blocks fed with U-Net skips, and ``upc5`` = ConvT
4x4 s2 p1 + sigmoid; it returns ``(frame, [d1, d2, d3, d4])``. Only 64x64 frames fit (the 4x4 valid conv of
``c5`` must land on 1x1).

Torch names: ``c{1..4}.main.{0,1}``, ``c5.{0,1}``, ``upc1.{0,1}``, ``upc{2..4}.main.{0,1}``, ``upc5.0``.
"""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import keras
from keras import ops

from vidpred_tf.models.mspred.blocks import ConvNormAct, TorchConv2DTranspose, TorchParam, join_name, leaky_relu

IMAGE_SIZE = 64


def check_image_size(height: int, width: int, what: str) -> None:
    """The 64-px encoders reduce exactly 64x64 frames to a 1x1 vector; anything else is refused by name."""
    if (int(height), int(width)) != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"{what} needs {IMAGE_SIZE}x{IMAGE_SIZE} frames (dataset.img_size = {IMAGE_SIZE}); "
                         f"got {height}x{width}")


class DCGAN64Encoder(keras.layers.Layer):
    """``encoder(dim, nc, nf)``: (B, 64, 64, nc) -> vec (B, dim), skips [h1 (nf, 32 px), h2 (2nf, 16 px),
    h3 (4nf, 8 px), h4 (8nf, 4 px)]."""

    def __init__(self, dim: int, nc: int = 1, nf: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.nc, self.nf = int(dim), int(nc), int(nf)
        widths = [self.nc, self.nf, self.nf * 2, self.nf * 4, self.nf * 8]
        self.blocks = [ConvNormAct(widths[i], widths[i + 1], 4, 2, 1, False, leaky_relu, name=f"c{i + 1}")
                       for i in range(4)]
        self.c5 = ConvNormAct(self.nf * 8, self.dim, 4, 1, 0, False, ops.tanh, name="c5")
        self.built = True

    def spatial_dims(self, img_size: Sequence[int] = (IMAGE_SIZE, IMAGE_SIZE), level: int = -1) -> Tuple[int, int]:
        """The encoder output is a vector: (1, 1), whatever ``img_size`` (the original asserts level == -1)."""
        if level != -1:
            raise ValueError(f"the DCGAN-64 encoder only reports its output level (-1); got level {level}")
        return 1, 1

    def call(self, x):
        check_image_size(x.shape[1], x.shape[2], "the DCGAN-64 encoder")
        skips = []
        for block in self.blocks:
            x = block(x)
            skips.append(x)
        vec = ops.reshape(self.c5(x), (-1, self.dim))
        return vec, skips

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params: Dict[str, TorchParam] = {}
        for i, block in enumerate(self.blocks):
            params.update(block.original_variables(join_name(prefix, f"c{i + 1}.main")))
        params.update(self.c5.original_variables(join_name(prefix, "c5")))
        return params


class DCGAN64Decoder(keras.layers.Layer):
    """``decoder(dim, nc, nf)``: (vec (B, dim), [h1, h2, h3, h4]) -> frame (B, 64, 64, nc) in [0, 1],
    [d1 (8nf, 4 px), d2 (4nf, 8 px), d3 (2nf, 16 px), d4 (nf, 32 px)]."""

    def __init__(self, dim: int, nc: int = 1, nf: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.nc, self.nf = int(dim), int(nc), int(nf)
        self.upc1 = ConvNormAct(self.dim, self.nf * 8, 4, 1, 0, True, leaky_relu, name="upc1")
        widths = [self.nf * 8, self.nf * 4, self.nf * 2, self.nf]
        # Each block sees its predecessor's output concatenated with the same-sized skip: twice the width.
        self.blocks = [ConvNormAct(widths[i] * 2, widths[i + 1], 4, 2, 1, True, leaky_relu, name=f"upc{i + 2}")
                       for i in range(3)]
        self.upc5 = TorchConv2DTranspose(self.nf * 2, self.nc, 4, stride=2, padding=1, name="upc5")
        self.built = True

    def call(self, vec, skips):
        if len(skips) != 4:
            raise ValueError(f"the DCGAN-64 decoder takes 4 skips [h1, h2, h3, h4]; got {len(skips)}")
        x = self.upc1(ops.reshape(vec, (-1, 1, 1, self.dim)))
        features = [x]
        for block, skip in zip(self.blocks, (skips[3], skips[2], skips[1])):
            x = block(ops.concatenate([x, skip], axis=-1))
            features.append(x)
        frame = ops.sigmoid(self.upc5(ops.concatenate([x, skips[0]], axis=-1)))
        return frame, features

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params = self.upc1.original_variables(join_name(prefix, "upc1"))
        for i, block in enumerate(self.blocks):
            params.update(block.original_variables(join_name(prefix, f"upc{i + 2}.main")))
        params.update(self.upc5.original_variables(join_name(prefix, "upc5.0")))
        return params
