"""The manifest ``vidpred_model.json`` that the training commands write beside their checkpoints: paper, model
name, the model's configuration, frame size, channels, context and horizon: what a predictor adapter needs to
rebuild the model (:mod:`vidpred_tf.inference`) and what a preset ships (:mod:`vidpred_tf.presets`)."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Optional, Sequence

import numpy as np

from vidpred_tf.errors import InputError
from vidpred_tf.fileio import write_json

MANIFEST_NAME = "vidpred_model.json"
MANIFEST_VERSION = 1


def write_manifest(directory, *, paper: str, model_name: str, config: dict, image_size: Sequence[int],
                   channels: int, context_frames: int, horizon: int, stochastic: bool = False,
                   checkpoint_format: str = "trainer", extra: Optional[dict] = None) -> str:
    """Write ``directory/vidpred_model.json``, what an adapter needs to rebuild the model of the checkpoints
    there: ``checkpoint_format`` is "trainer" (``tf.train.Checkpoint`` of ``vidpred_tf.training``) or
    "keras_weights" (``.weights.h5``). Returns the path."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    height, width = (int(image_size), int(image_size)) if np.isscalar(image_size) else map(int, image_size)
    manifest = {
        "format_version": MANIFEST_VERSION, "paper": paper, "model_name": model_name,
        "config": json.loads(json.dumps(config)), "image_size": [height, width], "channels": int(channels),
        "context_frames": int(context_frames), "horizon": int(horizon), "stochastic": bool(stochastic),
        "checkpoint_format": checkpoint_format,
    }
    if extra:
        manifest.update(extra)
    path = os.path.join(directory, MANIFEST_NAME)
    write_json(path, manifest)
    return path


def manifest_path_for(path) -> pathlib.Path:
    """Where the manifest of a checkpoint directory, file or prefix lives."""
    path = pathlib.Path(os.fspath(path))
    return path / MANIFEST_NAME if path.is_dir() else path.parent / MANIFEST_NAME


def read_manifest(path) -> Optional[dict]:
    """The manifest beside ``path`` (checkpoint directory, file or prefix), or ``None`` when there is none.
    ``InputError`` names the file when it is not a valid manifest."""
    manifest_path = manifest_path_for(path)
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"{manifest_path}: not a readable JSON manifest ({err})") from err
    required = ("paper", "model_name", "config", "image_size", "channels", "context_frames", "horizon")
    missing = [key for key in required if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise InputError(f"{manifest_path}: manifest lacks {', '.join(missing)}")
    return manifest


def manifest_paper(path) -> Optional[str]:
    """The ``paper`` of the manifest beside ``path`` (``None`` without one): what adapters' detectors test."""
    manifest = read_manifest(path)
    return None if manifest is None else str(manifest["paper"])
