"""MSPred: the spatio-temporal hierarchical predictor (the original ``SpatioTempHierarch``), ConvLSTM and linear.

Three levels h = 0, 1, 2 read the encoder's three deepest feature maps. Each level has a predictor and, when
stochastic, a Gaussian posterior and prior; level h ticks every ``periods[h]`` steps and the latents are sampled
top-down (ancestral sampling: the upper levels' latest latents, upsampled, join the lower level's inputs). A
U-Net decoder makes the frames; two deconvolution heads decode the level-1 and level-2 maps.

The forward pass unrolls ``T - 1`` steps in Python; every period counter is a trace-time Python integer that is
created afresh in each call (:class:`~vidpred_tf.models.mspred.blocks.PeriodCounter`), so ``call`` keeps no state
and compiles under ``tf.function`` / XLA. The original's schedule is reproduced exactly, including its stale-prior
quirk (a prior only counts down when it is called, i.e. when its posterior fires, so it fires every p * p steps)
and the truncation of the KL statistics to the number of predictions. Work whose result the original discards is
skipped (decoding before the last context frame or at steps where nothing is kept; re-encoding a frame that was
already encoded as the previous step's target): the outputs are the same.

Call: ``out = model(x, context, num_preds, teacher_force=False, training=False, seed=None, eps=None)`` with x
float32 (B, T, H, W, C) in [0, 1]; ``training=True`` uses posterior latents at every step (the original's
``model.train()``), otherwise prior latents from t = context - 1 on. Noise: ``eps`` maps ``"posterior_<h>"`` /
``"prior_<h>"`` to an array indexed by firing number (k-th firing of that module within the call uses
``eps[key][k]``, shaped like the latent, NHWC); else ``seed`` (int32[2]) gives stateless draws; else TF's global
generator. Returns a dict: ``preds`` {h: (B, n_h, H, W, C_h)}, ``target_masks`` {h: numpy bool (T,)},
``mu_post``, ``logvar_post``, ``mu_prior``, ``logvar_prior``, ``latents`` {h: list of tensors}, and
``fire_times`` {"posterior_<h>" / "prior_<h>": list of steps t at which that module fired}.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vidpred_tf.models.mspred.blocks import (
    ConvLSTM,
    DeconvHead,
    GaussianConvLSTM,
    GaussianLinearLSTM,
    LinearLSTM,
    PeriodCounter,
    TorchParam,
    flatten_chw,
    join_name,
    modules_original_variables,
    unflatten_chw,
    upsample_nearest,
)
from vidpred_tf.models.mspred.dcgan_conv import DCGANConvDecoder, DCGANConvEncoder
from vidpred_tf.models.mspred.params import image_size
from vidpred_tf.models.mspred.vgg_conv import VGGConvDecoder, VGGConvEncoder

AUTOREG_MODES = ("LAST_PRED_FEATS", "LAST_PRED_FRAME")
ENCODER_TYPES = ("DCGAN", "VGG")


def _require(params: dict, path: str):
    """``params[a][b]...`` for the dotted ``path``; a missing key is an error naming it."""
    value = params
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise ValueError(f"model parameters lack 'model.{path}'")
        value = value[key]
    return value


def image_size_of(model_params: dict) -> tuple:
    """``img_size`` of the model group as (H, W) (an int means a square image)."""
    return image_size(_require(model_params, "img_size"), where="model.img_size")


def make_encoder_decoder(model_params: dict):
    """The feature-map encoder and decoder named by ``enc_dec_type`` (the original's ``*_Conv`` modules)."""
    enc_type = _require(model_params, "enc_dec_type")
    num_channels = int(_require(model_params, "num_channels"))
    dim = int(_require(model_params, "enc_dec.dim"))
    num_filters = int(_require(model_params, "enc_dec.num_filters"))
    extra_deep = bool(model_params["enc_dec"].get("extra_deep", False))
    if enc_type == "DCGAN":
        return (DCGANConvEncoder(dim, nc=num_channels, nf=num_filters, name="encoder"),
                DCGANConvDecoder(dim, nc=num_channels, nf=num_filters, name="decoder"))
    if enc_type == "VGG":
        return (VGGConvEncoder(dim, nc=num_channels, extra_deep=extra_deep, name="encoder"),
                VGGConvDecoder(dim, nc=num_channels, extra_deep=extra_deep, name="decoder"))
    raise ValueError(f"model.enc_dec_type {enc_type!r} is not one of {', '.join(ENCODER_TYPES)}")


def normalize_num_preds(num_preds: Union[int, Sequence[int]], levels: int) -> List[int]:
    if isinstance(num_preds, (int, np.integer)):
        return [int(num_preds)] * levels
    num_preds = [int(n) for n in num_preds]
    if len(num_preds) != levels:
        raise ValueError(f"num_preds must be an int or a list of {levels} ints; got {num_preds}")
    return num_preds


class NoiseSource:
    """Reparameterisation noise per module firing: fed arrays, stateless draws from a seed, or TF's generator."""

    _MODULE_IDS = {"posterior": 0, "prior": 3}

    def __init__(self, seed=None, eps: Optional[dict] = None):
        self.seed = None if seed is None else tf.cast(tf.convert_to_tensor(seed), tf.int32)
        self.eps = eps

    def __call__(self, kind: str, level: int, firing: int, shape):
        key = f"{kind}_{level}"
        if self.eps is not None:
            if key not in self.eps:
                raise ValueError(f"eps has no entry {key!r} (entries: {', '.join(sorted(self.eps))})")
            if firing >= len(self.eps[key]):
                raise ValueError(f"eps[{key!r}] holds {len(self.eps[key])} draws; firing {firing} needs more")
            return ops.cast(ops.convert_to_tensor(self.eps[key][firing]), "float32")
        if self.seed is not None:
            module_seed = tf.random.experimental.stateless_fold_in(self.seed, self._MODULE_IDS[kind] + level)
            return tf.random.stateless_normal(shape, tf.random.experimental.stateless_fold_in(module_seed, firing))
        return tf.random.normal(shape)


class SpatioTempHierarch(keras.Model):
    """MSPred; ``linear=False`` is ``SpatioTempHierarchConvLSTM``, ``linear=True`` ``SpatioTempHierarchLSTM``.

    ``model_params`` is the experiment's ``model`` group with ``num_channels`` and ``img_size`` filled in from
    the dataset group (as :func:`vidpred_tf.models.mspred.build.setup_model` does).
    """

    num_hierarch = 3

    def __init__(self, model_params: dict, linear: bool = False, stochastic: bool = True, **kwargs):
        kwargs.setdefault("name", "SpatioTempHierarchLSTM" if linear else "SpatioTempHierarchConvLSTM")
        super().__init__(**kwargs)
        self.model_params = model_params
        self.linear, self.stochastic = bool(linear), bool(stochastic)
        hierarch = _require(model_params, "HierarchLSTM")
        if int(hierarch.get("num_hierarch", 3)) != self.num_hierarch:
            raise ValueError(f"model.HierarchLSTM.num_hierarch must be 3; got {hierarch.get('num_hierarch')}")
        self.img_size = image_size_of(model_params)
        self.num_channels = int(_require(model_params, "num_channels"))
        self.nf = int(_require(model_params, "enc_dec.num_filters"))
        self.hidden_size = int(_require(model_params, "HierarchLSTM.hidden_dim"))
        num_layers = _require(model_params, "HierarchLSTM.num_layers")
        self.num_lstm_layers = ([int(n) for n in num_layers] if isinstance(num_layers, (list, tuple))
                                else [int(num_layers)] * self.num_hierarch)
        if len(self.num_lstm_layers) != self.num_hierarch:
            raise ValueError(f"model.HierarchLSTM.num_layers must have 3 entries; got {num_layers}")
        self.periods = [int(p) for p in _require(model_params, "HierarchLSTM.periods")]
        if len(self.periods) != self.num_hierarch or min(self.periods) < 1:
            raise ValueError(f"model.HierarchLSTM.periods must be 3 positive ints; got {self.periods}")
        self.ancestral_sampling = bool(_require(model_params, "HierarchLSTM.ancestral_sampling"))
        self.autoreg_mode = _require(model_params, "autoreg_mode")
        if self.autoreg_mode not in AUTOREG_MODES:
            raise ValueError(f"model.autoreg_mode {self.autoreg_mode!r} is not one of {', '.join(AUTOREG_MODES)}")
        self.last_context_residuals = bool(_require(model_params, "last_context_residuals"))
        if self.linear and self.last_context_residuals:
            raise ValueError("model.last_context_residuals must be false for SpatioTempHierarchLSTM (linear LSTMs)")
        if self.linear and self.ancestral_sampling:
            raise ValueError("model.HierarchLSTM.ancestral_sampling must be false for SpatioTempHierarchLSTM")
        dim = int(_require(model_params, "enc_dec.dim"))
        enc_type = _require(model_params, "enc_dec_type")
        # The levels are sized from num_filters while VGG's widths are fixed: only nf = 64 (dim 512) fits VGG.
        if dim != 8 * self.nf or (enc_type == "VGG" and self.nf != 64):
            raise ValueError(f"model.enc_dec.dim ({dim}) must be 8 * model.enc_dec.num_filters ({self.nf})"
                             + (" and num_filters must be 64 with enc_dec_type VGG" if enc_type == "VGG" else ""))

        self.encoder, self.decoder = make_encoder_decoder(model_params)
        self.level_channels = [self.nf * 2 ** (n + 1) for n in range(self.num_hierarch)]
        self.level_sizes = [self.encoder.spatial_dims(self.img_size, n + 1) for n in range(self.num_hierarch)]
        self.z_dim = int(_require(model_params, "LSTM_Prior.latent_dim"))
        if self.stochastic:
            self.posterior = self._prior_post_modules("LSTM_Posterior")
            self.prior = self._prior_post_modules("LSTM_Prior")
        else:
            self.posterior = self.prior = None
        self.predictor = self._predictor_modules()
        self.aux_outputs = bool(_require(model_params, "HierarchLSTM.aux_outputs"))
        if self.aux_outputs:
            self.n_hmap_channels = [int(c) for c in _require(model_params, "HierarchLSTM.n_hmap_channels")]
            self.decoder_heads = [DeconvHead(self.nf * 2 ** h, self.n_hmap_channels[h - 1], num_filters=self.nf,
                                             num_layers=h + 1, period=self.periods[h], name=f"decoder_head_{h - 1}")
                                  for h in range(1, self.num_hierarch)]
        else:
            self.n_hmap_channels, self.decoder_heads = None, []
        self.built = True

    # Construction ---------------------------------------------------------------------------------------------

    def _level_input_size(self, n: int) -> int:
        size = self.level_channels[n]
        if self.linear:
            size *= self.level_sizes[n][0] * self.level_sizes[n][1]
        return size

    def _prior_post_modules(self, key: str):
        hidden = int(_require(self.model_params, f"{key}.hidden_dim"))
        layers = int(_require(self.model_params, f"{key}.num_layers"))
        kind = "posterior" if key == "LSTM_Posterior" else "prior"
        modules = []
        for n in range(self.num_hierarch):
            input_size = self._level_input_size(n)
            if self.ancestral_sampling:
                input_size += self.z_dim * (self.num_hierarch - n - 1)
            if self.linear:
                modules.append(GaussianLinearLSTM(input_size, self.z_dim, hidden, layers, period=self.periods[n],
                                                  name=f"{kind}_{n}"))
            else:
                modules.append(GaussianConvLSTM(input_size, hidden, self.z_dim, layers, period=self.periods[n],
                                                name=f"{kind}_{n}"))
        return modules

    def _predictor_modules(self):
        modules = []
        for n in range(self.num_hierarch):
            output_size = self._level_input_size(n)
            input_size = output_size + (self.z_dim if self.stochastic else 0)
            if self.linear:
                modules.append(LinearLSTM(input_size, output_size, self.hidden_size, self.num_lstm_layers[n],
                                          period=self.periods[n], name=f"predictor_{n}"))
            else:
                modules.append(ConvLSTM(input_size, self.hidden_size, output_size, self.num_lstm_layers[n],
                                        period=self.periods[n], name=f"predictor_{n}"))
        return modules

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        """Every key of the original state_dict except ``device_param``, in the original's order."""
        params = self.encoder.original_variables(join_name(prefix, "encoder"))
        params.update(self.decoder.original_variables(join_name(prefix, "decoder")))
        if self.stochastic:
            params.update(modules_original_variables(join_name(prefix, "posterior"), self.posterior))
            params.update(modules_original_variables(join_name(prefix, "prior"), self.prior))
        params.update(modules_original_variables(join_name(prefix, "predictor"), self.predictor))
        if self.aux_outputs:
            params.update(modules_original_variables(join_name(prefix, "decoder_heads"), self.decoder_heads))
        return params

    # Static schedule ------------------------------------------------------------------------------------------

    def target_masks(self, seq_len: int, context: int, num_preds) -> Dict[int, np.ndarray]:
        """The frames each level predicts (True at the predicted frame indices), without running the model."""
        num_preds = normalize_num_preds(num_preds, self.num_hierarch)
        masks = {h: np.zeros((seq_len,), dtype=bool) for h in range(self.num_hierarch if self.aux_outputs else 1)}
        counters = {h: PeriodCounter(self.periods[h]) for h in range(1, self.num_hierarch)}
        for t in range(context - 1, seq_len - 1):
            if masks[0].sum() < num_preds[0]:
                masks[0][t + 1] = True
            if self.aux_outputs:
                for h in range(1, self.num_hierarch):
                    if masks[h].sum() < num_preds[h] and counters[h].tick():
                        self._check_mask_index(t + self.periods[h], seq_len, h)
                        masks[h][t + self.periods[h]] = True
        return masks

    @staticmethod
    def _check_mask_index(index: int, seq_len: int, level: int) -> None:
        if index >= seq_len:
            raise ValueError(f"level {level} would predict frame {index} but the sequence has only {seq_len} "
                             "frames: use T >= context + max(num_preds[h] * periods[h])")

    # Forward --------------------------------------------------------------------------------------------------

    def _input_feats(self, encoded):
        out, skips = encoded
        return [skips[1], skips[2], out]

    def _residual_feats(self, encoded):
        out, skips = encoded
        return [skips[0], skips[1], skips[2], out]

    def _decoder_inputs(self, pred_feats, residuals):
        feats = [residuals[0]]
        if self.last_context_residuals:
            feats += [feat + residual for feat, residual in zip(pred_feats, residuals[1:])]
        else:
            feats += list(pred_feats)
        return feats[-1], feats[:-1]

    def _initial_state(self, module, batch_size, level: int):
        if self.linear:
            return module.initial_state(batch_size)
        height, width = self.level_sizes[level]
        return module.initial_state(batch_size, height, width)

    def _latent_shape(self, batch_size, level: int):
        if self.linear:
            return (batch_size, self.z_dim)
        height, width = self.level_sizes[level]
        return (batch_size, height, width, self.z_dim)

    def call(self, x, context: int = 4, num_preds=10, teacher_force: bool = False, training: bool = False,
             seed=None, eps: Optional[dict] = None):
        levels = self.num_hierarch
        num_preds = normalize_num_preds(num_preds, levels)
        context = int(context)
        if len(x.shape) != 5:
            raise ValueError(f"x must be (B, T, H, W, C); got shape {tuple(x.shape)}")
        seq_len = int(x.shape[1])
        if seq_len < context + num_preds[0] or context < 1 or num_preds[0] < 1:
            raise ValueError(f"need context >= 1, num_preds[0] >= 1 and T >= context + num_preds[0]; got T="
                             f"{seq_len}, context={context}, num_preds={num_preds}")
        x = ops.cast(x, "float32")
        batch_size = ops.shape(x)[0]
        noise = NoiseSource(seed, eps)
        training = bool(training)

        encoded_frames: Dict[int, tuple] = {}

        def encode(index: int):
            # Each encoder call is an independent BN pass over the batch, so re-encoding a frame gives the same
            # result: encode every frame once.
            if index not in encoded_frames:
                encoded_frames[index] = self.encoder(x[:, index])
            return encoded_frames[index]

        pred_counters = [PeriodCounter(p) for p in self.periods]
        pred_states = [self._initial_state(m, batch_size, h) for h, m in enumerate(self.predictor)]
        pred_last: List = [None] * levels
        if self.stochastic:
            post_counters = [PeriodCounter(p) for p in self.periods]
            prior_counters = [PeriodCounter(p) for p in self.periods]
            post_states = [self._initial_state(m, batch_size, h) for h, m in enumerate(self.posterior)]
            prior_states = [self._initial_state(m, batch_size, h) for h, m in enumerate(self.prior)]
            prior_last: List = [None] * levels
        head_counters = {h: PeriodCounter(self.periods[h]) for h in range(1, levels)}

        preds: Dict[int, list] = {h: [] for h in range(levels)}
        masks = {h: np.zeros((seq_len,), dtype=bool) for h in range(levels if self.aux_outputs else 1)}
        stats = {key: {h: [] for h in range(levels)} for key in ("mu_post", "logvar_post", "mu_prior",
                                                                  "logvar_prior", "latents")}
        fire_times = {f"{kind}_{h}": [] for h in range(levels) for kind in ("posterior", "prior")} \
            if self.stochastic else {}
        feats = residuals = pred_feats = None

        for t in range(seq_len - 1):
            if self.stochastic:
                target_feats = self._input_feats(encode(t + 1))
            if t < context:
                encoded = encode(t)
                feats, residuals = self._input_feats(encoded), self._residual_feats(encoded)
            elif self.autoreg_mode == "LAST_PRED_FEATS":
                feats = pred_feats
            else:
                encoded = encode(t) if teacher_force else self.encoder(preds[0][-1])
                feats = self._input_feats(encoded)

            if self.stochastic:
                for h in reversed(range(levels)):
                    post_input, prior_input = target_feats[h], feats[h]
                    if self.ancestral_sampling and h != levels - 1:
                        upper = [upsample_nearest(stats["latents"][k][-1], 2 ** (i + 1))
                                 for i, k in enumerate(range(h + 1, levels))]
                        post_input = ops.concatenate([post_input] + upper, axis=-1)
                        prior_input = ops.concatenate([prior_input] + upper, axis=-1)
                    if not post_counters[h].tick():
                        continue
                    if self.linear:
                        post_input, prior_input = flatten_chw(post_input), flatten_chw(prior_input)
                    shape = self._latent_shape(batch_size, h)
                    firing = len(fire_times[f"posterior_{h}"])
                    (z_post, mu_post, logvar_post), post_states[h] = self.posterior[h].step(
                        post_input, post_states[h], noise("posterior", h, firing, shape))
                    fire_times[f"posterior_{h}"].append(t)
                    if prior_counters[h].tick():
                        firing = len(fire_times[f"prior_{h}"])
                        prior_last[h], prior_states[h] = self.prior[h].step(
                            prior_input, prior_states[h], noise("prior", h, firing, shape))
                        fire_times[f"prior_{h}"].append(t)
                    z_prior, mu_prior, logvar_prior = prior_last[h]
                    stats["latents"][h].append(z_post if (t < context - 1 or training) else z_prior)
                    if t >= context - 1:
                        stats["mu_post"][h].append(mu_post)
                        stats["logvar_post"][h].append(logvar_post)
                        stats["mu_prior"][h].append(mu_prior)
                        stats["logvar_prior"][h].append(logvar_prior)

            for h in range(levels):
                if not pred_counters[h].tick():
                    continue
                level_input = flatten_chw(feats[h]) if self.linear else feats[h]
                if self.stochastic:
                    level_input = ops.concatenate([level_input, stats["latents"][h][-1]], axis=-1)
                output, pred_states[h] = self.predictor[h].step(level_input, pred_states[h])
                if self.linear:
                    output = unflatten_chw(output, self.level_channels[h], *self.level_sizes[h])
                pred_last[h] = output
            pred_feats = list(pred_last)

            if t < context - 1:
                continue
            keep_frame = len(preds[0]) < num_preds[0]
            heads_firing = [h for h in range(1, levels)
                            if self.aux_outputs and len(preds[h]) < num_preds[h] and head_counters[h].tick()]
            if not keep_frame and not heads_firing:
                continue
            frame, decoder_skips = self.decoder(*self._decoder_inputs(pred_feats, residuals))
            if keep_frame:
                preds[0].append(frame)
                masks[0][t + 1] = True
            head_inputs = [decoder_skips[1], decoder_skips[0]]
            for h in heads_firing:
                self._check_mask_index(t + self.periods[h], seq_len, h)
                preds[h].append(self.decoder_heads[h - 1](head_inputs[h - 1]))
                masks[h][t + self.periods[h]] = True

        out = {"preds": {h: ops.stack(p, axis=1) for h, p in preds.items() if p}, "target_masks": masks}
        for key in ("mu_post", "logvar_post", "mu_prior", "logvar_prior"):
            out[key] = {h: values[:len(preds[h])] for h, values in stats[key].items()}
        out["latents"] = stats["latents"]
        out["fire_times"] = fire_times
        return out
