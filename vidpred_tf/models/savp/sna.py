"""SNA, the SAVP codebase's version of Ebert et al. 2017's skip-connection neural advection model
(``sna_model.py``): an action-conditioned CDNA network with five conv-LSTMs whose widths follow ``ngf``.

Network (per step ``t`` of ``T-1``; ``H, W`` divisible by 8; ``g = ngf``):

* ``scale1_conv1`` 5x5/2 32 + layer_norm1 + ReLU -> conv-LSTM ``state1`` g (layer_norm2) -> ``conv2`` 3x3/2 ->
  ``state3`` 2g (layer_norm4) -> ``conv3`` 3x3/2 -> concat(tiled ``[action, state]``) -> ``conv4`` 1x1 2g ->
  ``state5`` 4g (layer_norm6) -> ``convt1`` 3x3/2 -> ``state6`` 2g (layer_norm7) ++ conv2's output ->
  ``convt2`` 3x3/2 -> ``state7`` g (layer_norm8) ++ scale1_conv1's output -> ``convt3`` 3x3/2 + layer_norm9
  + ReLU. All convs ReLU unless said otherwise (slim's default).
* ``transformation='cdna'``: with ``generate_scratch_image``, ``convt4`` 1x1 -> C (sigmoid, the synthesised
  image) first; then ``cdna_params`` dense from the flattened ``state5`` output to ``num_masks`` ``kernel_size``
  kernels. ``'dna'`` (num_masks=1): ``convt4_cam2`` 1x1 -> kh*kw per-pixel kernel logits (ReLU), one moved
  image. ``'stp'`` is refused (the original imports a ``spatial_transformer`` module it does not ship).
* ``convt7_cam2`` 1x1 -> num_masks + extra mask logits (extra = 2 with the synthesised image, else 1), softmax.
  ``image = mask0 * background + sum_i mask_{i+1} * candidate_i``, background = frame 0 when
  ``first_image_background`` (the default), else the frame fed in.
* ``state_pred`` dense ``[action, state] -> state``, fed back.

Feeding: steps ``t < context_frames`` see frame ``t``; later steps their last prediction (test mode) or the
scheduled sampling (train mode, ``schedule_sampling_k``): see ``vidpred_tf.models.savp.sv2p``.

``inputs`` need ``actions`` and ``states`` (the original reads both unconditionally; ``state_dim`` 0 would
change the bottleneck's width from step to step and fail there too, so it is refused). Optional
``pix_distribs [T, B, H, W, K]``: moved with the same kernels and masks (``gen_pix_distribs``, each map
normalised to sum 1 over space; background = ``pix_distribs[0]``; with the synthesised image its mask moves
the previous distribution unchanged). As in the original, a scheduled-sampling step keeps the pixel
distribution of the previous step (the original never updates it on that branch).

Output keys (time-major ``[T-1, B, ...]``): ``gen_images``, ``gen_states``, and ``gen_pix_distribs`` when the
inputs have ``pix_distribs``.

Random draws: ``shuffle`` (int32 ``[T-1-context_frames, B]``, one permutation of ``range(B)`` per
scheduled-sampling step, train mode only; from ``seed`` folded with 2 when not given).

Losses (the generic ``generator_loss_fn`` with SNA's defaults): ``gen_l2_loss`` on ``gen_images`` (l2_weight
1); the shipped ``sna_l1`` config uses ``gen_l1_loss`` instead (l1_weight 1, l2_weight 0); ``gen_state_loss``
only if state_weight is set (default 0). No KL, no discriminator.

Deviation: ``fuse_trafos`` reshapes the masks to a hard-coded 64x64, so the original runs only at 64x64; this
port uses the real image size (identical at 64x64).
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

import keras
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.layers import slim_layers as sl
from vidpred_tf.models.savp.defaults import VIDEO_PREDICTION
from vidpred_tf.models.savp.sv2p import check_image_shape, check_mode, draw_or_take, resolve_hparams

SNA_DEFAULTS = dict(
    VIDEO_PREDICTION,
    batch_size=32,
    l1_weight=0.0,
    l2_weight=1.0,
    ngf=16,
    transformation="cdna",
    kernel_size=(5, 5),
    num_masks=10,
    first_image_background=True,
    generate_scratch_image=True,
    schedule_sampling_k=900.0,
)


def kernel_size_of(hparams) -> tuple:
    size = hparams.kernel_size
    if isinstance(size, (list, tuple)):
        if len(size) != 2 or size[0] != size[1]:
            raise InputError(f"kernel_size {size}: need a square kernel")
        return int(size[0]), int(size[1])
    return int(size), int(size)


class SNAGenerator(keras.layers.Layer):
    """``generator_fn`` of ``sna_model`` (module docstring)."""

    def __init__(self, hparams=None, image_shape=(64, 64, 3), action_dim=0, state_dim=0, mode="train",
                 name="generator", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hparams = resolve_hparams(SNA_DEFAULTS, hparams, (), "sna")
        hp = self.hparams
        self.mode = check_mode(mode)
        self.image_shape = check_image_shape(image_shape, "sna")
        if not action_dim or not state_dim:
            raise InputError(f"sna: needs actions and states (use_state); got action_dim={action_dim}, "
                             f"state_dim={state_dim}")
        if hp.context_frames < 1 or hp.sequence_length <= hp.context_frames:
            raise InputError(f"sna hparams: need 1 <= context_frames < sequence_length, got "
                             f"{hp.context_frames}, {hp.sequence_length}")
        if hp.transformation not in ("cdna", "dna"):
            raise InputError(f"sna transformation {hp.transformation!r}: this port supports 'cdna' and 'dna' "
                             "('stp' needs the spatial_transformer module the original does not ship)")
        if hp.transformation == "dna" and hp.num_masks != 1:
            raise InputError(f"sna num_masks={hp.num_masks}: the 'dna' transformation supports one mask only")
        self.action_dim, self.state_dim = int(action_dim), int(state_dim)
        self.kernel_size = kernel_size_of(hp)
        g = hp.ngf
        self.lstm_sizes = (g, 2 * g, 4 * g, 2 * g, g)
        height, width, channels = self.image_shape
        self.gen_pix = hp.transformation == "cdna" and hp.generate_scratch_image
        self.extra_masks = 2 if self.gen_pix else 1
        kh, kw = self.kernel_size
        s = self._store = sl.SlimVariables(self, name)
        ls = self.lstm_sizes
        s.conv("scale1_conv1", (5, 5), channels, 32, normalizer="layer_norm1")
        s.conv_lstm("state1", 32, ls[0])
        s.layer_norm("layer_norm2", ls[0])
        s.conv("conv2", (3, 3), ls[0], ls[0])
        s.conv_lstm("state3", ls[0], ls[1])
        s.layer_norm("layer_norm4", ls[1])
        s.conv("conv3", (3, 3), ls[1], ls[1])
        s.conv("conv4", (1, 1), ls[1] + self.action_dim + self.state_dim, ls[1])
        s.conv_lstm("state5", ls[1], ls[2])
        s.layer_norm("layer_norm6", ls[2])
        s.conv("convt1", (3, 3), ls[2], ls[2], transpose=True)
        s.conv_lstm("state6", ls[2], ls[3])
        s.layer_norm("layer_norm7", ls[3])
        h6 = ls[3] + ls[0]
        s.conv("convt2", (3, 3), h6, h6, transpose=True)
        s.conv_lstm("state7", h6, ls[4])
        s.layer_norm("layer_norm8", ls[4])
        h7 = ls[4] + 32
        s.conv("convt3", (3, 3), h7, h7, normalizer="layer_norm9", transpose=True)
        if hp.transformation == "dna":
            s.conv("convt4_cam2", (1, 1), h7, kh * kw, transpose=True)
        else:
            if self.gen_pix:
                s.conv("convt4", (1, 1), h7, channels, transpose=True)
            s.dense("cdna_params", (height // 8) * (width // 8) * ls[2], kh * kw * hp.num_masks)
        s.conv("convt7_cam2", (1, 1), h7, hp.num_masks + self.extra_masks, transpose=True)
        s.dense("state_pred", self.action_dim + self.state_dim, self.state_dim)
        self.built = True

    def original_variables(self) -> Dict[str, keras.Variable]:
        return self._store.items()

    # ------------------------------------------------------------------------------------------ one step
    def _step(self, image, background, state_action, lstm):
        w = self._store.get
        hp = self.hparams

        def ln(x, scope):
            return sl.layer_norm(x, w(f"{scope}/beta"), w(f"{scope}/gamma"))

        def conv(x, scope, stride=1, relu=True, transpose=False):
            op = sl.conv2d_transpose if transpose else sl.conv2d
            y = op(x, w(f"{scope}/weights"), w(f"{scope}/biases"), stride)
            return tf.nn.relu(y) if relu else y

        def cell(x, index, scope):
            h, lstm[index] = sl.conv_lstm_step(x, lstm[index], w(f"{scope}/Gates/weights"),
                                               w(f"{scope}/Gates/biases"), self.lstm_sizes[index])
            return h

        enc0 = tf.nn.relu(ln(sl.conv2d(image, w("scale1_conv1/weights"), None, 2), "scale1_conv1/layer_norm1"))
        h1 = ln(cell(enc0, 0, "state1"), "layer_norm2")
        enc1 = conv(h1, "conv2", 2)
        h3 = ln(cell(enc1, 1, "state3"), "layer_norm4")
        enc2 = conv(h3, "conv3", 2)
        smear = tf.tile(state_action[:, None, None, :], [1, enc2.shape[1], enc2.shape[2], 1])
        enc3 = conv(tf.concat([enc2, smear], axis=3), "conv4")
        h5 = ln(cell(enc3, 2, "state5"), "layer_norm6")
        enc4 = conv(h5, "convt1", 2, transpose=True)
        h6 = tf.concat([ln(cell(enc4, 3, "state6"), "layer_norm7"), enc1], axis=3)
        enc5 = conv(h6, "convt2", 2, transpose=True)
        h7 = tf.concat([ln(cell(enc5, 4, "state7"), "layer_norm8"), enc0], axis=3)
        enc6 = tf.nn.relu(ln(sl.conv2d_transpose(h7, w("convt3/weights"), None, 2), "convt3/layer_norm9"))
        if hp.transformation == "dna":
            dna_input = conv(enc6, "convt4_cam2", transpose=True)
            move = lambda x: [sl.dna_transform(x, dna_input, self.kernel_size)]  # noqa: E731
            transformed = move(image)
        else:
            transformed = []
            if self.gen_pix:
                transformed.append(tf.sigmoid(conv(enc6, "convt4", relu=False, transpose=True)))
            cdna_input = tf.reshape(h5, [-1, h5.shape[1] * h5.shape[2] * h5.shape[3]])
            params = sl.dense(cdna_input, w("cdna_params/weights"), w("cdna_params/biases"))
            move = lambda x: sl.cdna_transform(x, params, self.kernel_size, hp.num_masks)  # noqa: E731
            transformed += move(image)
        masks = tf.nn.softmax(conv(enc6, "convt7_cam2", relu=False, transpose=True), axis=-1)
        mask_list = tf.split(masks, hp.num_masks + self.extra_masks, axis=3)
        output = mask_list[0] * background
        for layer, mask in zip(transformed, mask_list[1:]):
            output = output + layer * mask
        new_state = sl.dense(state_action, w("state_pred/weights"), w("state_pred/biases"))
        return output, new_state, mask_list, move

    def _fuse_pix(self, mask_list, background_pix, prev_pix, moved_pix):
        out = mask_list[0] * background_pix
        if self.hparams.generate_scratch_image:
            out = out + mask_list[1] * prev_pix
        for i in range(self.hparams.num_masks):
            out = out + moved_pix[i] * mask_list[i + self.extra_masks]
        return out / tf.reduce_sum(out, axis=(1, 2), keepdims=True)

    def call(self, inputs, step=0, seed=(0, 0), draws: Optional[Mapping] = None, mode: Optional[str] = None):
        hp = self.hparams
        images = tf.convert_to_tensor(inputs["images"], tf.float32)
        seq, batch = hp.sequence_length, images.shape[1]
        if tuple(images.shape[2:]) != self.image_shape or images.shape[0] != seq:
            raise InputError(f"sna inputs['images']: expected [{seq}, B, {', '.join(map(str, self.image_shape))}]"
                             f", got {list(images.shape)}")
        if "actions" not in inputs or "states" not in inputs:
            raise InputError("sna inputs: need 'actions' and 'states'")
        actions = tf.unstack(tf.convert_to_tensor(inputs["actions"], tf.float32))
        states = tf.unstack(tf.convert_to_tensor(inputs["states"], tf.float32))
        pix = inputs.get("pix_distribs")
        pix = tf.unstack(tf.convert_to_tensor(pix, tf.float32)) if pix is not None else None
        frames = tf.unstack(images)
        train = (mode or self.mode) == "train"
        n_ss = seq - 1 - hp.context_frames
        perms, n_gt = None, None
        sampling = train and hp.schedule_sampling_k != -1  # k = -1: feed the predictions back
        if sampling and n_ss > 0:
            perms = draw_or_take(draws, "shuffle", tf.convert_to_tensor(seed, tf.int32), 2, (n_ss, batch), "shuffle")
            n_gt = sl.num_ground_truth(batch, hp.schedule_sampling_k, step)
        lstm = [None] * 5
        current_state = states[0]
        gen_images, gen_states, gen_pix = [], [], []
        prev_pix = None
        for t in range(seq - 1):
            warm = t >= hp.context_frames
            if warm and not sampling:
                image = gen_images[-1]
                if pix is not None:
                    prev_pix = gen_pix[-1]
            elif warm:
                image = sl.scheduled_sample(frames[t], gen_images[-1], perms[t - hp.context_frames], n_gt)
            else:
                image = frames[t]
                if pix is not None:
                    prev_pix = pix[t]
            background = frames[0] if hp.first_image_background else image
            state_action = tf.concat([actions[t], current_state], axis=1)
            output, current_state, mask_list, move = self._step(image, background, state_action, lstm)
            gen_images.append(output)
            gen_states.append(current_state)
            if pix is not None:
                background_pix = pix[0] if hp.first_image_background else prev_pix
                gen_pix.append(self._fuse_pix(mask_list, background_pix, prev_pix, move(prev_pix)))
        outputs = {"gen_images": tf.stack(gen_images, 0), "gen_states": tf.stack(gen_states, 0)}
        if pix is not None:
            outputs["gen_pix_distribs"] = tf.stack(gen_pix, 0)
        return outputs
