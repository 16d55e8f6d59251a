"""SAVP's generator (``savp_model.generator_fn``, TF1 scope ``generator``).

nz == 0: one unroll of the SAVP cell. nz > 0: the posterior encoder gives ``zs_mu`` / ``zs_log_sigma_sq`` of every
frame pair and a posterior sample; the prior z is N(0, 1) except for the first ``context_frames - 1`` steps, which
reuse the posterior sample (quirk Q3), or comes from a learned prior (``learn_prior``). The cell runs on the
posterior z (outputs suffixed ``_enc``), again on the prior z (the plain output names), and a third time on
``num_samples`` prior samples for the visualisation outputs ``gen_images_samples[_avg]`` (built in every mode).

Randomness: every draw is either taken from ``draws`` (tests replay the original's recorded draws) or made with
``tf.random.stateless_*`` from ``seed`` folded with the draw's index (creation order of the original):
``eps_enc`` 0, ``eps_prior`` 1, ``sampling_enc`` 2, ``sampling`` 3, ``eps_samples`` 4, ``sampling_samples`` 5.
``sampling*`` are int ``[batch, T-1-context_frames]`` with 1 = use the ground-truth frame.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Dict, Mapping, Optional

import keras
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.models.savp.cell import SAVPCell
from vidpred_tf.models.savp.encoder import ZEncoder

DRAW_INDEX = {"eps_enc": 0, "eps_prior": 1, "sampling_enc": 2, "sampling": 3, "eps_samples": 4,
              "sampling_samples": 5}


def ground_truth_probability(hparams, step):
    """Probability of feeding the ground-truth frame at global step ``step`` (float32 scalar tensor)."""
    step = tf.cast(step, tf.float32)
    if hparams.schedule_sampling == "inverse_sigmoid":
        k = float(hparams.schedule_sampling_k)
        start = float(hparams.schedule_sampling_steps[0])
        prob = k / (k + tf.exp((step - start) / k))
        return tf.where(step < start, tf.constant(1.0), prob)
    if hparams.schedule_sampling == "linear":
        start, end = (float(s) for s in hparams.schedule_sampling_steps)
        clipped = tf.clip_by_value(step, start, end)
        return 1.0 - (clipped - start) / (end - start)
    raise ValueError(f"schedule_sampling: unknown schedule {hparams.schedule_sampling!r} "
                     "(inverse_sigmoid, linear, none)")


def ground_truth_schedule(hparams, mode, step, batch_size, sampling=None, seed=None):
    """Bool ``[T-1, batch]``: True for the context steps, then Bernoulli(p) per (t, b) in train mode; all False in
    the non-context part in test mode, with ``schedule_sampling='none'``, or when p < 0.001.

    ``sampling``: optional int ``[batch, T-1-context_frames]`` draw (1 = ground truth); otherwise drawn from
    ``seed``.
    """
    ctx = hparams.context_frames
    num = hparams.sequence_length - 1 - ctx
    context = tf.ones(tf.stack([ctx, batch_size]), dtype=tf.bool)
    if hparams.schedule_sampling == "none" or mode != "train":
        rest = tf.zeros(tf.stack([num, batch_size]), dtype=tf.bool)
    else:
        prob = ground_truth_probability(hparams, step)
        if sampling is None:
            uniform = tf.random.stateless_uniform(tf.stack([batch_size, num]), seed=seed)
            sampling = uniform < prob
        rest = tf.transpose(tf.cast(sampling, tf.bool), [1, 0])
        rest = tf.logical_and(rest, prob >= 0.001)
    return tf.concat([context, rest], axis=0)


def pad_or_slice(tensor, length):
    have = tensor.shape[0]
    if have < length:
        return tf.pad(tensor, [[0, length - have]] + [[0, 0]] * (tensor.shape.rank - 1))
    return tensor[:length]


class SAVPGenerator(keras.layers.Layer):
    """The SAVP generator for static shapes; every variable exists after construction.

    ``call(inputs, step, seed, draws=None)``: ``inputs`` time-major ``{'images' [T,B,H,W,C], 'actions' [T-1,B,A],
    'states' [T,B,S], 'pix_distribs' [T,B,H,W,M]}`` (the optional ones as configured); ``step`` the global step
    (scheduled sampling); ``seed`` int32 [2]. Returns the original's output dict, time-major ``[T-1, B, ...]``.
    """

    def __init__(self, hparams, image_shape, action_dim=0, state_dim=0, mode="train", name="generator",
                 num_motions=0, **kwargs):
        super().__init__(name=name, **kwargs)
        if mode not in ("train", "test"):
            raise InputError(f"SAVP generator: mode must be 'train' or 'test', not {mode!r}")
        self.hp, self.mode = hparams, mode
        self.image_shape = tuple(int(d) for d in image_shape)
        self.action_dim, self.state_dim, self.num_motions = int(action_dim), int(state_dim), int(num_motions)
        self.nz = int(hparams.nz)
        self.encoder = self.prior = None
        if self.nz:
            self.encoder = ZEncoder(hparams, self.image_shape, self.action_dim, prior=False, name="encoder")
            if hparams.learn_prior:
                self.prior = ZEncoder(hparams, self.image_shape, self.action_dim, prior=True, name="prior")
        self.cell = SAVPCell(hparams, self.image_shape, self.action_dim, self.state_dim, use_zs=bool(self.nz),
                             num_motions=self.num_motions, name="savp_cell")
        self.built = True

    def original_variables(self) -> Dict[str, keras.Variable]:
        """``{TF1 name: variable}`` in the original's creation order."""
        names = []
        if self.encoder is not None:
            names += [(f"encoder/{n}", v) for n, v in self.encoder.tf1_variables()]
        if self.prior is not None:
            names += [(f"prior/{n}", v) for n, v in self.prior.tf1_variables()]
        names += self.cell.tf1_variables()
        return OrderedDict((f"{self.name}/{n}", v) for n, v in names)

    # ------------------------------------------------------------------------------------------------ helpers
    def _draw(self, draws, seed, name, shape):
        """N(0, 1) draw ``name``: injected, or from ``seed`` folded with the draw's index."""
        if name in draws:
            return tf.convert_to_tensor(draws[name], tf.float32)
        sub_seed = tf.random.experimental.stateless_fold_in(seed, DRAW_INDEX[name])
        return tf.random.stateless_normal(shape, seed=sub_seed)

    def _unroll(self, inputs, step, batch, sampling, seed, mode):
        hp = self.hp
        length = hp.sequence_length - 1
        cell_inputs = {name: pad_or_slice(value, length) for name, value in inputs.items()}
        ground_truth = ground_truth_schedule(hp, mode, step, batch, sampling=sampling, seed=seed)
        outputs = self.cell.unroll(cell_inputs, ground_truth)
        outputs["ground_truth_sampling_mean"] = tf.reduce_mean(
            tf.cast(ground_truth[hp.context_frames:], tf.float32))
        return outputs

    def _sampling(self, draws, seed, name):
        if name in draws:
            return tf.convert_to_tensor(draws[name]), None
        return None, tf.random.experimental.stateless_fold_in(seed, DRAW_INDEX[name])

    # ---------------------------------------------------------------------------------------------------- call
    def call(self, inputs: Mapping[str, tf.Tensor], step, seed, draws: Optional[Mapping[str, tf.Tensor]] = None,
             mode: Optional[str] = None):
        hp = self.hp
        # ``mode`` overrides the construction mode for one call: a training model predicts in test mode.
        mode = mode or self.mode
        draws = dict(draws or {})
        seed = tf.cast(tf.convert_to_tensor(seed), tf.int32)
        inputs = {k: tf.convert_to_tensor(v) for k, v in inputs.items() if v is not None}
        images = inputs["images"]
        if images.shape[0] != hp.sequence_length or tuple(images.shape[2:]) != self.image_shape:
            raise InputError(f"SAVP generator: images must be [T={hp.sequence_length}, B, "
                             f"{', '.join(map(str, self.image_shape))}], got {list(images.shape)}")
        batch = tf.shape(images)[1]
        ctx, length, nz = hp.context_frames, hp.sequence_length - 1, self.nz
        if not nz:
            sampling, s_seed = self._sampling(draws, seed, "sampling")
            return self._unroll(inputs, step, batch, sampling, s_seed, mode)

        # posterior q(z | x)
        post = self.encoder(images, inputs.get("actions"))
        eps = self._draw(draws, seed, "eps_enc", tf.stack([length, batch, nz]))
        zs_post = post["zs_mu"] + tf.sqrt(tf.exp(post["zs_log_sigma_sq"])) * eps
        # prior
        prior_outputs = {}
        if self.prior is not None:
            prior_outputs = self.prior(images, inputs.get("actions"))
            eps = self._draw(draws, seed, "eps_prior", tf.stack([length, batch, nz]))
            zs_prior = prior_outputs["zs_mu"] + tf.sqrt(tf.exp(prior_outputs["zs_log_sigma_sq"])) * eps
        else:
            eps = self._draw(draws, seed, "eps_prior", tf.stack([hp.sequence_length - ctx, batch, nz]))
            zs_prior = tf.concat([zs_post[:ctx - 1], eps], axis=0)

        sampling, s_seed = self._sampling(draws, seed, "sampling_enc")
        gen_post = self._unroll(dict(inputs, zs=zs_post), step, batch, sampling, s_seed, mode)
        sampling, s_seed = self._sampling(draws, seed, "sampling")
        gen_prior = self._unroll(dict(inputs, zs=zs_prior), step, batch, sampling, s_seed, mode)

        outputs = OrderedDict()
        outputs.update((k + "_prior", v) for k, v in prior_outputs.items())
        outputs.update(gen_prior)
        outputs.update((k + "_enc", v) for k, v in post.items())
        outputs.update((k + "_enc", v) for k, v in gen_post.items())

        # num_samples prior rollouts for visualisation
        num = hp.num_samples
        tiled = {}
        for name, value in inputs.items():
            value = tf.tile(value[:, None], [1, num] + [1] * (value.shape.rank - 1))
            tiled[name] = tf.reshape(value, tf.concat([[value.shape[0], -1], tf.shape(value)[3:]], 0))
        if self.prior is not None:
            eps = self._draw(draws, seed, "eps_samples", tf.stack([length, num, batch, nz]))
            zs_samples = (prior_outputs["zs_mu"][:, None]
                          + tf.sqrt(tf.exp(prior_outputs["zs_log_sigma_sq"]))[:, None] * eps)
        else:
            eps = self._draw(draws, seed, "eps_samples", tf.stack([hp.sequence_length - ctx, num, batch, nz]))
            zs_samples = tf.concat([tf.tile(zs_post[:ctx - 1][:, None], [1, num, 1, 1]), eps], axis=0)
        tiled["zs"] = tf.reshape(zs_samples, tf.stack([length, num * batch, nz]))
        sampling, s_seed = self._sampling(draws, seed, "sampling_samples")
        gen_samples = self._unroll(tiled, step, num * batch, sampling, s_seed, mode)
        samples = tf.stack(tf.split(gen_samples["gen_images"], num, axis=1), axis=-1)
        outputs["gen_images_samples"] = samples
        outputs["gen_images_samples_avg"] = tf.reduce_mean(samples, axis=-1)
        return outputs
