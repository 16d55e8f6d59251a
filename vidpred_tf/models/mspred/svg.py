"""The SVG baselines of MSPred (the original ``models/VideoPred_SVG.py`` on ``models/VideoPred.py``).

Denton & Fergus' "Stochastic Video Generation with a Learned Prior" in four flavours (``model.model_type``):

| model_type | class | predictor | prior / posterior | encoder / decoder |
|---|---|---|---|---|
| ``deterministic`` | :class:`SVGDeterministic` | LinearLSTM | none | DCGAN-64 / VGG-64 (1x1 vector) |
| ``ConvDeterministic`` | :class:`SVGDeterministic` | ConvLSTM | none | DCGAN_Conv / VGG_Conv (feature map) |
| ``LP`` | :class:`SVGLearnedPrior` | LinearLSTM | GaussianLinearLSTM | DCGAN-64 / VGG-64 |
| ``ConvLP`` | :class:`SVGLearnedPrior` | ConvLSTM | GaussianConvLSTM | DCGAN_Conv / VGG_Conv |

Predictor: ``enc_dec.dim (+ z) -> LSTM.hidden_dim x LSTM.num_layers -> enc_dec.dim``; prior and posterior both
read ``enc_dec.dim`` features and emit ``LSTM_Prior.latent_dim`` latents, with the hidden sizes and depths of
``LSTM_Prior`` / ``LSTM_Posterior``.

Forward, for t = 0 .. context + n - 2 (n = number of predicted frames): encode the current input frame (the
skips are refreshed only while t < context, so they stay those of the last context frame); for LP, the
posterior reads the encoding of frame t+1 and the prior that of the current input, and the latent is the
posterior sample while t < context - 1 or in training mode, else the prior sample, concatenated to the
features; the predictor steps and the decoder makes frame t+1, kept from t = context - 1 on. The next input is
the true frame t+1 during the context (or with ``teacher_force``), else the prediction.

A fix of the original: its forward is ``(x, context, pred_frames, teacher_force)`` while the training,
evaluation and figure scripts call ``model(x=, context=, num_preds=, teacher_force=)``, so the shipped scripts
cannot run these baselines. Here they take the MSPred call of every model of the family::

    outputs = model(x, context=c, num_preds=n or [n, ...], teacher_force=False, training=False, seed=None,
                    eps=None)

and return the hierarchical model's dict restricted to level 0: ``preds {0: (B, n, H, W, C)}``,
``target_masks {0: bool (T,)}``, and ``mu_post``/``logvar_post``/``mu_prior``/``logvar_prior``/``latents``
``{0: [...]}`` (empty lists for the deterministic models). As in the original SVG forward (and unlike the
hierarchical model), the KL statistics are kept for every step t = 0 .. context + n - 2, not truncated.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence

import keras
import numpy as np
from keras import ops

from vidpred_tf.models.mspred.blocks import (
    ConvLSTM,
    GaussianConvLSTM,
    GaussianLinearLSTM,
    LinearLSTM,
    TorchParam,
    count_torch_parameters,
    join_name,
)
from vidpred_tf.models.mspred.dcgan_64 import DCGAN64Decoder, DCGAN64Encoder
from vidpred_tf.models.mspred.dcgan_conv import DCGANConvDecoder, DCGANConvEncoder
from vidpred_tf.models.mspred.hierarch import NoiseSource
from vidpred_tf.models.mspred.params import first_num_preds, frame_shape
from vidpred_tf.models.mspred.vgg_64 import VGG64Decoder, VGG64Encoder
from vidpred_tf.models.mspred.vgg_conv import VGGConvDecoder, VGGConvEncoder

# model_type -> (linear predictor?, learned prior?)
SVG_MODEL_TYPES = {
    "deterministic": (True, False),
    "ConvDeterministic": (False, False),
    "LP": (True, True),
    "ConvLP": (False, True),
}
ENC_DEC_TYPES = ("DCGAN", "VGG")


def _require(params: dict, key: str, where: str):
    if not isinstance(params, dict) or key not in params:
        raise ValueError(f"experiment parameters: {where} has no {key!r}")
    return params[key]


def first_level_num_preds(num_preds) -> int:
    """``num_preds`` of the MSPred call (an int or a per-level list) -> the number of predicted frames."""
    count = first_num_preds(num_preds)
    if count < 1:
        raise ValueError(f"num_preds must be >= 1; got {count}")
    return count


class SVGBase(keras.Model):
    """Shared parts of the SVG baselines: config reading, encoder/decoder choice, the unrolled forward."""

    learned_prior = False

    def __init__(self, model_params: dict, num_channels: int, img_size: Sequence[int], linear: bool, **kwargs):
        super().__init__(**kwargs)
        self.model_params = copy.deepcopy(model_params)
        self.linear = bool(linear)
        self.num_channels = int(num_channels)
        self.img_size = (int(img_size[0]), int(img_size[1]))
        enc_dec_type = _require(model_params, "enc_dec_type", "model")
        if enc_dec_type not in ENC_DEC_TYPES:
            raise ValueError(f"experiment parameters: model.enc_dec_type must be one of {ENC_DEC_TYPES}; "
                             f"got {enc_dec_type!r}")
        enc_dec = _require(model_params, "enc_dec", "model")
        self.dim = int(_require(enc_dec, "dim", "model.enc_dec"))
        if enc_dec_type == "DCGAN":
            nf = int(_require(enc_dec, "num_filters", "model.enc_dec"))
            if self.linear:
                self.encoder = DCGAN64Encoder(self.dim, nc=self.num_channels, nf=nf, name="encoder")
                self.decoder = DCGAN64Decoder(self.dim, nc=self.num_channels, nf=nf, name="decoder")
            else:
                self.encoder = DCGANConvEncoder(self.dim, nc=self.num_channels, nf=nf, name="encoder")
                self.decoder = DCGANConvDecoder(self.dim, nc=self.num_channels, nf=nf, name="decoder")
        else:
            extra_deep = bool(enc_dec.get("extra_deep", False))
            if self.linear:
                self.encoder = VGG64Encoder(self.dim, nc=self.num_channels, extra_deep=extra_deep, name="encoder")
                self.decoder = VGG64Decoder(self.dim, nc=self.num_channels, extra_deep=extra_deep, name="decoder")
            else:
                self.encoder = VGGConvEncoder(self.dim, nc=self.num_channels, extra_deep=extra_deep,
                                              name="encoder")
                self.decoder = VGGConvDecoder(self.dim, nc=self.num_channels, extra_deep=extra_deep,
                                              name="decoder")
        if self.linear and self.img_size != (64, 64):
            raise ValueError(f"experiment parameters: the linear SVG models ({model_params.get('model_type')}) "
                             f"encode 64x64 frames to a vector; dataset.img_size is {list(self.img_size)}")
        lstm = _require(model_params, "LSTM", "model")
        self.lstm_hidden = int(_require(lstm, "hidden_dim", "model.LSTM"))
        self.lstm_layers = int(_require(lstm, "num_layers", "model.LSTM"))
        self.latent_dim = int(_require(_require(model_params, "LSTM_Prior", "model"), "latent_dim",
                                       "model.LSTM_Prior")) if self.learned_prior else 0
        self.predictor = self._make_predictor(self.dim + self.latent_dim)
        self.prior = self.posterior = None

    def _make_predictor(self, input_size: int):
        if self.linear:
            return LinearLSTM(input_size, self.dim, self.lstm_hidden, self.lstm_layers, name="predictor")
        return ConvLSTM(input_size, self.lstm_hidden, self.dim, self.lstm_layers, name="predictor")

    def _initial_state(self, module, batch_size, feats):
        if self.linear:
            return module.initial_state(batch_size)
        return module.initial_state(batch_size, int(feats.shape[1]), int(feats.shape[2]))

    # Torch-name protocol --------------------------------------------------------------------------------------
    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        """Every key of the original state_dict except ``device_param``, in the original's registration order."""
        params = self.encoder.original_variables(join_name(prefix, "encoder"))
        params.update(self.decoder.original_variables(join_name(prefix, "decoder")))
        params.update(self.predictor.original_variables(join_name(prefix, "predictor")))
        for name in ("prior", "posterior"):
            module = getattr(self, name)
            if module is not None:
                params.update(module.original_variables(join_name(prefix, name)))
        return params

    def count_parameters(self) -> int:
        """The trainable-parameter count of the original model."""
        return count_torch_parameters(self.original_variables())

    # Forward --------------------------------------------------------------------------------------------------
    def call(self, x, context: int = 4, num_preds=10, teacher_force: bool = False, training: bool = False,
             seed=None, eps: Optional[dict] = None):
        """See the module docstring. ``x`` (B, T, H, W, C) in [0, 1]; ``seed`` an int32[2] for stateless draws;
        ``eps`` {"posterior_0": draws, "prior_0": draws} feeds the noise of each firing (arrays (n, B, ...))."""
        context, num_preds = int(context), first_level_num_preds(num_preds)
        training = bool(training)
        if len(x.shape) != 5:
            raise ValueError(f"x must be (B, T, H, W, C); got shape {tuple(x.shape)}")
        num_frames = int(x.shape[1])
        if tuple(int(d) for d in x.shape[2:]) != (*self.img_size, self.num_channels):
            raise ValueError(f"x frames are {tuple(x.shape[2:])}; the model was built for "
                             f"{(*self.img_size, self.num_channels)} (dataset.img_size / num_channels)")
        if context < 1 or context > num_frames:
            raise ValueError(f"context must be in 1..{num_frames} (the frames in x); got {context}")
        needs_all_frames = teacher_force or (training and self.learned_prior)
        if needs_all_frames and num_frames < context + num_preds:
            raise ValueError(f"x has {num_frames} frames; context {context} + num_preds {num_preds} are needed "
                             f"{'with teacher forcing' if teacher_force else 'in training mode'}")
        x = ops.cast(x, "float32")
        batch_size = ops.shape(x)[0]
        noise = NoiseSource(seed, eps)
        target_mask = np.zeros((num_frames,), dtype=bool)
        out = {"preds": {}, "target_masks": {0: target_mask}, "mu_post": {0: []}, "logvar_post": {0: []},
               "mu_prior": {0: []}, "logvar_prior": {0: []}, "latents": {0: []},
               "fire_times": {"posterior_0": [], "prior_0": []} if self.learned_prior else {}}
        fire_times = out["fire_times"]

        def draw(kind, shape, t):
            # The k-th firing of a module uses draw k (eps[f"{kind}_0"][k] when fed).
            firing = len(fire_times[f"{kind}_0"])
            fire_times[f"{kind}_0"].append(t)
            sample = noise(kind, 0, firing, shape)
            if tuple(sample.shape[1:]) != tuple(shape[1:]):
                raise ValueError(f"eps[{kind + '_0'!r}][{firing}] has shape {tuple(sample.shape)}; the latent "
                                 f"needs (B, {', '.join(str(d) for d in shape[1:])})")
            return sample

        states = {}
        preds: List = []
        next_input = x[:, 0]
        skips = None
        for t in range(context + num_preds - 1):
            feats, frame_skips = self.encoder(next_input)
            if t < context:
                skips = frame_skips
            if not states:
                for name in ("predictor", "prior", "posterior"):
                    module = getattr(self, name)
                    if module is not None:
                        states[name] = self._initial_state(module, batch_size, feats)
            if self.learned_prior:
                latent_post = None
                if t < num_frames - 1:
                    target_feats, _ = self.encoder(x[:, t + 1])
                    shape = self._latent_shape(self.posterior, batch_size, target_feats)
                    (latent_post, mu_post, logvar_post), states["posterior"] = self.posterior.step(
                        target_feats, states["posterior"], draw("posterior", shape, t))
                shape = self._latent_shape(self.prior, batch_size, feats)
                (latent_prior, mu_prior, logvar_prior), states["prior"] = self.prior.step(
                    feats, states["prior"], draw("prior", shape, t))
                latent = latent_post if (t < context - 1 or training) else latent_prior
                if latent_post is not None:
                    out["mu_post"][0].append(mu_post)
                    out["logvar_post"][0].append(logvar_post)
                    out["mu_prior"][0].append(mu_prior)
                    out["logvar_prior"][0].append(logvar_prior)
                out["latents"][0].append(latent)
                feats = ops.concatenate([feats, latent], axis=-1)
            pred_feats, states["predictor"] = self.predictor.step(feats, states["predictor"])
            frame, _ = self.decoder(pred_feats, skips)
            if t >= context - 1:
                preds.append(frame)
                if t + 1 < num_frames:
                    target_mask[t + 1] = True
            next_input = x[:, t + 1] if (t < context - 1 or teacher_force) else frame
        out["preds"][0] = ops.stack(preds, axis=1)
        return out

    def _latent_shape(self, module, batch_size, feats):
        if self.linear:
            return module.latent_shape(batch_size)
        return module.latent_shape(batch_size, int(feats.shape[1]), int(feats.shape[2]))


class SVGDeterministic(SVGBase):
    """``SVG_DET``: encoder, predictor, decoder; no latent (``deterministic`` / ``ConvDeterministic``)."""

    learned_prior = False

    def __init__(self, model_params: dict, num_channels: int, img_size: Sequence[int], linear: bool = True,
                 **kwargs):
        super().__init__(model_params, num_channels, img_size, linear, **kwargs)
        self.built = True


class SVGLearnedPrior(SVGBase):
    """``SVG_LP``: adds a learned prior and a posterior, both Gaussian (Conv)LSTMs (``LP`` / ``ConvLP``)."""

    learned_prior = True

    def __init__(self, model_params: dict, num_channels: int, img_size: Sequence[int], linear: bool = True,
                 **kwargs):
        super().__init__(model_params, num_channels, img_size, linear, **kwargs)
        self.prior = self._make_gaussian("LSTM_Prior", "prior")
        self.posterior = self._make_gaussian("LSTM_Posterior", "posterior")
        self.built = True

    def _make_gaussian(self, key: str, name: str):
        params = _require(self.model_params, key, "model")
        hidden = int(_require(params, "hidden_dim", f"model.{key}"))
        layers = int(_require(params, "num_layers", f"model.{key}"))
        # Both read LSTM_Prior.latent_dim (the posterior's own latent_dim is ignored, as in the original).
        if self.linear:
            return GaussianLinearLSTM(self.dim, self.latent_dim, hidden, layers, name=name)
        return GaussianConvLSTM(self.dim, hidden, self.latent_dim, layers, name=name)


def build_svg_model(exp_params: dict) -> SVGBase:
    """``setup_model`` for ``model.model_type`` in deterministic / ConvDeterministic / LP / ConvLP."""
    model_params = _require(exp_params, "model", "the experiment")
    _require(exp_params, "dataset", "the experiment")
    model_type = _require(model_params, "model_type", "model")
    if model_type not in SVG_MODEL_TYPES:
        raise ValueError(f"experiment parameters: model.model_type {model_type!r} is not an SVG baseline "
                         f"(one of {', '.join(SVG_MODEL_TYPES)})")
    linear, learned_prior = SVG_MODEL_TYPES[model_type]
    model_class = SVGLearnedPrior if learned_prior else SVGDeterministic
    height, width, num_channels = frame_shape(exp_params)
    return model_class(model_params, num_channels, (height, width), linear=linear, name=f"svg_{model_type}")
