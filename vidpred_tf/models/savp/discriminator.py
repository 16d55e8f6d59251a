"""SAVP's spectrally normalised discriminators (``networks.video_sn_discriminator`` / ``image_sn_discriminator`` and
``savp_model.discriminator_fn`` of alexlee-gk/video_prediction), time-major as the original's ``tower_fn``.

Each network is seven convolutions, every one padded by 1 with zeros on each spatial (and, in 3-D, time) axis
and applied VALID with a spectrally normalised kernel, then leaky ReLU 0.1, and a spectrally normalised dense
layer to one logit. Widths ``ndf * (1, 2, 2, 4, 4, 8, 8)``; kernel sizes alternate 3 and 4; the size-4 layers
stride 2 in space (the 3-D net strides 1 in time except ``sn_conv2_1``).

:class:`SAVPDiscriminator` is the whole ``discriminator`` scope: per kind (``image``: one frame, ``video``: a
clip through the 3-D net, ``images``: every frame of the clip through the 2-D net) whose gan or vae-gan weight
is nonzero, one network applied to real = ``images[1:]`` and fake = ``gen_images``, and, with ``nz > 0``, a
second set (``discriminator/encoder/...``, unless ``use_same_discriminator``) applied to ``images[1:]`` and
``gen_images_enc``. Every call draws its own frame index ``t_sample`` and clip start ``t_start`` per batch
element (the original's Q6: real and fake see different times).
"""

from __future__ import annotations

import collections
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import keras
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.layers.spectral_norm import add_u_weight, spectral_normalize

LRELU_ALPHA = 0.1

# (scope, kernel size, 3-D strides (t, h, w), width multiplier of ndf); the 2-D nets use the (h, w) strides.
_LAYERS = (
    ("sn_conv0_0", 3, (1, 1, 1), 1),
    ("sn_conv0_1", 4, (1, 2, 2), 2),
    ("sn_conv1_0", 3, (1, 1, 1), 2),
    ("sn_conv1_1", 4, (1, 2, 2), 4),
    ("sn_conv2_0", 3, (1, 1, 1), 4),
    ("sn_conv2_1", 4, (2, 2, 2), 8),
    ("sn_conv3_0", 3, (1, 1, 1), 8),
)
_FC_SCOPE = "sn_fc4"

# Kinds in the order the original builds and reports them, with the hparams that switch each on.
KINDS = (("image", "image_sn_gan_weight", "image_sn_vae_gan_weight"),
         ("video", "video_sn_gan_weight", "video_sn_vae_gan_weight"),
         ("images", "images_sn_gan_weight", "images_sn_vae_gan_weight"))
# The four calls of one pass, in the original's draw order, with the suffix of their output keys.
CALLS = ("enc_real", "enc_fake", "real", "fake")


def lrelu(x, alpha: float = LRELU_ALPHA):
    """``max(alpha * x, x)``, the original's leaky ReLU."""
    return tf.maximum(alpha * x, x)


class SNDiscriminatorNetwork(keras.layers.Layer):
    """One SN discriminator network: ``rank=3`` the video net over ``[B, clip, H, W, C]``, ``rank=2`` the image
    net over ``[B, H, W, C]``. ``input_shape`` excludes the batch axis. Its weights are created right away.

    ``tf1_variables(prefix)`` names them as the original did (``<prefix>/sn_conv0_0/conv3d/kernel``, the 3-D
    bias ``<prefix>/sn_conv0_0/bias`` outside the conv sub-scope but the 2-D bias ``.../conv2d/bias`` inside it,
    ``.../conv3d/u``, ``<prefix>/sn_fc4/dense/...``), in creation order kernel, u, bias per layer.
    """

    def __init__(self, rank: int, input_shape: Sequence[int], ndf: int, **kwargs):
        super().__init__(**kwargs)
        if rank not in (2, 3):
            raise ValueError(f"SNDiscriminatorNetwork: rank must be 2 or 3; got {rank}")
        self.rank, self.ndf = rank, int(ndf)
        self.input_dims = tuple(int(d) for d in input_shape)
        if len(self.input_dims) != rank + 1:
            raise ValueError(f"SNDiscriminatorNetwork(rank={rank}) needs an input shape of {rank + 1} dims "
                             f"(no batch); got {self.input_dims}")
        conv = "conv3d" if rank == 3 else "conv2d"
        self._entries: List[Tuple[str, keras.Variable]] = []
        self._convs = []
        dims, channels = list(self.input_dims[:-1]), self.input_dims[-1]
        for scope, size, strides3, mult in _LAYERS:
            strides = tuple(strides3) if rank == 3 else tuple(strides3[1:])
            filters = self.ndf * mult
            dims = [(d + 2 - size) // s + 1 for d, s in zip(dims, strides)]
            if min(dims) < 1:
                raise InputError(f"discriminator input {self.input_dims} is too small for {scope} "
                                 f"(kernel {size}, strides {strides})")
            kernel = self.add_weight(shape=(size,) * rank + (channels, filters), name=f"{scope}_kernel",
                                     initializer=keras.initializers.TruncatedNormal(stddev=0.02))
            u = add_u_weight(self, filters, name=f"{scope}_u")
            bias = self.add_weight(shape=(filters,), name=f"{scope}_bias", initializer="zeros")
            # The 3-D op creates its bias outside its conv3d sub-scope, the 2-D op inside conv2d.
            bias_name = f"{scope}/bias" if rank == 3 else f"{scope}/conv2d/bias"
            self._entries += [(f"{scope}/{conv}/kernel", kernel), (f"{scope}/{conv}/u", u), (bias_name, bias)]
            self._convs.append((kernel, u, bias, strides))
            channels = filters
        self.feature_dims = int(channels)
        for d in dims:
            self.feature_dims *= d
        kernel = self.add_weight(shape=(self.feature_dims, 1), name=f"{_FC_SCOPE}_kernel",
                                 initializer=keras.initializers.TruncatedNormal(stddev=0.02))
        u = add_u_weight(self, 1, name=f"{_FC_SCOPE}_u")
        bias = self.add_weight(shape=(1,), name=f"{_FC_SCOPE}_bias", initializer="zeros")
        self._entries += [(f"{_FC_SCOPE}/dense/kernel", kernel), (f"{_FC_SCOPE}/dense/u", u),
                          (f"{_FC_SCOPE}/dense/bias", bias)]
        self._fc = (kernel, u, bias)
        self.built = True

    def tf1_variables(self, prefix: str) -> "collections.OrderedDict[str, keras.Variable]":
        return collections.OrderedDict((f"{prefix}/{suffix}", var) for suffix, var in self._entries)

    def normalized_weights(self):
        """``(weights, u_updates)``: the spectrally normalised ``(kernel, bias)`` of the 8 layers for one pass, and
        ``[(u_variable, u_new), ...]`` to assign when the training step wants the original's UPDATE_OPS."""
        weights, updates = [], []
        for kernel, u, bias, _ in self._convs + [self._fc + (None,)]:
            normed, u_new = spectral_normalize(kernel, u)
            weights.append((normed, bias))
            updates.append((u, u_new))
        return weights, updates

    def forward(self, x, weights=None) -> List[tf.Tensor]:
        """Batch-major forward: the 7 lrelu feature maps and the logits ``[B, 1]``."""
        if weights is None:
            weights, _ = self.normalized_weights()
        x = tf.convert_to_tensor(x, tf.float32)
        paddings = [[0, 0]] + [[1, 1]] * self.rank + [[0, 0]]
        layers = []
        for (kernel, bias), (_, _, _, strides) in zip(weights[:-1], self._convs):
            padded = tf.pad(x, paddings)
            if self.rank == 3:
                y = tf.nn.conv3d(padded, kernel, (1,) + strides + (1,), padding="VALID")
            else:
                y = tf.nn.conv2d(padded, kernel, (1,) + strides + (1,), padding="VALID")
            x = lrelu(tf.nn.bias_add(y, bias))
            layers.append(x)
        kernel, bias = weights[-1]
        flat = tf.reshape(x, [tf.shape(x)[0], self.feature_dims])
        layers.append(tf.nn.bias_add(tf.matmul(flat, kernel), bias))
        return layers


def _swap_batch_time(x):
    rank = x.shape.rank
    return tf.transpose(x, [1, 0] + list(range(2, rank))) if rank >= 2 else x


def video_sn_discriminator(clips, network: SNDiscriminatorNetwork, weights=None) -> List[tf.Tensor]:
    """The 3-D net on a time-major clip ``[clip, B, H, W, C]``: 7 features ``[t, B, h, w, c]`` and the logits,
    all with their first two axes swapped back as the original did (so the logits come out ``[1, B]``)."""
    layers = network.forward(_swap_batch_time(tf.convert_to_tensor(clips, tf.float32)), weights)
    return [_swap_batch_time(layer) for layer in layers]


def image_sn_discriminator(images, network: SNDiscriminatorNetwork, weights=None) -> List[tf.Tensor]:
    """The 2-D net on ``[B, H, W, C]``: 7 features ``[B, h, w, c]`` and the logits ``[B, 1]``."""
    return network.forward(images, weights)


def images_sn_discriminator(clips, network: SNDiscriminatorNetwork, weights=None) -> List[tf.Tensor]:
    """The 2-D net on every frame of a time-major clip ``[clip, B, H, W, C]``: outputs ``[clip, B, ...]``."""
    clips = tf.convert_to_tensor(clips, tf.float32)
    lead = tf.shape(clips)[:2]
    flat = tf.reshape(clips, tf.concat([[-1], tf.shape(clips)[2:]], axis=0))
    layers = network.forward(flat, weights)
    return [tf.reshape(layer, tf.concat([lead, tf.shape(layer)[1:]], axis=0)) for layer in layers]


def sample_frames_and_clips(targets, clip_length: int, t_sample, t_start):
    """``(image [B, H, W, C], clip [clip_length, B, H, W, C])`` of time-major ``targets [T, B, ...]``: frame
    ``t_sample[b]`` and frames ``t_start[b] .. t_start[b] + clip_length - 1`` of batch element ``b``."""
    batch = tf.range(tf.shape(targets)[1], dtype=tf.int32)
    image = tf.gather_nd(targets, tf.stack([tf.cast(t_sample, tf.int32), batch], axis=1))
    times = tf.cast(t_start, tf.int32)[None, :] + tf.range(clip_length, dtype=tf.int32)[:, None]
    indices = tf.stack([times, tf.broadcast_to(batch[None, :], tf.shape(times))], axis=-1)
    return image, tf.gather_nd(targets, indices)


class SAVPDiscriminator(keras.layers.Layer):
    """The original's ``discriminator`` scope (``discriminator_fn``), weights created at construction.

    ``hparams``: a :class:`vidpred_tf.hparams.HParams` with the SAVP defaults' keys (``nz``,
    ``ndf``, ``clip_length``, ``sequence_length``, the gan / vae-gan weights, ``use_same_discriminator``);
    ``image_shape``: ``(H, W, C)``.

    ``call(inputs, gen_outputs, seed=None, draws=None, return_u_updates=False)``:
    ``inputs['images'] [T, B, H, W, C]``, ``gen_outputs['gen_images']`` (and ``'gen_images_enc'`` when
    ``nz > 0``) ``[T-1, B, H, W, C]``; randomness from ``draws`` (keys ``'<call>/t_sample'`` and
    ``'<call>/t_start'``, int32 ``[B]``, ``<call>`` in ``enc_real, enc_fake, real, fake``) or else from the
    stateless int32 ``[2]`` ``seed`` (draw ``2 * call_index + (0 t_sample | 1 t_start)`` folded in). Returns the
    ordered dict of the original (``discrim_<kind>_sn_logits_<call>``, ``discrim_<kind>_sn_feature<i>_<call>``,
    calls in the order real, fake, enc_real, enc_fake); with ``return_u_updates=True`` also the list
    ``[(u_variable, u_new), ...]`` of this pass (one per spectrally normalised weight): assign them
    (:meth:`assign_u`) once per train step before the discriminator update, as the original's UPDATE_OPS did.
    """

    def __init__(self, hparams, image_shape: Sequence[int], name: str = "discriminator", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hparams = hparams
        self.image_shape = tuple(int(d) for d in image_shape)
        if len(self.image_shape) != 3:
            raise InputError(f"discriminator image_shape must be (H, W, C); got {tuple(image_shape)}")
        self.sequence_length = int(hparams.sequence_length)
        self.clip_length = int(hparams.clip_length)
        self.nz = int(hparams.nz)
        self.kinds = [kind for kind, gan, vae_gan in KINDS if hparams.get(gan) or hparams.get(vae_gan)]
        if self.sequence_length < 2:
            raise InputError(f"hparam sequence_length={self.sequence_length}: the discriminator needs >= 2 frames")
        if self.kinds and not 1 <= self.clip_length <= self.sequence_length - 1:
            raise InputError(f"hparam clip_length={self.clip_length} must be in [1, sequence_length - 1 = "
                             f"{self.sequence_length - 1}]")
        # Sets of networks in creation order: prefix -> {kind: network}.
        self.sets: Dict[str, Dict[str, SNDiscriminatorNetwork]] = collections.OrderedDict()
        prefixes = []
        if self.kinds:
            if self.nz > 0 and not hparams.use_same_discriminator:
                prefixes.append("encoder")
            prefixes.append("")
        for prefix in prefixes:
            nets = collections.OrderedDict()
            for kind in self.kinds:
                if kind == "video":
                    net = SNDiscriminatorNetwork(3, (self.clip_length,) + self.image_shape, hparams.ndf,
                                                 name=f"{prefix}_video" if prefix else "video")
                else:
                    net = SNDiscriminatorNetwork(2, self.image_shape, hparams.ndf,
                                                 name=f"{prefix}_{kind}" if prefix else kind)
                nets[kind] = net
            self.sets[prefix] = nets
        # The attribute keeps the sub-layers tracked by Keras.
        self.networks = [net for nets in self.sets.values() for net in nets.values()]
        self.built = True

    # ------------------------------------------------------------------------------------------ variables
    def original_variables(self) -> "collections.OrderedDict[str, keras.Variable]":
        """``{TF1 name: variable}`` of every discriminator variable (``u`` included) in creation order."""
        names = collections.OrderedDict()
        for prefix, nets in self.sets.items():
            for kind, net in nets.items():
                scope = "/".join(part for part in ("discriminator", prefix, kind) if part)
                names.update(net.tf1_variables(scope))
        return names

    @staticmethod
    def assign_u(u_updates) -> None:
        """Assign the ``u`` values a pass returned (the original's spectral-norm UPDATE_OPS)."""
        for variable, value in u_updates:
            variable.assign(value)

    # ------------------------------------------------------------------------------------------ forward
    def _set_for(self, call_name: str) -> Optional[Dict[str, SNDiscriminatorNetwork]]:
        if not self.sets:
            return None
        if call_name.startswith("enc_") and "encoder" in self.sets:
            return self.sets["encoder"]
        return self.sets[""]

    def _draw(self, call_index: int, call_name: str, what: str, batch_size, maxval: int, seed, draws):
        key = f"{call_name}/{what}"
        if draws is not None and key in draws:
            return tf.cast(tf.convert_to_tensor(draws[key]), tf.int32)
        if seed is None:
            raise ValueError(f"SAVPDiscriminator: no seed and no draw {key!r}")
        offset = 0 if what == "t_sample" else 1
        draw_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), 2 * call_index + offset)
        return tf.random.stateless_uniform([batch_size], seed=draw_seed, minval=0, maxval=maxval, dtype=tf.int32)

    def sample_draws(self, batch_size: int, seed) -> Dict[str, tf.Tensor]:
        """The 8 draws (``'<call>/t_sample'``, ``'<call>/t_start'``) one pass takes from ``seed``, for recording
        or replaying a pass; a pass given these as ``draws`` equals the pass given ``seed``."""
        length = self.sequence_length - 1
        out = collections.OrderedDict()
        for call_index, call_name in enumerate(CALLS):
            out[f"{call_name}/t_sample"] = self._draw(call_index, call_name, "t_sample", batch_size, length, seed,
                                                      None)
            out[f"{call_name}/t_start"] = self._draw(call_index, call_name, "t_start", batch_size,
                                                     max(length - self.clip_length + 1, 1), seed, None)
        return out

    def call(self, inputs: Mapping[str, tf.Tensor], gen_outputs: Mapping[str, tf.Tensor], seed=None,
             draws: Optional[Mapping[str, tf.Tensor]] = None, return_u_updates: bool = False):
        images = tf.convert_to_tensor(inputs["images"], tf.float32)
        targets = {"real": images[1:], "fake": gen_outputs["gen_images"]}
        calls = ["real", "fake"]
        if self.nz > 0:
            targets["enc_real"] = images[1:]
            targets["enc_fake"] = gen_outputs["gen_images_enc"]
            calls = list(CALLS)
        # T' of the targets (the original read it from their static shape), else from the hparams.
        length = int(images.shape[0]) - 1 if images.shape[0] is not None else self.sequence_length - 1
        if self.kinds and length < self.clip_length:
            raise InputError(f"discriminator: {length} target frames are fewer than clip_length={self.clip_length}")
        batch_size = tf.shape(images)[1]
        # One normalisation per network and pass (the kernels and u are the same for each of its calls).
        normalized, u_updates = {}, []
        for net in self.networks:
            normalized[id(net)], updates = net.normalized_weights()
            u_updates += updates
        per_call = {}
        for call_index, call_name in enumerate(CALLS):
            if call_name not in calls:
                continue
            t_sample = self._draw(call_index, call_name, "t_sample", batch_size, length, seed, draws)
            t_start = self._draw(call_index, call_name, "t_start", batch_size,
                                 max(length - self.clip_length + 1, 1), seed, draws)
            nets = self._set_for(call_name)
            outputs = collections.OrderedDict()
            if nets:
                image, clip = sample_frames_and_clips(tf.convert_to_tensor(targets[call_name], tf.float32),
                                                      self.clip_length, t_sample, t_start)
                for kind, net in nets.items():
                    weights = normalized[id(net)]
                    if kind == "image":
                        layers = image_sn_discriminator(image, net, weights)
                    elif kind == "video":
                        layers = video_sn_discriminator(clip, net, weights)
                    else:
                        layers = images_sn_discriminator(clip, net, weights)
                    outputs[f"discrim_{kind}_sn_logits_{call_name}"] = layers[-1]
                    for i, feature in enumerate(layers[:-1]):
                        outputs[f"discrim_{kind}_sn_feature{i}_{call_name}"] = feature
            per_call[call_name] = outputs
        result = collections.OrderedDict()
        for call_name in ("real", "fake", "enc_real", "enc_fake"):
            result.update(per_call.get(call_name, {}))
        if return_u_updates:
            return result, u_updates
        return result
