"""The image-analogy generator of ``imggen_src/model_analogy.py`` (scope ``GEN``), spec section 4.2.

``x_hat = Dec(Enc_img(x_t) + Enc_pose(p_{t+n}) - Enc_pose(p_t))``:

* both encoders are VGG-like stacks of 3x3 stride-1 SAME ReLU convolutions (``ops.conv2d``: ``<name>/w``
  ``[3,3,in,out]`` Glorot-uniform, ``<name>/biases`` zeros) with three 2x2/2 VALID max-pools, giving
  ``(B, S/8, S/8, 4*gf)``;
* the pose encoder runs ONCE on ``concat([p_t, p_{t+n}], axis 0)`` (a 2B batch) and its output is split;
* the decoder alternates zero-filled 2x unpooling (``unpool2x2_zero_filled``) with 3x3 stride-1 SAME
  ``conv2d_transpose`` layers whose kernels keep TF1's ``[k, k, out, in]`` layout (so checkpoints map without a
  transpose); every layer is ReLU except the last, which is tanh.

``original_variables()`` lists the 42 variables under their TF1 names, in the original's creation order
(``inventory_imggen.json``).
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import keras
import tensorflow as tf

from vidpred_tf.layers.slim_layers import SlimVariables, param_count
from vidpred_tf.models.hierchvid.discriminator import PoseDiscriminator

SCOPE = "GEN"
KERNEL = 3

# (name, width multiple of gf_dim) of each encoder conv, grouped by pooling stage.
_ENCODER_STAGES = (
    (("conv1_1", 1), ("conv1_2", 1)),
    (("conv2_1", 2), ("conv2_2", 2)),
    (("conv3_1", 4), ("conv3_2", 4), ("conv3_3", 4)),
)
# (name, output width multiple of gf_dim; None = the image channels) of each decoder deconv, grouped by the
# unpooling that precedes the group.
_DECODER_STAGES = (
    (("deconv3_3", 4), ("deconv3_2", 4), ("deconv3_1", 2)),
    (("deconv2_2", 2), ("deconv2_1", 1)),
    (("deconv1_2", 1), ("deconv1_1", None)),
)


def unpool2x2_zero_filled(x: tf.Tensor) -> tf.Tensor:
    """``(B, H, W, C) -> (B, 2H, 2W, C)`` with ``out[2i, 2j] = x[i, j]`` and zeros at the other three entries of each
    2x2 block (tensorpack's ``FixedUnPooling`` with the default top-left matrix)."""
    shape = tf.shape(x)
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    height = shape[1] if height is None else height
    width = shape[2] if width is None else width
    channels = shape[3] if channels is None else channels
    # Interleave a zero after each entry along W, then a zero row after each row: the same memory order as
    # concat([x, 0], C), concat([., 0], W), reshape.
    widened = tf.concat([x, tf.zeros_like(x)], axis=3)
    doubled = tf.concat([widened, tf.zeros_like(widened)], axis=2)
    return tf.reshape(doubled, [-1, height * 2, width * 2, channels])


def _conv(x, kernel, bias):
    return tf.nn.bias_add(tf.nn.conv2d(x, kernel, strides=1, padding="SAME"), bias)


def _deconv(x, kernel, bias):
    """Stride-1 SAME ``conv2d_transpose`` with kernel ``[k, k, out, in]`` and an explicit output shape."""
    batch = tf.shape(x)[0]
    height = x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]
    width = x.shape[2] if x.shape[2] is not None else tf.shape(x)[2]
    out_shape = tf.stack([batch, height, width, kernel.shape[2]])
    y = tf.nn.conv2d_transpose(x, kernel, out_shape, strides=1, padding="SAME")
    return tf.nn.bias_add(y, bias)


def _max_pool(x):
    return tf.nn.max_pool2d(x, ksize=2, strides=2, padding="VALID")


class ImageAnalogyGenerator(keras.layers.Layer):
    """``call(xt, pt, ptpn) -> x_hat`` ``(B, H, W, c_dim)`` in (-1, 1); images in [-1, 1], pose maps ``(B, H, W, J)``.

    Variables exist from construction (their shapes follow from ``n_joints``, ``gf_dim`` and ``c_dim`` only).
    """

    def __init__(self, n_joints: int, gf_dim: int = 64, c_dim: int = 3, **kwargs):
        super().__init__(name=kwargs.pop("name", "imggen_generator"), **kwargs)
        self.n_joints, self.gf_dim, self.c_dim = int(n_joints), int(gf_dim), int(c_dim)
        self._store = SlimVariables(self, SCOPE)
        self._encoders = {"i": self._make_encoder("enc_i", self.c_dim), "p": self._make_encoder("enc_p",
                                                                                            self.n_joints)}
        self._decoder = self._make_decoder()
        self.built = True

    def _make_encoder(self, prefix: str, in_channels: int) -> List[List[Tuple]]:
        glorot, zeros = keras.initializers.GlorotUniform(), keras.initializers.Zeros()
        stages, channels = [], in_channels
        for stage in _ENCODER_STAGES:
            layers = []
            for name, multiple in stage:
                out = self.gf_dim * multiple
                kernel = self._store.add(f"{prefix}{name}/w", (KERNEL, KERNEL, channels, out), glorot)
                bias = self._store.add(f"{prefix}{name}/biases", (out,), zeros)
                layers.append((kernel, bias))
                channels = out
            stages.append(layers)
        return stages

    def _make_decoder(self) -> List[List[Tuple]]:
        glorot, zeros = keras.initializers.GlorotUniform(), keras.initializers.Zeros()
        stages, channels = [], self.gf_dim * 4
        for stage in _DECODER_STAGES:
            layers = []
            for name, multiple in stage:
                out = self.c_dim if multiple is None else self.gf_dim * multiple
                kernel = self._store.add(f"dec_{name}/w", (KERNEL, KERNEL, out, channels), glorot)
                bias = self._store.add(f"dec_{name}/biases", (out,), zeros)
                layers.append((kernel, bias))
                channels = out
            stages.append(layers)
        return stages

    def original_variables(self) -> Dict[str, keras.Variable]:
        """``{TF1 name: variable}`` (``GEN/enc_iconv1_1/w`` ...) in the original's creation order."""
        return self._store.items()

    def param_count(self) -> int:
        return param_count(self._store.items())

    def _encode(self, which: str, x: tf.Tensor) -> tf.Tensor:
        for stage in self._encoders[which]:
            for kernel, bias in stage:
                x = tf.nn.relu(_conv(x, kernel, bias))
            x = _max_pool(x)
        return x

    def encode_image(self, xt: tf.Tensor) -> tf.Tensor:
        """``(B, S, S, c_dim) -> (B, S/8, S/8, 4 gf)``."""
        return self._encode("i", tf.convert_to_tensor(xt, tf.float32))

    def encode_pose(self, pose: tf.Tensor) -> tf.Tensor:
        """``(N, S, S, J) -> (N, S/8, S/8, 4 gf)``."""
        return self._encode("p", tf.convert_to_tensor(pose, tf.float32))

    def decode(self, features: tf.Tensor) -> tf.Tensor:
        """``(B, S/8, S/8, 4 gf) -> (B, S, S, c_dim)``, tanh."""
        x = features
        last = len(self._decoder) - 1
        for index, stage in enumerate(self._decoder):
            x = unpool2x2_zero_filled(x)
            for position, (kernel, bias) in enumerate(stage):
                x = _deconv(x, kernel, bias)
                final = index == last and position == len(stage) - 1
                x = tf.nn.tanh(x) if final else tf.nn.relu(x)
        return x

    def call(self, xt, pt, ptpn):
        pt = tf.convert_to_tensor(pt, tf.float32)
        ptpn = tf.convert_to_tensor(ptpn, tf.float32)
        h_img = self.encode_image(xt)
        # One pass over the 2B batch, as the original (quirk 8: matters only for batch-dependent ops).
        h_pose = self.encode_pose(tf.concat([pt, ptpn], axis=0))
        batch = tf.shape(pt)[0]
        h_diff = h_pose[batch:] - h_pose[:batch]
        return self.decode(h_img + h_diff)


def as_g(x_hat: tf.Tensor) -> tf.Tensor:
    """The original's ``model.G``: ``(B, H, W, C) -> (B, H, W, 1, C)``."""
    return tf.expand_dims(x_hat, axis=3)


class ImggenModel(keras.Model):
    """The trainable parts of ``IMGGEN`` (generator ``GEN``, discriminator ``DIS`` when ``with_discriminator``) plus
    the frozen perceptual networks handed in (``alexnet``, ``hourglass``: layers whose variables are not trainable).

    ``call(batch)`` is the test graph: ``{"G": (B, H, W, 1, c_dim)}`` from ``batch["xt"], ["pt"], ["ptpn"]``.
    ``original_variables()``: every ``GEN/*`` then ``DIS/*`` variable (moving statistics included) under its TF1 name.
    """

    def __init__(self, config, with_discriminator: bool = True, alexnet=None, hourglass=None, **kwargs):
        super().__init__(name=kwargs.pop("name", "imggen"), **kwargs)
        self.config = config
        self.generator = ImageAnalogyGenerator(config.n_joints, config.gf_dim, config.c_dim)
        self.discriminator = (PoseDiscriminator(config.n_joints, config.image_size, config.df_dim, config.c_dim)
                              if with_discriminator else None)
        self.alexnet = alexnet
        self.hourglass = hourglass
        for frozen in (alexnet, hourglass):
            if frozen is not None:
                frozen.trainable = False
        self.built = True

    def original_variables(self) -> Dict[str, keras.Variable]:
        names = dict(self.generator.original_variables())
        if self.discriminator is not None:
            names.update(self.discriminator.original_variables())
        return names

    def generator_variables(self) -> List[keras.Variable]:
        """The variables g_optim updates (the original's ``'GEN' in var.name``)."""
        return list(self.generator.original_variables().values())

    def discriminator_variables(self) -> List[keras.Variable]:
        """The variables d_optim updates (trainable ``DIS`` variables; the moving statistics are not trainable)."""
        if self.discriminator is None:
            raise ValueError("this ImggenModel was built without its discriminator (test graph)")
        return list(self.discriminator.trainable_original_variables().values())

    def generate(self, xt, pt, ptpn) -> tf.Tensor:
        """``x_hat`` ``(B, H, W, c_dim)``."""
        return self.generator(xt, pt, ptpn)

    def call(self, batch, training=False):
        del training  # nothing in GEN depends on it
        return {"G": as_g(self.generate(batch["xt"], batch["pt"], batch["ptpn"]))}
