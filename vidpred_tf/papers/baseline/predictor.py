"""``vidpred predict`` adapter of the baseline models (the ConvLSTM and the ConvLSTM with DNA kernels):
checkpoints with a ``vidpred_model.json`` of paper "baseline" (written by ``vidpred demo``)."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from vidpred_tf.errors import InputError
from vidpred_tf.inference import ModelCache, Predictor, resolve_checkpoint, restore_weights
from vidpred_tf.manifest import manifest_paper, read_manifest, write_manifest
from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig
from vidpred_tf.models.baseline.dna import DNAConfig
from vidpred_tf.models.baseline.task import build_baseline_model

PAPER = "baseline"
# Model name in the manifest -> its configuration type.
CONFIGS = {"convlstm": ConvLSTMConfig, "dna": DNAConfig}
MODELS = tuple(CONFIGS)
MODEL_NAMES = {config_type: name for name, config_type in CONFIGS.items()}


def write_baseline_manifest(directory, config, horizon: int) -> str:
    """The manifest of a directory of baseline checkpoints (``config``: a ConvLSTMConfig or DNAConfig)."""
    return write_manifest(directory, paper=PAPER, model_name=MODEL_NAMES[type(config)],
                          config=dataclasses.asdict(config),
                          image_size=(config.image_size, config.image_size), channels=config.channels,
                          context_frames=config.context_frames, horizon=horizon)


def _config_from_manifest(manifest: dict, where):
    model_name = str(manifest["model_name"])
    if model_name not in CONFIGS:
        raise InputError(f"{where}: unknown baseline model_name {model_name!r} (known: {', '.join(CONFIGS)})")
    config_type = CONFIGS[model_name]
    fields = {f.name for f in dataclasses.fields(config_type)}
    unknown = sorted(set(manifest["config"]) - fields)
    if unknown:
        raise InputError(f"{where}: unknown {config_type.__name__} fields {unknown}")
    config = dict(manifest["config"])
    for name in ("encoder_filters", "lstm_filters"):
        if name in config:
            config[name] = tuple(config[name])
    return config_type(**config)


class ConvLSTMBaselinePredictor(Predictor):
    """Deterministic: the model's own predictions are fed back after the context."""

    paper = PAPER
    stochastic = False

    def __init__(self, config, checkpoint: str, horizon: int):
        self.config = config
        self.model_name = MODEL_NAMES[type(config)]
        self.checkpoint = checkpoint
        self.context_frames = config.context_frames
        self.default_horizon = horizon
        self.image_size = (config.image_size, config.image_size)
        self.channels = config.channels
        self.keras_model = build_baseline_model(config, config.context_frames + horizon)
        restore_weights(self.keras_model, checkpoint)
        # The number of ground-truth frames is part of the model's config: one model per context length,
        # all sharing the loaded weights.
        self._models = ModelCache(
            lambda context: build_baseline_model(dataclasses.replace(config, context_frames=context), context + 1),
            config.context_frames, self.keras_model)

    def predict(self, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
        del seed  # deterministic
        batch, length = context.shape[:2]
        # Frames after the context are never read (the model feeds back its own predictions), so zeros do.
        padded = np.concatenate([context, np.zeros((batch, horizon) + context.shape[2:], np.float32)], axis=1)
        predictions = self._models.get(length)(padded, training=False)
        return np.asarray(predictions)[:, length - 1:]


def detect(path: pathlib.Path) -> bool:
    return manifest_paper(path) == PAPER


def load(path: pathlib.Path) -> ConvLSTMBaselinePredictor:
    manifest = read_manifest(path)
    config = _config_from_manifest(manifest, path)
    return ConvLSTMBaselinePredictor(config, resolve_checkpoint(path), int(manifest["horizon"]))

