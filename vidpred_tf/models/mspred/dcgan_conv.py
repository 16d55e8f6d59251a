"""DCGAN-style convolutional encoder/decoder of MSPred (the original ``models/DCGAN_Conv.py``).

The encoder halves the resolution four times (Conv 4x4 s2 p1 + BN + LeakyReLU(0.2); the last block ends in
tanh) and returns ``(h4, [h1, h2, h3])``; the decoder mirrors it with transposed convolutions and U-Net skips
and returns ``(frame, [d1, d2, d3])``. Torch names: ``c1.main.{0,1}`` ... ``c4.{0,1}``, ``upc1.main.{0,1}`` ...
``upc4.0``.
"""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import keras
from keras import ops

from vidpred_tf.models.mspred.blocks import ConvNormAct, TorchConv2DTranspose, TorchParam, join_name, leaky_relu


class DCGANConvEncoder(keras.layers.Layer):
    """``encoder(dim, nc, nf)``: (B, H, W, nc) -> h4 (B, H/16, W/16, dim), skips [h1 (nf), h2 (2nf), h3 (4nf)]."""

    num_blocks = 4

    def __init__(self, dim: int, nc: int = 1, nf: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.nc, self.nf = int(dim), int(nc), int(nf)
        self.c1 = ConvNormAct(nc, nf, 4, 2, 1, False, leaky_relu, name="c1")
        self.c2 = ConvNormAct(nf, nf * 2, 4, 2, 1, False, leaky_relu, name="c2")
        self.c3 = ConvNormAct(nf * 2, nf * 4, 4, 2, 1, False, leaky_relu, name="c3")
        self.c4 = ConvNormAct(nf * 4, dim, 4, 2, 1, False, ops.tanh, name="c4")
        self.built = True

    def spatial_dims(self, img_size: Sequence[int], level: int = -1) -> Tuple[int, int]:
        """Size of the feature map of block ``level`` (0..3): img / 2^(level+1)."""
        if level == -1:
            level = self.num_blocks - 1
        if level not in range(self.num_blocks):
            raise ValueError(f"encoder level must be in 0..{self.num_blocks - 1}; got {level}")
        scale = 2 ** (level + 1)
        return int(img_size[0]) // scale, int(img_size[1]) // scale

    def call(self, x):
        h1 = self.c1(x)
        h2 = self.c2(h1)
        h3 = self.c3(h2)
        h4 = self.c4(h3)
        return h4, [h1, h2, h3]

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params = {}
        for name in ("c1", "c2", "c3"):
            params.update(getattr(self, name).original_variables(join_name(prefix, f"{name}.main")))
        params.update(self.c4.original_variables(join_name(prefix, "c4")))
        return params


class DCGANConvDecoder(keras.layers.Layer):
    """``decoder(dim, nc, nf)``: (vec, [s1, s2, s3]) -> frame (B, H, W, nc) in [0,1], [d1 (4nf), d2 (2nf),
    d3 (nf)]."""

    def __init__(self, dim: int, nc: int = 1, nf: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.nc, self.nf = int(dim), int(nc), int(nf)
        self.upc1 = ConvNormAct(dim, nf * 4, 4, 2, 1, True, leaky_relu, name="upc1")
        self.upc2 = ConvNormAct(nf * 4 * 2, nf * 2, 4, 2, 1, True, leaky_relu, name="upc2")
        self.upc3 = ConvNormAct(nf * 2 * 2, nf, 4, 2, 1, True, leaky_relu, name="upc3")
        self.upc4 = TorchConv2DTranspose(nf * 2, nc, 4, stride=2, padding=1, name="upc4")
        self.built = True

    def call(self, vec, skips):
        d1 = self.upc1(vec)
        d2 = self.upc2(ops.concatenate([d1, skips[-1]], axis=-1))
        d3 = self.upc3(ops.concatenate([d2, skips[-2]], axis=-1))
        frame = ops.sigmoid(self.upc4(ops.concatenate([d3, skips[-3]], axis=-1)))
        return frame, [d1, d2, d3]

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params = {}
        for name in ("upc1", "upc2", "upc3"):
            params.update(getattr(self, name).original_variables(join_name(prefix, f"{name}.main")))
        params.update(self.upc4.original_variables(join_name(prefix, "upc4.0")))
        return params
