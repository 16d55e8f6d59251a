"""``vidpred predict`` adapter of the E3D-LSTM study's five models: checkpoints with a ``vidpred_model.json`` of
paper "e3d" (written into ``--save_dir`` by run.py's training, :mod:`vidpred_tf.papers.e3d.workflow`, and by
``vidpred demo --model e3d_lstm``; put one beside a converted ``.weights.h5`` with :func:`write_e3d_manifest`)."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from vidpred_tf.errors import InputError
from vidpred_tf.inference import ModelCache, Predictor, resolve_checkpoint, restore_weights
from vidpred_tf.manifest import manifest_paper, read_manifest, write_manifest
from vidpred_tf.models.e3d.config import MODEL_NAMES, E3DConfig
from vidpred_tf.models.e3d.model import build_model, output_frames
from vidpred_tf.models.e3d.preprocess import reshape_patch_back_tensor, reshape_patch_tensor

MODELS = MODEL_NAMES

PAPER = "e3d"


def write_e3d_manifest(directory, config: E3DConfig, checkpoint_format: str = "trainer") -> str:
    """The manifest of a directory of checkpoints of ``config``'s model."""
    fields = dataclasses.asdict(config)
    fields["pretrained_model"] = ""  # where the weights first came from does not change the model
    return write_manifest(directory, paper=PAPER, model_name=config.model_name, config=fields,
                          image_size=(config.img_width, config.img_width), channels=config.img_channel,
                          context_frames=config.input_length, horizon=config.output_length,
                          checkpoint_format=checkpoint_format)


def _config_from_manifest(manifest: dict, where) -> E3DConfig:
    fields = {f.name for f in dataclasses.fields(E3DConfig)}
    unknown = sorted(set(manifest["config"]) - fields)
    if unknown:
        raise InputError(f"{where}: unknown E3DConfig fields {unknown}")
    try:
        return E3DConfig(**manifest["config"])
    except ValueError as err:
        raise InputError(f"{where}: invalid e3d configuration in the manifest: {err}") from err


class E3DPredictor(Predictor):
    """Deterministic. The weights do not depend on the sequence length, so any context and horizon run on a
    copy of the model built for that length (the original's test mode: predictions fed back after the context,
    clipped to [0, 1] as its evaluation did)."""

    paper = PAPER
    stochastic = False

    def __init__(self, config: E3DConfig, checkpoint: str):
        self.config = config
        self.model_name = config.model_name
        self.checkpoint = checkpoint
        self.context_frames = config.input_length
        self.default_horizon = config.output_length
        self.image_size = (config.img_width, config.img_width)
        self.channels = config.img_channel
        self.keras_model = build_model(config)
        restore_weights(self.keras_model, checkpoint)
        self._models = ModelCache(
            lambda lengths: build_model(config.replace(input_length=lengths[0], total_length=lengths[1])),
            (config.input_length, config.total_length), self.keras_model)

    def predict(self, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
        del seed  # deterministic
        batch, length = context.shape[:2]
        model = self._models.get((length, length + horizon))
        # The frames after the context are replaced by the model's own predictions in test mode.
        images = np.concatenate([context, np.zeros((batch, horizon) + context.shape[2:], np.float32)], axis=1)
        patched = reshape_patch_tensor(images, self.config.patch_size)
        generated = model(patched, None, training=False)
        frames = reshape_patch_back_tensor(output_frames(generated, model.e3d_config), self.config.patch_size)
        return np.clip(np.asarray(frames), 0.0, 1.0)


def detect(path: pathlib.Path) -> bool:
    return manifest_paper(path) == PAPER


def load(path: pathlib.Path) -> E3DPredictor:
    manifest = read_manifest(path)
    return E3DPredictor(_config_from_manifest(manifest, path), resolve_checkpoint(path))

