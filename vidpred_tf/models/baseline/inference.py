"""``vidpred predict`` adapter of the ConvLSTM baseline: checkpoints with a ``vidpred_model.json`` of paper
"baseline" (written by ``vidpred demo``)."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Dict

import numpy as np

from vidpred_tf.inference import (InputError, Predictor, manifest_paper, read_manifest, register_loader,
                                  resolve_checkpoint, restore_weights, write_manifest)
from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig, ConvLSTMPredictor

PAPER = "baseline"
MODEL_NAME = "convlstm"


def write_baseline_manifest(directory, config: ConvLSTMConfig, horizon: int) -> str:
    """The manifest of a directory of ConvLSTM baseline checkpoints."""
    return write_manifest(directory, paper=PAPER, model_name=MODEL_NAME, config=dataclasses.asdict(config),
                          image_size=(config.image_size, config.image_size), channels=config.channels,
                          context_frames=config.context_frames, horizon=horizon)


def _config_from_manifest(manifest: dict, where) -> ConvLSTMConfig:
    fields = {f.name for f in dataclasses.fields(ConvLSTMConfig)}
    unknown = sorted(set(manifest["config"]) - fields)
    if unknown:
        raise InputError(f"{where}: unknown ConvLSTMConfig fields {unknown}")
    config = dict(manifest["config"])
    for name in ("encoder_filters", "lstm_filters"):
        if name in config:
            config[name] = tuple(config[name])
    return ConvLSTMConfig(**config)


def _build(config: ConvLSTMConfig, num_frames: int) -> ConvLSTMPredictor:
    model = ConvLSTMPredictor(config, name="convlstm_predictor")
    model.build((None, num_frames, config.image_size, config.image_size, config.channels))
    return model


class ConvLSTMBaselinePredictor(Predictor):
    """Deterministic: the model's own predictions are fed back after the context."""

    paper = PAPER
    model_name = MODEL_NAME
    stochastic = False

    def __init__(self, config: ConvLSTMConfig, checkpoint: str, horizon: int):
        self.config = config
        self.checkpoint = checkpoint
        self.context_frames = config.context_frames
        self.default_horizon = horizon
        self.image_size = (config.image_size, config.image_size)
        self.channels = config.channels
        self._model = _build(config, config.context_frames + horizon)
        restore_weights(self._model, checkpoint)
        # The number of ground-truth frames is part of the model's config: one model per context length,
        # all sharing the loaded weights.
        self._by_context: Dict[int, ConvLSTMPredictor] = {config.context_frames: self._model}

    def _model_for(self, context: int) -> ConvLSTMPredictor:
        if context not in self._by_context:
            model = _build(dataclasses.replace(self.config, context_frames=context), context + 1)
            model.set_weights(self._model.get_weights())
            self._by_context[context] = model
        return self._by_context[context]

    def predict(self, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
        del seed  # deterministic
        batch, length = context.shape[:2]
        # Frames after the context are never read (the model feeds back its own predictions), so zeros do.
        padded = np.concatenate([context, np.zeros((batch, horizon) + context.shape[2:], np.float32)], axis=1)
        predictions = self._model_for(length)(padded, training=False)
        return np.asarray(predictions)[:, length - 1:]


def detect(path: pathlib.Path) -> bool:
    return manifest_paper(path) == PAPER


def load(path: pathlib.Path) -> ConvLSTMBaselinePredictor:
    manifest = read_manifest(path)
    config = _config_from_manifest(manifest, path)
    return ConvLSTMBaselinePredictor(config, resolve_checkpoint(path), int(manifest["horizon"]))


register_loader(PAPER, detect, load, models=(MODEL_NAME,))
