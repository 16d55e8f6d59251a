"""DNA, the SAVP codebase's version of Finn et al. 2016 (``dna_model.py``): the seven-conv-LSTM CDNA/DNA network
of :class:`vidpred_tf.models.savp.sv2p.FinnTower`, action-conditioned, no latent.

**Fixed original bug (spec Q18):** ``dna_model.generator_fn(inputs, hparams=None)`` does not take the
``mode=`` keyword ``VideoPredictionModel`` passes, so the original ``dna`` model cannot be built; it also
returns a tuple ``(gen_images[context_frames-1:], outputs)`` where ``VideoPredictionModel`` expects the outputs
dict. This port takes ``mode`` and returns the dict. The mode acts as the original's
``DNAVideoPredictionModel.parse_hparams`` meant: test mode sets ``schedule_sampling_k=-1`` (feed the
predictions back), train mode uses scheduled sampling with ``schedule_sampling_k``. A second original bug is
fixed too: with ``transformation='dna'`` the original's ``construct_model`` passes the int ``kernel_size[0]``
to ``dna_transformation``, which indexes it as a ``(kh, kw)`` pair and fails; here the pair is used.

Differences from SV2P's tower (facts of dna_model.py, where slim's default ReLU is left on): ``convt3`` (after
layer_norm9), ``convt4`` and the mask head ``convt7`` are followed by a ReLU (so the synthesised image is
``sigmoid(relu(.))`` and the mask logits are non-negative); the CDNA/DNA kernel is ``kernel_size`` (default
9x9); ``[action, state]`` is always tiled into the bottleneck. ``inputs`` need ``actions`` and ``states``
(``state_dim`` 0 is refused: the original's zero-state path would change the bottleneck width at step 2).
Optional ``pix_distribs [T, B, H, W, K]`` are moved with the same kernels and masks (``gen_pix_distribs``,
normalised to sum 1 over space); a scheduled-sampling step keeps the previous step's pixel distribution, as in
the original.

Output keys (time-major): ``gen_images`` ``[T-1, B, H, W, C]``, ``gen_states`` ``[T-1, B, S]``, ``masks``
``[T-1, B, H, W, 1, num_masks + 1]``, and ``gen_pix_distribs`` with ``pix_distribs``.

Random draws: ``shuffle`` (int32 ``[T-1-context_frames, B]``, one permutation of ``range(B)`` per
scheduled-sampling step, train mode only; from ``seed`` folded with 2 when not given).

Losses (generic ``generator_loss_fn``, DNA defaults): ``gen_l2_loss`` on ``gen_images`` (l2_weight 1);
``gen_state_loss`` only if state_weight is set. No KL, no discriminator.

No inventory exists (the original fails to build); ``tests/test_savp_baselines.py`` checks the parameter
count against a count worked out by hand from dna_model.py.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

import keras
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.layers import slim_layers as sl
from vidpred_tf.models.savp.defaults import VIDEO_PREDICTION
from vidpred_tf.models.savp.sna import kernel_size_of
from vidpred_tf.models.savp.sv2p import FinnTower, check_image_shape, check_mode, draw_or_take, resolve_hparams

DNA_DEFAULTS = dict(
    VIDEO_PREDICTION,
    batch_size=32,
    l1_weight=0.0,
    l2_weight=1.0,
    transformation="cdna",
    kernel_size=(9, 9),
    num_masks=10,
    schedule_sampling_k=900.0,
)


class DNAGenerator(keras.layers.Layer):
    """``generator_fn`` of ``dna_model``, fixed to take ``mode`` (module docstring)."""

    def __init__(self, hparams=None, image_shape=(64, 64, 3), action_dim=0, state_dim=0, mode="train",
                 name="generator", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hparams = resolve_hparams(DNA_DEFAULTS, hparams, (), "dna")
        hp = self.hparams
        self.mode = check_mode(mode)
        self.image_shape = check_image_shape(image_shape, "dna")
        if not action_dim or not state_dim:
            raise InputError(f"dna: needs actions and states (use_state); got action_dim={action_dim}, "
                             f"state_dim={state_dim}")
        if hp.context_frames < 1 or hp.sequence_length <= hp.context_frames:
            raise InputError(f"dna hparams: need 1 <= context_frames < sequence_length, got "
                             f"{hp.context_frames}, {hp.sequence_length}")
        self.action_dim, self.state_dim = int(action_dim), int(state_dim)
        self.kernel_size = kernel_size_of(hp)
        self._store = sl.SlimVariables(self, name)
        self.tower = FinnTower(self._store, self.image_shape, lowdim=self.action_dim + self.state_dim,
                               state_dim=self.state_dim, use_state=True, latent_channels=0,
                               transformation=hp.transformation, kernel_size=self.kernel_size,
                               num_masks=hp.num_masks, relu_heads=True)
        self.built = True

    def original_variables(self) -> Dict[str, keras.Variable]:
        return self._store.items()

    def _move_pix(self, out, prev_pix):
        hp = self.hparams
        if hp.transformation == "dna":
            return [sl.dna_transform(prev_pix, out["dna_input"], self.kernel_size)]
        return [prev_pix] + sl.cdna_transform(prev_pix, out["cdna_params"], self.kernel_size, hp.num_masks)

    def call(self, inputs, step=0, seed=(0, 0), draws: Optional[Mapping] = None, mode: Optional[str] = None):
        hp = self.hparams
        images = tf.convert_to_tensor(inputs["images"], tf.float32)
        seq, batch = hp.sequence_length, images.shape[1]
        if tuple(images.shape[2:]) != self.image_shape or images.shape[0] != seq:
            raise InputError(f"dna inputs['images']: expected [{seq}, B, {', '.join(map(str, self.image_shape))}]"
                             f", got {list(images.shape)}")
        if "actions" not in inputs or "states" not in inputs:
            raise InputError("dna inputs: need 'actions' and 'states'")
        actions = tf.unstack(tf.convert_to_tensor(inputs["actions"], tf.float32))
        states = tf.unstack(tf.convert_to_tensor(inputs["states"], tf.float32))
        pix = inputs.get("pix_distribs")
        pix = tf.unstack(tf.convert_to_tensor(pix, tf.float32)) if pix is not None else None
        frames = tf.unstack(images)
        sampling = (mode or self.mode) == "train" and hp.schedule_sampling_k != -1
        n_ss = seq - 1 - hp.context_frames
        perms, n_gt = None, None
        if sampling and n_ss > 0:
            perms = draw_or_take(draws, "shuffle", tf.convert_to_tensor(seed, tf.int32), 2, (n_ss, batch), "shuffle")
            n_gt = sl.num_ground_truth(batch, hp.schedule_sampling_k, step)
        lstm = [None] * 7
        current_state = states[0]
        gen_images, gen_states, gen_masks, gen_pix = [], [], [], []
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
            state_action = tf.concat([actions[t], current_state], axis=1)
            out = self.tower.step(image, state_action, lstm)
            current_state = out["state"]
            gen_images.append(out["image"])
            gen_states.append(current_state)
            gen_masks.append(tf.stack(out["masks"], axis=-1))
            if pix is not None:
                mask_list = out["masks"]
                fused = mask_list[0] * prev_pix
                for layer, mask in zip(self._move_pix(out, prev_pix), mask_list[1:]):
                    fused = fused + layer * mask
                gen_pix.append(fused / tf.reduce_sum(fused, axis=(1, 2), keepdims=True))
        outputs = {"gen_images": tf.stack(gen_images, 0), "gen_states": tf.stack(gen_states, 0),
                   "masks": tf.stack(gen_masks, 0)}
        if pix is not None:
            outputs["gen_pix_distribs"] = tf.stack(gen_pix, 0)
        return outputs
