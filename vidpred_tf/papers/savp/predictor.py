"""``vidpred predict`` adapter of SAVP and its baselines: a folder that holds the original's ``options.json`` +
``model_hparams.json`` (+ ``dataset_hparams.json``) beside its checkpoints, as train.py writes it and as the
published ``pretrained_models/<dataset>/<model>/`` tarballs hold it. The checkpoints may be the original's TF1
``model-<step>`` (loaded through :mod:`vidpred_tf.convert.savp`) or the port's trainer checkpoints.

The model runs in the original's test mode (no scheduled sampling; the prior z after the context), rebuilt for
each context + horizon length (the original's models have static shapes: ``--dataset_hparams sequence_length=30``).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import tensorflow as tf

from vidpred_tf.convert import savp as converter
from vidpred_tf.errors import InputError
from vidpred_tf.inference import ModelCache, Predictor, resolve_checkpoint, restore_weights
from vidpred_tf.models.savp.model import MODEL_NAMES, copy_weights
from vidpred_tf.papers.savp import runtime

MODELS = MODEL_NAMES
PAPER = "savp"
OPTIONS_JSON, MODEL_HPARAMS_JSON = "options.json", "model_hparams.json"


def _folder(path: pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(path)
    return path if path.is_dir() else path.parent


class SAVPPredictor(Predictor):
    """A SAVP-family model of a checkpoint folder; stochastic when it has a latent (``nz > 0``)."""

    paper = PAPER

    def __init__(self, folder: pathlib.Path, checkpoint: str):
        self.checkpoint = checkpoint
        self.folder = folder
        model = converter.model_from_checkpoint_folder(str(folder), mode="test")
        hparams = model.hparams
        self.model_name = model.model_name
        self.context_frames = hparams.context_frames
        self.default_horizon = hparams.sequence_length - hparams.context_frames
        self.image_size = model.image_shape[:2]
        self.channels = model.image_shape[2]
        self.stochastic = not model.deterministic
        if model.action_dim:
            raise InputError(f"checkpoint {folder}: an action-conditioned model (use_state) needs actions and states; "
                             "vidpred predict feeds frames only (use scripts/savp/generate.py)")
        self._load(model)
        self.keras_model = model

        def build(sequence_length):
            rebuilt = converter.model_from_checkpoint_folder(str(folder), mode="test",
                                                             sequence_length=sequence_length)
            copy_weights(rebuilt, model)
            return rebuilt

        self._models = ModelCache(build, hparams.sequence_length, model)

    def _load(self, model) -> None:
        if not model.weights:
            return  # ground_truth / repeat
        if self.checkpoint.endswith(".weights.h5"):
            restore_weights(model, self.checkpoint)
        else:
            runtime.restore(model, self.checkpoint)

    def predict(self, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
        batch, length = context.shape[:2]
        if length != self.context_frames:
            raise InputError(f"model {self.model_name} of {self.folder} takes {self.context_frames} context frames; "
                             f"got {length}")
        model = self._models.get(length + horizon)
        images = np.concatenate([context, np.zeros((batch, horizon) + context.shape[2:], np.float32)], axis=1)
        generated = model.predict_images({"images": images}, seed=tf.constant([seed, 0], tf.int32))
        return np.clip(np.asarray(generated[:, -horizon:]), 0.0, 1.0)


def detect(path: pathlib.Path) -> bool:
    options = _folder(path) / OPTIONS_JSON
    if not options.is_file() or not (_folder(path) / MODEL_HPARAMS_JSON).is_file():
        return False
    try:
        return json.loads(options.read_text()).get("model") in MODEL_NAMES
    except (OSError, ValueError):
        return False


def load(path: pathlib.Path) -> SAVPPredictor:
    folder = _folder(path)
    try:
        checkpoint = resolve_checkpoint(path)
    except InputError:
        if json.loads((folder / OPTIONS_JSON).read_text()).get("model") in ("ground_truth", "repeat"):
            checkpoint = ""
        else:
            raise
    return SAVPPredictor(folder, checkpoint)
