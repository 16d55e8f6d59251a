"""The original's ``--model`` families as one Keras model: a generator, and for SAVP in training a discriminator.

``build_model(name, hparams, image_shape, action_dim, state_dim, mode)`` is ``models.get_model_class(name)(mode,
hparams)`` of the original: ``savp`` (all the paper's ``ours_*`` configurations), ``sv2p``, ``dna``, ``sna`` and the
non-trainable references ``ground_truth`` and ``repeat``. ``resolve_model_hparams`` applies the original's
precedence (class defaults < JSON dict < comma strings; SAVP drops its deprecated keys from the dict).

The model keeps the original's variable names: ``original_variables()`` maps every TF1 name
(``generator/rnn/savp_cell/h0/conv_pool2d/kernel``, ``discriminator/video/sn_fc4/dense/u``...) to its variable,
which is what :mod:`vidpred_tf.convert.savp` reads and writes.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Union

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.hparams import HParams, parse_hparams
from vidpred_tf.models.savp import defaults
from vidpred_tf.models.savp.discriminator import KINDS, SAVPDiscriminator
from vidpred_tf.models.savp.dna import DNA_DEFAULTS, DNAGenerator
from vidpred_tf.models.savp.generator import SAVPGenerator
from vidpred_tf.models.savp.non_trainable import GroundTruthGenerator, RepeatGenerator
from vidpred_tf.models.savp.sna import SNA_DEFAULTS, SNAGenerator
from vidpred_tf.models.savp.sv2p import SV2P_DEFAULTS, SV2PGenerator
from vidpred_tf.models.savp.task import batch_major, time_major

# name -> (generator class, default hparams, deprecated dict keys dropped, trainable)
MODELS = {
    "ground_truth": (GroundTruthGenerator, defaults.BASE, (), False),
    "repeat": (RepeatGenerator, defaults.BASE, (), False),
    "savp": (SAVPGenerator, defaults.SAVP, defaults.SAVP_DEPRECATED, True),
    "dna": (DNAGenerator, DNA_DEFAULTS, (), True),
    "sna": (SNAGenerator, SNA_DEFAULTS, (), True),
    "sv2p": (SV2PGenerator, SV2P_DEFAULTS, (), True),
}
MODEL_NAMES = tuple(MODELS)
MODES = ("train", "test")


def _model_entry(name: str):
    if name not in MODELS:
        raise InputError(f"--model: unknown model {name!r} (one of {', '.join(MODEL_NAMES)})")
    return MODELS[name]


def default_hparams(name: str) -> Dict[str, Any]:
    """The class defaults of model ``name``, as the original's ``get_default_hparams_dict``."""
    return dict(_model_entry(name)[1])


def resolve_model_hparams(name: str, hparams_dict: Optional[Mapping[str, Any]] = None,
                          hparams: Union[None, str, Sequence[str]] = None, *,
                          dict_source: str = "--model_hparams_dict",
                          string_source: str = "--model_hparams") -> HParams:
    """``parse_hparams`` of the original's model class ``name``: defaults < dict < comma strings."""
    _, class_defaults, deprecated, _ = _model_entry(name)
    return parse_hparams(class_defaults, dict(hparams_dict or {}), hparams, drop=deprecated,
                         dict_source=dict_source, string_source=string_source)


def model_hparams_with_dataset(model_hparams_dict: Mapping[str, Any],
                               dataset_hparams: Mapping[str, Any]) -> Dict[str, Any]:
    """The model hparams dict with ``context_frames``, ``sequence_length`` and ``repeat`` (= ``time_shift``) of
    the dataset's resolved hparams, which every script of the original imposes before ``--model_hparams``."""
    merged = dict(model_hparams_dict)
    merged.update({
        "context_frames": dataset_hparams["context_frames"],
        "sequence_length": dataset_hparams["sequence_length"],
        "repeat": dataset_hparams["time_shift"],
    })
    return merged


def copy_weights(target: keras.layers.Layer, source: keras.layers.Layer) -> None:
    """Assign ``source``'s weights to ``target``'s, position by position (the same network built again, e.g. for
    another sequence length or mode); a different structure is a ``ValueError`` naming the first misfit."""
    if len(target.weights) != len(source.weights):
        raise ValueError(f"copy_weights: {target.name} has {len(target.weights)} weights, {source.name} "
                         f"{len(source.weights)}")
    for to, value in zip(target.weights, source.weights):
        if tuple(to.shape) != tuple(value.shape):
            raise ValueError(f"copy_weights: {to.path} {tuple(to.shape)} vs {value.path} {tuple(value.shape)}")
        to.assign(value)


def has_discriminator(name: str, hparams: HParams, mode: str) -> bool:
    """The original builds a discriminator for SAVP in training when any GAN weight is nonzero."""
    return name == "savp" and mode == "train" and any(hparams.get(gan) or hparams.get(vae_gan)
                                                      for _, gan, vae_gan in KINDS)


class VideoPredictionModel(keras.Model):
    """One of the original's models: ``generator`` (always; no weights for ground_truth/repeat) and
    ``discriminator`` (SAVP in mode 'train' with a GAN weight, else None).

    ``generate(batch)`` runs the generator on batch-major inputs and returns batch-major outputs with the
    original's keys; ``call(batch)`` returns just ``gen_images [B, T-1, H, W, C]`` (test mode, seed 0).
    """

    def __init__(self, model_name: str, hparams: HParams, image_shape: Sequence[int], action_dim: int = 0,
                 state_dim: int = 0, mode: str = "train", **kwargs):
        super().__init__(name=kwargs.pop("name", f"{model_name}_model"), **kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
        generator_class, _, _, trainable = _model_entry(model_name)
        if hparams.context_frames == -1 or hparams.sequence_length == -1:
            raise InputError(f"model {model_name}: context_frames and sequence_length must be set "
                             f"(got {hparams.context_frames}, {hparams.sequence_length})")
        self.model_name = model_name
        self.hparams = hparams
        self.mode = mode
        self.image_shape = tuple(int(d) for d in image_shape)
        self.action_dim, self.state_dim = int(action_dim), int(state_dim)
        self.trainable_model = trainable
        self.generator = generator_class(hparams, self.image_shape, action_dim=self.action_dim,
                                         state_dim=self.state_dim, mode=mode, name="generator")
        self.discriminator = (SAVPDiscriminator(hparams, self.image_shape, name="discriminator")
                              if has_discriminator(model_name, hparams, mode) else None)
        self._predict_fn = None
        self.built = True  # every variable exists from the static shapes (saving needs a built model)

    @property
    def deterministic(self) -> bool:
        """The original's ``model.deterministic``: no latent (``nz == 0``; SV2P: not ``stochastic_model``), or a
        non-trainable model. Evaluation then takes one sample for min, avg and max."""
        if not self.trainable_model:
            return True
        if "stochastic_model" in self.hparams:
            return not self.hparams.stochastic_model
        return not self.hparams.get("nz", 0)

    def generate(self, batch: Mapping[str, tf.Tensor], step=0, seed=None,
                 draws: Optional[Mapping[str, tf.Tensor]] = None, mode: str = "test") -> Dict[str, tf.Tensor]:
        """Generator outputs (batch-major) of batch-major ``images`` (+ ``actions``, ``states``), by default in the
        original's test mode (no scheduled sampling), whatever mode the model was built in."""
        if seed is None:
            seed = tf.constant([0, 0], tf.int32)
        inputs = time_major({key: batch[key] for key in ("images", "actions", "states") if key in batch})
        outputs = self.generator(inputs, step=tf.convert_to_tensor(step, tf.int64), seed=seed, draws=draws, mode=mode)
        return batch_major(outputs)

    def predict_images(self, batch: Mapping[str, tf.Tensor], seed=None) -> tf.Tensor:
        """``gen_images [B, T-1, H, W, C]`` of the test-mode generator, compiled once per input shape. Only what
        ``gen_images`` needs runs (as the original's ``sess.run(gen_images)``: not the visualisation samples)."""
        if self._predict_fn is None:
            self._predict_fn = tf.function(lambda inputs, seed: self.generate(inputs, seed=seed)["gen_images"])
        inputs = {key: tf.convert_to_tensor(batch[key], tf.float32) for key in ("images", "actions", "states")
                  if key in batch}
        return self._predict_fn(inputs, tf.constant([0, 0], tf.int32) if seed is None else seed)

    def call(self, batch, training=None):
        return self.generate(batch)["gen_images"]

    def original_variables(self) -> Dict[str, keras.Variable]:
        """TF1 name -> variable for every variable (generator, then discriminator), in the original's order."""
        table = dict(self.generator.original_variables()) if hasattr(self.generator, "original_variables") else {}
        if self.discriminator is not None:
            table.update(self.discriminator.original_variables())
        return table

    def parameter_count(self, part: Optional[str] = None) -> int:
        """Trainable parameters of the generator, the discriminator, or both (``part=None``), as the original's
        ``parameter_count`` printout."""
        parts = {"generator": self.generator, "discriminator": self.discriminator}
        layers = [parts[part]] if part else list(parts.values())
        return int(sum(np.prod(v.shape) for layer in layers if layer is not None
                       for v in layer.trainable_weights))


def build_model(model_name: str, hparams: HParams, image_shape: Sequence[int], action_dim: int = 0,
                state_dim: int = 0, mode: str = "train") -> VideoPredictionModel:
    """The model ``model_name`` with resolved ``hparams`` (``context_frames``/``sequence_length`` set)."""
    return VideoPredictionModel(model_name, hparams, image_shape, action_dim, state_dim, mode)
