"""SV2P, the SAVP codebase's re-implementation of Babaeizadeh et al. 2018 (``sv2p_model.py``): Finn et al.'s CDNA
network (seven conv-LSTMs with layer norm) plus a convolutional latent tower over the whole clip.

Network (per step ``t`` of ``T-1``; ``H, W`` divisible by 8; widths fixed by the original):

* ``scale1_conv1`` 5x5/2 32 + layer_norm1 + ReLU -> conv-LSTMs ``state1`` 32, ``state2`` 32 (layer_norm2, 3)
  -> ``conv2`` 3x3/2 -> ``state3`` 64, ``state4`` 64 (layer_norm4, 5) -> ``conv3`` 3x3/2 -> concat(tiled
  ``[action, state]`` when the inputs have actions, the latent when ``stochastic_model``) -> ``conv4`` 1x1 64
  -> ``state5`` 128 (layer_norm6) -> ``convt1`` 3x3/2 -> ``state6`` 64 (layer_norm7) ++ conv2's output ->
  ``convt2`` 3x3/2 -> ``state7`` 32 (layer_norm8) ++ scale1_conv1's output -> ``convt3`` 3x3/2 + layer_norm9
  (no activation) -> ``convt4`` 1x1 (C channels, sigmoid: the synthesised image; ``transformation='dna'``:
  5x5 = 25 per-pixel kernel logits) and ``convt7`` 1x1 (num_masks + 1 mask logits, softmax).
* CDNA: ``cdna_params`` dense from the flattened ``state5`` output to ``num_masks`` 5x5 kernels (DNA_KERN_SIZE
  is 5 whatever ``kernel_size`` says). The output is ``mask0 * prev_image + mask1 * synthesised +
  sum_i mask_{i+1} * cdna_i(prev_image)``. ``transformation='dna'`` (needs num_masks=1): ``mask0 * prev +
  mask1 * dna(prev)``. ``'stp'`` needs a spatial-transformer module the original never shipped: refused.
* ``state_pred`` dense ``[action, state] -> state``, fed back. Without actions the original feeds zero actions
  (4) and zero states (3), so ``state_pred`` is ``[7, 3]`` and ``gen_states`` is still an output.
* Latent tower (``encoder_fn``): the T frames stacked on channels -> ``latent_conv1`` 3x3/2 32,
  ``latent_conv2`` 3x3/2 64, ``latent_conv3`` 3x3/1 64 (each layer norm + ReLU), then ``latent_mean`` 3x3/2
  (layer norm, no activation) and ``latent_std`` 3x3/2 (layer norm + ReLU) + ``latent_std_min``: both
  ``[B, H/8, W/8, latent_channels]``, **not time-major** (no time axis).

Unrolls (``generator_fn``): the prior unroll gives ``gen_images``/``gen_states`` with the latent = N(0,1)
samples; in ``mode='train'`` a second unroll with the same weights gives ``gen_images_enc``/``gen_states_enc``
with the latent = the samples while ``step < num_iterations_1st_stage`` (50000), after that
``zs_mu_enc + exp(zs_log_sigma_sq_enc / 2) * samples`` (fresh samples). ``multi_latent`` draws one latent per
step (time-variant) instead of one per clip. Feeding: steps ``t < context_frames`` see frame ``t``; later steps
see their last prediction in test mode, and in train mode the scheduled sampling: ``round(B * k / (k +
exp(step / k)))`` (k = schedule_sampling_k) samples of the batch see the ground truth (see
``vidpred_tf.layers.slim_layers``).

Output keys (time-major ``[T-1, B, ...]``), in the original's order: ``gen_images``, ``gen_states``, and in
train mode ``gen_images_enc``, ``gen_states_enc``, ``zs_mu_enc``, ``zs_log_sigma_sq_enc``.

Random draws (``draws`` dict keys; else drawn from the stateless ``seed`` folded with the index in brackets):

* ``latent`` [0]: N(0,1) of the prior unroll, ``[B, H/8, W/8, Lc]`` (``multi_latent``: ``[T-1, B, H/8, W/8,
  Lc]``); only when ``stochastic_model``.
* ``latent_enc`` [1]: the same for the train-mode second unroll.
* ``shuffle`` [2] / ``shuffle_enc`` [3]: int32 ``[T-1-context_frames, B]``, one permutation of ``range(B)`` per
  scheduled-sampling step (train mode only; the first ``num_ground_truth`` entries take the ground truth).

The original graph creates them in the order latent, shuffle..., latent_enc, shuffle_enc....

Losses (the generic ``VideoPredictionModel.generator_loss_fn`` with the SV2P defaults): ``gen_l2_loss``
(l2_weight 1; on ``gen_images_enc`` in train mode, as the generic code prefers the ``_enc`` key) and
``gen_kl_loss`` = :func:`sv2p_kl_loss` with the linearly annealed ``kl_weight`` (0.08 over steps 100k-120k).
The KL the original trains with is the generic ``vp.losses.kl_loss`` (sum over the LAST axis, the latent
channels, then the mean over batch and space); ``sv2p_model.kl_divergence``, the sum over ``axis=1`` that the
spec's section 5.9 mentions, is defined in the original but never called (it only explains the kl_weight's
value): :func:`sv2p_kl_divergence` reproduces it for reference. ``gen_states`` is not in the loss
(state_weight 0). No discriminator.

Variables: ``generator/...`` (the inventory's names and creation order: the main tower, then the latent tower).
The latent tower's variables are created in test mode too (the original builds them only in train mode; a
checkpoint holds them either way).
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

import keras
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.hparams import HParams, parse_hparams
from vidpred_tf.layers import slim_layers as sl
from vidpred_tf.models.savp.defaults import VIDEO_PREDICTION

SV2P_DEFAULTS = dict(
    VIDEO_PREDICTION,
    batch_size=32,
    l1_weight=0.0,
    l2_weight=1.0,
    kl_weight=1e-3 * 10 * 8,
    transformation="cdna",
    num_masks=10,
    schedule_sampling_k=900.0,
    stochastic_model=True,
    multi_latent=False,
    latent_std_min=-5.0,
    latent_channels=1,
    num_iterations_1st_stage=50000,
    kl_anneal_steps=(100000, 120000),
    max_steps=200000,
    decay_steps=(0, 0),
)

# Keys SV2PVideoPredictionModel.parse_hparams drops from an hparams dict.
SV2P_DEPRECATED = (
    "num_gpus", "acvideo_gan_weight", "acvideo_vae_gan_weight", "image_gan_weight", "image_vae_gan_weight",
    "tuple_gan_weight", "tuple_vae_gan_weight", "gan_weight", "vae_gan_weight", "video_gan_weight",
    "video_vae_gan_weight",
)

# Zero actions / states the original feeds when the inputs have none.
NO_STATE_ACTION_DIM, NO_STATE_STATE_DIM = 4, 3
SV2P_KERNEL_SIZE = (5, 5)
LSTM_SIZES = (32, 32, 64, 64, 128, 64, 32)


def resolve_hparams(defaults, hparams, drop=(), what="model") -> HParams:
    """``hparams``: an :class:`HParams`, a dict over ``defaults``, or None (the defaults)."""
    if isinstance(hparams, HParams):
        return hparams
    if hparams is not None and not isinstance(hparams, Mapping):
        raise InputError(f"{what} hparams: expected a dict or HParams, got {type(hparams).__name__}")
    return parse_hparams(defaults, dict(hparams or {}), drop=drop, dict_source=f"{what} hparams")


def check_mode(mode: str) -> str:
    if mode not in ("train", "test"):
        raise InputError(f"mode: expected 'train' or 'test', got {mode!r}")
    return mode


def check_image_shape(image_shape, what: str):
    if len(image_shape) != 3 or image_shape[0] % 8 or image_shape[1] % 8:
        raise InputError(f"{what} image_shape {tuple(image_shape)}: need (H, W, C) with H and W divisible by 8")
    return tuple(int(s) for s in image_shape)


class FinnTower:
    """The seven-conv-LSTM CDNA/DNA network of ``sv2p_model.construct_model`` / ``dna_model.construct_model``:
    creates its variables (in the original's order) on ``store`` and runs one step.

    ``lowdim``: size of ``[action, state]``; ``use_state``: tile it into the bottleneck; ``latent_channels``: 0
    or the latent concatenated there; ``relu_heads``: dna_model's defaults (ReLU after ``convt3``, ``convt4``
    and ``convt7``, which sv2p_model turns off).
    """

    def __init__(self, store: sl.SlimVariables, image_shape, *, lowdim: int, state_dim: int, use_state: bool,
                 latent_channels: int, transformation: str, kernel_size, num_masks: int, relu_heads: bool):
        self.v = store
        self.height, self.width, self.channels = image_shape
        self.use_state = use_state
        self.latent_channels = latent_channels
        self.transformation = transformation
        self.kernel_size = tuple(kernel_size)
        self.num_masks = num_masks
        self.relu_heads = relu_heads
        self.state_dim = state_dim
        if transformation not in ("cdna", "dna"):
            raise InputError(f"transformation {transformation!r}: this port supports 'cdna' and 'dna' "
                             "('stp' needs the spatial_transformer module the original does not ship)")
        if transformation == "dna" and num_masks != 1:
            raise InputError(f"num_masks={num_masks}: the 'dna' transformation supports one mask only")
        s = LSTM_SIZES
        c = self.channels
        store.conv("scale1_conv1", (5, 5), c, 32, normalizer="layer_norm1")
        store.conv_lstm("state1", 32, s[0])
        store.layer_norm("layer_norm2", s[0])
        store.conv_lstm("state2", s[0], s[1])
        store.layer_norm("layer_norm3", s[1])
        store.conv("conv2", (3, 3), s[1], s[1])
        store.conv_lstm("state3", s[1], s[2])
        store.layer_norm("layer_norm4", s[2])
        store.conv_lstm("state4", s[2], s[3])
        store.layer_norm("layer_norm5", s[3])
        store.conv("conv3", (3, 3), s[3], s[3])
        bottleneck = s[3] + (lowdim if use_state else 0) + latent_channels
        store.conv("conv4", (1, 1), bottleneck, s[3])
        store.conv_lstm("state5", s[3], s[4])
        store.layer_norm("layer_norm6", s[4])
        store.conv("convt1", (3, 3), s[4], s[4], transpose=True)
        store.conv_lstm("state6", s[4], s[5])
        store.layer_norm("layer_norm7", s[5])
        h6 = s[5] + s[1]
        store.conv("convt2", (3, 3), h6, h6, transpose=True)
        store.conv_lstm("state7", h6, s[6])
        store.layer_norm("layer_norm8", s[6])
        h7 = s[6] + 32
        store.conv("convt3", (3, 3), h7, h7, normalizer="layer_norm9", transpose=True)
        kh, kw = self.kernel_size
        if transformation == "dna":
            store.conv("convt4", (1, 1), h7, kh * kw, transpose=True)
        else:
            store.conv("convt4", (1, 1), h7, c, transpose=True)
            flat = (self.height // 8) * (self.width // 8) * s[4]
            store.dense("cdna_params", flat, kh * kw * num_masks)
        store.conv("convt7", (1, 1), h7, num_masks + 1, transpose=True)
        if state_dim:
            store.dense("state_pred", lowdim, state_dim)

    def _w(self, name):
        return self.v.get(name)

    def _lstm(self, x, states, index, name):
        units = LSTM_SIZES[index]
        h, states[index] = sl.conv_lstm_step(x, states[index], self._w(f"{name}/Gates/weights"),
                                             self._w(f"{name}/Gates/biases"), units)
        return h

    def _ln(self, x, scope):
        return sl.layer_norm(x, self._w(f"{scope}/beta"), self._w(f"{scope}/gamma"))

    def _conv(self, x, scope, stride=1, relu=True, transpose=False):
        op = sl.conv2d_transpose if transpose else sl.conv2d
        y = op(x, self._w(f"{scope}/weights"), self._w(f"{scope}/biases"), stride)
        return tf.nn.relu(y) if relu else y

    def step(self, prev_image, state_action, lstm_states, latent=None):
        """One step. ``lstm_states``: list of 7 (None = zeros), updated in place. Returns a dict with ``image``,
        ``masks`` (list of ``[B, H, W, 1]``), ``state`` (None without ``state_pred``) and what the
        transformation used (``cdna_input`` or ``dna_input``)."""
        enc0 = tf.nn.relu(self._ln(sl.conv2d(prev_image, self._w("scale1_conv1/weights"), None, 2),
                                   "scale1_conv1/layer_norm1"))
        h1 = self._ln(self._lstm(enc0, lstm_states, 0, "state1"), "layer_norm2")
        h2 = self._ln(self._lstm(h1, lstm_states, 1, "state2"), "layer_norm3")
        enc1 = self._conv(h2, "conv2", 2)
        h3 = self._ln(self._lstm(enc1, lstm_states, 2, "state3"), "layer_norm4")
        h4 = self._ln(self._lstm(h3, lstm_states, 3, "state4"), "layer_norm5")
        enc2 = self._conv(h4, "conv3", 2)
        if self.use_state:
            smear = tf.tile(state_action[:, None, None, :], [1, enc2.shape[1], enc2.shape[2], 1])
            enc2 = tf.concat([enc2, smear], axis=3)
        if latent is not None:
            enc2 = tf.concat([enc2, latent], axis=3)
        enc3 = self._conv(enc2, "conv4")
        h5 = self._ln(self._lstm(enc3, lstm_states, 4, "state5"), "layer_norm6")
        enc4 = self._conv(h5, "convt1", 2, transpose=True)
        h6 = self._ln(self._lstm(enc4, lstm_states, 5, "state6"), "layer_norm7")
        h6 = tf.concat([h6, enc1], axis=3)
        enc5 = self._conv(h6, "convt2", 2, transpose=True)
        h7 = self._ln(self._lstm(enc5, lstm_states, 6, "state7"), "layer_norm8")
        h7 = tf.concat([h7, enc0], axis=3)
        enc6 = self._ln(sl.conv2d_transpose(h7, self._w("convt3/weights"), None, 2), "convt3/layer_norm9")
        if self.relu_heads:
            enc6 = tf.nn.relu(enc6)
        enc7 = self._conv(enc6, "convt4", relu=self.relu_heads, transpose=True)
        out = {}
        if self.transformation == "dna":
            transformed = [sl.dna_transform(prev_image, enc7, self.kernel_size)]
            out["dna_input"] = enc7
        else:
            cdna_input = tf.reshape(h5, [-1, h5.shape[1] * h5.shape[2] * h5.shape[3]])
            params = sl.dense(cdna_input, self._w("cdna_params/weights"), self._w("cdna_params/biases"))
            transformed = [tf.sigmoid(enc7)] + sl.cdna_transform(prev_image, params, self.kernel_size,
                                                                 self.num_masks)
            out["cdna_params"] = params
        masks = tf.nn.softmax(self._conv(enc6, "convt7", relu=self.relu_heads, transpose=True), axis=-1)
        mask_list = tf.split(masks, self.num_masks + 1, axis=3)
        image = mask_list[0] * prev_image
        for layer, mask in zip(transformed, mask_list[1:]):
            image = image + layer * mask
        out["image"] = image
        out["masks"] = mask_list
        out["transformed"] = transformed
        if self.state_dim:
            out["state"] = sl.dense(state_action, self._w("state_pred/weights"), self._w("state_pred/biases"))
        else:
            out["state"] = tf.zeros_like(state_action)
        return out


def unroll_inputs(images, t, context_frames, prev_generated, feed_self, permutation, n_ground_truth):
    """The frame step ``t`` sees (construct_model's feeding rule)."""
    if t < context_frames or prev_generated is None:
        return images[t]
    if feed_self:
        return prev_generated
    return sl.scheduled_sample(images[t], prev_generated, permutation, n_ground_truth)


def draw_or_take(draws, key, seed, index, shape, kind):
    """``draws[key]`` if given, else a stateless draw (``normal`` or ``shuffle`` = permutations [n, B])."""
    if draws is not None and key in draws:
        value = tf.convert_to_tensor(draws[key])
        value = tf.cast(value, tf.int32 if kind == "shuffle" else tf.float32)
        if tuple(value.shape) != tuple(shape):
            raise InputError(f"draws[{key!r}]: expected shape {tuple(shape)}, got {tuple(value.shape)}")
        return value
    if kind == "shuffle":
        return sl.stateless_permutations(sl.fold(seed, index), shape[0], shape[1])
    return tf.random.stateless_normal(shape, seed=sl.fold(seed, index))


class SV2PGenerator(keras.layers.Layer):
    """``generator_fn`` of ``sv2p_model`` (module docstring). ``action_dim``/``state_dim`` > 0 = the inputs
    have actions/states (the original's ``'actions' in inputs``)."""

    def __init__(self, hparams=None, image_shape=(64, 64, 3), action_dim=0, state_dim=0, mode="train",
                 name="generator", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hparams = resolve_hparams(SV2P_DEFAULTS, hparams, SV2P_DEPRECATED, "sv2p")
        hp = self.hparams
        self.mode = check_mode(mode)
        self.image_shape = check_image_shape(image_shape, "sv2p")
        self.use_state = bool(action_dim)
        if self.use_state and not state_dim:
            raise InputError("sv2p: inputs with actions need states too (state_dim > 0)")
        self.action_dim = int(action_dim) if self.use_state else NO_STATE_ACTION_DIM
        self.state_dim = int(state_dim) if self.use_state else NO_STATE_STATE_DIM
        if hp.context_frames < 1 or hp.sequence_length <= hp.context_frames:
            raise InputError(f"sv2p hparams: need 1 <= context_frames < sequence_length, got "
                             f"{hp.context_frames}, {hp.sequence_length}")
        height, width, channels = self.image_shape
        self.latent_shape = (height // 8, width // 8, hp.latent_channels)
        self._store = sl.SlimVariables(self, name)
        self.tower = FinnTower(self._store, self.image_shape, lowdim=self.action_dim + self.state_dim,
                               state_dim=self.state_dim, use_state=self.use_state,
                               latent_channels=hp.latent_channels if hp.stochastic_model else 0,
                               transformation=hp.transformation, kernel_size=SV2P_KERNEL_SIZE,
                               num_masks=hp.num_masks, relu_heads=False)
        store, lc = self._store, hp.latent_channels
        store.conv("latent_conv1", (3, 3), hp.sequence_length * channels, 32, normalizer="latent_norm1")
        store.conv("latent_conv2", (3, 3), 32, 64, normalizer="latent_norm2")
        store.conv("latent_conv3", (3, 3), 64, 64, normalizer="latent_norm3")
        store.conv("latent_mean", (3, 3), 64, lc, normalizer="latent_norm_mean")
        store.conv("latent_std", (3, 3), 64, lc, normalizer="latent_std_norm")
        self.built = True

    def original_variables(self) -> Dict[str, keras.Variable]:
        return self._store.items()

    # ------------------------------------------------------------------------------------------ pieces
    def encoder(self, images):
        """``encoder_fn``: ``images [T, B, H, W, C]`` -> (zs_mu_enc, zs_log_sigma_sq_enc) ``[B, H/8, W/8, Lc]``."""
        w = self._store.get
        x = tf.concat(tf.unstack(images, axis=0), axis=3)

        def block(x, scope, norm, stride, relu=True):
            y = sl.conv2d(x, w(f"{scope}/weights"), None, stride)
            y = sl.layer_norm(y, w(f"{scope}/{norm}/beta"), w(f"{scope}/{norm}/gamma"))
            return tf.nn.relu(y) if relu else y

        x = block(x, "latent_conv1", "latent_norm1", 2)
        x = block(x, "latent_conv2", "latent_norm2", 2)
        x = block(x, "latent_conv3", "latent_norm3", 1)
        mean = block(x, "latent_mean", "latent_norm_mean", 2, relu=False)
        std = block(x, "latent_std", "latent_std_norm", 2) + self.hparams.latent_std_min
        return mean, std

    def _unroll(self, images, actions, states, samples, enc, step, permutations, n_ground_truth):
        hp = self.hparams
        lstm_states = [None] * 7
        current_state = states[0]
        gen_images, gen_states = [], []
        for t in range(hp.sequence_length - 1):
            perm = None
            if permutations is not None and t >= hp.context_frames:
                perm = permutations[t - hp.context_frames]
            prev = unroll_inputs(images, t, hp.context_frames, gen_images[-1] if gen_images else None,
                                 permutations is None, perm, n_ground_truth)
            state_action = tf.concat([actions[t], current_state], axis=1)
            latent = None
            if hp.stochastic_model:
                latent = samples[t] if hp.multi_latent else samples
                if enc is not None:
                    mean, log_sigma_sq = enc
                    latent = tf.where(tf.cast(step, tf.float32) < float(hp.num_iterations_1st_stage), latent,
                                      mean + tf.exp(log_sigma_sq / 2.0) * latent)
            out = self.tower.step(prev, state_action, lstm_states, latent)
            current_state = out["state"]
            gen_images.append(out["image"])
            gen_states.append(current_state)
        return tf.stack(gen_images, 0), tf.stack(gen_states, 0)

    def call(self, inputs, step=0, seed=(0, 0), draws: Optional[Mapping] = None, mode: Optional[str] = None):
        hp = self.hparams
        images = tf.convert_to_tensor(inputs["images"], tf.float32)
        seq, batch = hp.sequence_length, images.shape[1]
        if tuple(images.shape[2:]) != self.image_shape or images.shape[0] != seq:
            raise InputError(f"sv2p inputs['images']: expected [{seq}, B, {', '.join(map(str, self.image_shape))}]"
                             f", got {list(images.shape)}")
        if self.use_state:
            actions = tf.convert_to_tensor(inputs["actions"], tf.float32)
            states = tf.convert_to_tensor(inputs["states"], tf.float32)
        else:
            actions = tf.zeros([seq - 1, batch, self.action_dim])
            states = tf.zeros([seq, batch, self.state_dim])
        seed = tf.convert_to_tensor(seed, tf.int32)
        step = tf.convert_to_tensor(step)
        latent_shape = (batch,) + self.latent_shape
        if hp.multi_latent:
            latent_shape = (seq - 1,) + latent_shape
        train = (mode or self.mode) == "train"
        # schedule_sampling_k = -1 in train mode: feed the predictions back, as in test mode.
        sampling = train and hp.schedule_sampling_k != -1
        n_ss = seq - 1 - hp.context_frames
        n_gt = sl.num_ground_truth(batch, hp.schedule_sampling_k, step) if sampling else None

        def shuffles(key, index):
            if not sampling or n_ss <= 0:
                return None
            return draw_or_take(draws, key, seed, index, (n_ss, batch), "shuffle")

        samples = draw_or_take(draws, "latent", seed, 0, latent_shape, "normal") if hp.stochastic_model else None
        perms = shuffles("shuffle", 2)
        img_list, act_list, st_list = tf.unstack(images), tf.unstack(actions), tf.unstack(states)
        gen_images, gen_states = self._unroll(img_list, act_list, st_list, samples, None, step, perms, n_gt)
        outputs = {"gen_images": gen_images, "gen_states": gen_states}
        if train:
            mean, log_sigma_sq = self.encoder(images)
            samples_enc = (draw_or_take(draws, "latent_enc", seed, 1, latent_shape, "normal")
                           if hp.stochastic_model else None)
            perms_enc = shuffles("shuffle_enc", 3)
            gen_images_enc, gen_states_enc = self._unroll(img_list, act_list, st_list, samples_enc,
                                                          (mean, log_sigma_sq), step, perms_enc, n_gt)
            outputs.update(gen_images_enc=gen_images_enc, gen_states_enc=gen_states_enc, zs_mu_enc=mean,
                           zs_log_sigma_sq_enc=log_sigma_sq)
        return outputs


def sv2p_kl_loss(outputs) -> tf.Tensor:
    """The ``gen_kl_loss`` the original trains SV2P with (``vp.losses.kl_loss`` on ``zs_mu_enc`` /
    ``zs_log_sigma_sq_enc``): ``-0.5 * mean(sum_{last axis}(1 + logs2 - mu^2 - exp(logs2)))``."""
    mu, log_sigma_sq = outputs["zs_mu_enc"], outputs["zs_log_sigma_sq_enc"]
    return -0.5 * tf.reduce_mean(tf.reduce_sum(1.0 + log_sigma_sq - tf.square(mu) - tf.exp(log_sigma_sq),
                                               axis=-1))


def sv2p_kl_divergence(mu, log_sigma) -> tf.Tensor:
    """``sv2p_model.kl_divergence`` as written (never called by the original): the sum over ``axis=1`` (the
    latent map's rows) instead of the latent axis, no mean: ``[B, W/8, Lc]`` for a ``[B, H/8, W/8, Lc]`` map."""
    return -0.5 * tf.reduce_sum(1.0 + log_sigma - tf.square(mu) - tf.exp(log_sigma), axis=1)
