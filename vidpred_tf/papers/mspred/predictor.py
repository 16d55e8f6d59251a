"""The MSPred adapter of the ``vidpred predict`` front door (``vidpred_tf.inference``).

Recognises an MSPred experiment directory (``experiment_params.json``; its ``checkpoint_epoch_final``, else
``checkpoint_last_saved``, is loaded) or a checkpoint inside its ``models/`` folder (a port checkpoint folder or
an original ``.pth``). Prediction runs the model in eval mode (prior latents from the last context frame) and
returns the level-0 frames; the frames after the context are zeros, which only the posterior (not used in eval
mode) reads, and the upper levels are asked for no maps, so the input needs no frames beyond the horizon.
"""

from __future__ import annotations

import pathlib
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.inference import Predictor
from vidpred_tf.models.mspred.params import first_num_preds, frame_shape, is_hierarchical
from vidpred_tf.papers.mspred.checkpoints import load_model_for_evaluation, models_dir

PARAMS_FILE = "experiment_params.json"
DEFAULT_CHECKPOINTS = ("checkpoint_epoch_final", "checkpoint_last_saved")


def _locate(path: pathlib.Path) -> Optional[Tuple[pathlib.Path, Optional[str]]]:
    """(experiment dir, checkpoint name or None) when ``path`` is an MSPred experiment or one of its checkpoints."""
    path = pathlib.Path(path)
    if path.is_dir() and (path / PARAMS_FILE).is_file():
        return path, None
    for candidate in (path.parent, path.parent.parent):
        if candidate.name == "models" and (candidate.parent / PARAMS_FILE).is_file():
            relative = path.relative_to(candidate).parts[0]
            return candidate.parent, relative
    return None


def detect(path: pathlib.Path) -> bool:
    return _locate(path) is not None


# SVG baselines without a latent variable model; every other model type samples latents.
DETERMINISTIC_MODEL_TYPES = ("deterministic", "ConvDeterministic", "CopyLast")


class MSPredPredictor(Predictor):
    paper = "mspred"

    def __init__(self, model, exp_params: dict, checkpoint: str):
        self.model = model
        self.keras_model = model
        self.exp_params = exp_params
        self.model_name = exp_params["model"]["model_type"]
        # The hierarchical models read HierarchLSTM.stochastic (build.setup_model); the SVG ones their type.
        self.hierarchical = is_hierarchical(self.model_name)
        self.stochastic = (bool(exp_params["model"].get("HierarchLSTM", {}).get("stochastic", True))
                           if self.hierarchical else self.model_name not in DETERMINISTIC_MODEL_TYPES)
        self.checkpoint = checkpoint
        height, width, self.channels = frame_shape(exp_params)
        self.image_size = (height, width)
        self.context_frames = int(exp_params["eval"]["context"])
        self.default_horizon = first_num_preds(exp_params["eval"]["num_preds"])
        self.levels = len(exp_params["model"].get("HierarchLSTM", {}).get("periods", [1]))

    def predict(self, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
        context = np.asarray(context, np.float32)
        if context.ndim != 5:
            raise InputError(f"context must be (B, Tc, H, W, C); got shape {context.shape}")
        if horizon < 1:
            raise InputError(f"horizon must be >= 1; got {horizon}")
        padding = np.zeros((context.shape[0], horizon) + context.shape[2:], np.float32)
        frames = tf.constant(np.concatenate([context, padding], axis=1))
        # Only level 0 is returned: asking the heads for maps would need frames up to horizon x periods[h].
        num_preds = [horizon] + [0] * (self.levels - 1) if self.hierarchical else horizon
        out = self.model(frames, context=context.shape[1], num_preds=num_preds, training=False,
                         seed=tf.constant([seed, 0], tf.int32))
        return np.clip(np.asarray(out["preds"][0], np.float32), 0.0, 1.0)


def load(path: pathlib.Path) -> MSPredPredictor:
    located = _locate(path)
    if located is None:
        raise InputError(f"{path} is neither an MSPred experiment directory nor a checkpoint in its models/ folder")
    exp_dir, name = located
    if name is None:
        folder = pathlib.Path(models_dir(str(exp_dir)))
        # The port's checkpoint folders first, then the original's PyTorch files of the same names.
        candidates = [n for n in DEFAULT_CHECKPOINTS if (folder / n).is_dir()]
        candidates += [n + ".pth" for n in DEFAULT_CHECKPOINTS if (folder / (n + ".pth")).is_file()]
        if not candidates:
            raise InputError(f"experiment {exp_dir} has no {' or '.join(DEFAULT_CHECKPOINTS)} (port folder or "
                             f"original .pth) in {folder}")
        name = candidates[0]
    model, exp_params, _ = load_model_for_evaluation(str(exp_dir), name)
    return MSPredPredictor(model, exp_params, str(pathlib.Path(models_dir(str(exp_dir))) / name))


# The model types this adapter serves (``vidpred list models``).
MODELS = ("SpatioTempHierarchConvLSTM", "SpatioTempHierarchLSTM", "deterministic", "ConvDeterministic", "LP", "ConvLP")
