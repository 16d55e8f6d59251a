"""The predictor registry: load any checkpoint of the package as a :class:`Predictor`.

Each paper's adapter (the ``predictor`` module named by its descriptor, :mod:`vidpred_tf.papers`) provides
``detect(path) -> bool``, ``load(path) -> Predictor`` and ``MODELS``; :func:`load_predictor` asks the adapters of
all papers, in the papers' order, which one recognises a checkpoint. Adapters of models trained by this package
recognise the manifest beside their checkpoints (:mod:`vidpred_tf.manifest`).
"""

from __future__ import annotations

import abc
import dataclasses
import os
import pathlib
from typing import Callable, Dict, Hashable, Tuple

import numpy as np
import tensorflow as tf

from vidpred_tf.checkpoint_check import check_model_checkpoint
from vidpred_tf.errors import InputError
from vidpred_tf.manifest import MANIFEST_NAME
from vidpred_tf.papers import all_papers
from vidpred_tf.presets import is_preset_spec, resolve_preset
from vidpred_tf.training.checkpoint import describe_non_finite, non_finite_variables, restore_model_weights


class Predictor(abc.ABC):
    """One loaded checkpoint that predicts future frames from context frames.

    Attributes an adapter sets: ``paper`` ("e3d", "mspred", "baseline", ...), ``model_name``,
    ``context_frames`` (the number the model was trained with), ``default_horizon``, ``image_size`` (H, W),
    ``channels`` (1 or 3), ``stochastic`` (different seeds give different samples), ``checkpoint`` (the path
    loaded).
    """

    paper: str = ""
    model_name: str = ""
    context_frames: int = 1
    default_horizon: int = 1
    image_size: Tuple[int, int] = (64, 64)
    channels: int = 1
    stochastic: bool = False
    checkpoint: str = ""

    @abc.abstractmethod
    def predict(self, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
        """``context`` float32 (B, Tc, H, W, C) in [0, 1] -> predicted frames float32 (B, horizon, H, W, C)."""

    # The Keras model that holds the checkpoint's weights (what ``vidpred_tf.presets.export`` saves); an adapter
    # sets it when it loads the checkpoint.
    keras_model = None

    def describe(self) -> dict:
        """What the predictor is, as JSON-ready data."""
        return {"paper": self.paper, "model_name": self.model_name, "checkpoint": str(self.checkpoint),
                "context_frames": int(self.context_frames), "default_horizon": int(self.default_horizon),
                "image_size": [int(v) for v in self.image_size], "channels": int(self.channels),
                "stochastic": bool(self.stochastic)}


class ModelCache:
    """Models of one set of weights, built per key (a context length, a sequence length...): a model's graph
    depends on the number of frames, its weights do not. ``build(key)`` makes a model; the first one holds the
    loaded weights and every later one gets a copy of them."""

    def __init__(self, build: Callable[[Hashable], object], key: Hashable, model) -> None:
        self._build = build
        self.first = model
        self._models: Dict[Hashable, object] = {key: model}

    def get(self, key: Hashable):
        if key not in self._models:
            model = self._build(key)
            model.set_weights(self.first.get_weights())
            self._models[key] = model
        return self._models[key]


@dataclasses.dataclass(frozen=True)
class LoaderEntry:
    """One paper's adapter: ``detect(path)`` says whether ``load(path)`` can load the checkpoint at ``path``;
    ``models`` names the models it serves (``vidpred list``)."""

    name: str
    detect: Callable[[pathlib.Path], bool]
    load: Callable[[pathlib.Path], Predictor]
    models: Tuple[str, ...] = ()


def import_adapters() -> Dict[str, LoaderEntry]:
    """Paper name -> its adapter, for every paper whose descriptor names a predictor module."""
    loaders = {}
    for name, paper in all_papers().items():
        module = paper.module("predictor")
        if module is None:
            continue
        missing = [attr for attr in ("detect", "load") if not callable(getattr(module, attr, None))]
        if missing:
            raise TypeError(f"predictor module {module.__name__} of paper {name} lacks {', '.join(missing)}()")
        loaders[name] = LoaderEntry(name, module.detect, module.load, tuple(getattr(module, "MODELS", ())))
    return loaders


def load_predictor(path) -> Predictor:
    """The predictor of a checkpoint file or prefix, a directory of checkpoints, or a preset (``preset:NAME``,
    ``preset:NAME@VERSION``: :mod:`vidpred_tf.presets`); tries the detectors of the papers' adapters in order.
    ``InputError`` when the path does not exist, the preset is unknown or no adapter knows it."""
    path = resolve_preset(path) if is_preset_spec(path) else pathlib.Path(os.fspath(path))
    exists = path.exists() or pathlib.Path(str(path) + ".index").exists()
    if not exists:
        raise InputError(f"checkpoint {path} does not exist")
    loaders = import_adapters()
    for entry in loaders.values():
        if entry.detect(path):
            return entry.load(path)
    raise InputError(
        f"checkpoint {path}: no adapter recognises it (tried {', '.join(loaders) or 'none'}); checkpoints of this "
        f"package have a {MANIFEST_NAME} beside them, written by vidpred demo and the paper scripts")


def resolve_checkpoint(path) -> str:
    """The checkpoint to restore for ``path``: the newest checkpoint of a directory, a ``.weights.h5`` file, or
    a checkpoint prefix (``ckpt-100`` for ``ckpt-100.index``). ``InputError`` when there is none."""

    path = pathlib.Path(os.fspath(path))
    if path.is_dir():
        latest = tf.train.latest_checkpoint(str(path))
        if latest is None:
            weights = sorted(path.glob("*.weights.h5"))
            if len(weights) == 1:
                return str(weights[0])
            raise InputError(f"checkpoint directory {path} holds no checkpoint (no 'checkpoint' index file"
                             f"{' and several .weights.h5 files' if weights else ''})")
        return latest
    if str(path).endswith(".weights.h5"):
        if not path.is_file():
            raise InputError(f"weights file {path} does not exist")
        return str(path)
    if str(path).endswith(".index"):
        path = pathlib.Path(str(path)[:-len(".index")])
    if not pathlib.Path(str(path) + ".index").is_file():
        raise InputError(f"checkpoint {path}: no {path}.index (give a checkpoint directory, a prefix such as "
                         f"ckpt-100, or a .weights.h5 file)")
    return str(path)


def restore_weights(model, checkpoint: str) -> None:
    """Load ``checkpoint`` (trainer checkpoint prefix or ``.weights.h5``) into ``model``; ``InputError`` naming
    the file when it does not fit the model or holds NaN/inf weights."""

    try:
        if checkpoint.endswith(".weights.h5"):
            model.load_weights(checkpoint)
        else:
            # Missing or misshapen variables, a truncated file or no checkpoint at all: one line naming the
            # file, before TensorFlow restores anything (and warns about every unmatched value).
            check_model_checkpoint(model, checkpoint)
            restore_model_weights(model, checkpoint)
    except InputError:
        raise
    except (ValueError, OSError) as err:
        raise InputError(f"checkpoint {checkpoint} does not fit the model of its manifest: "
                         f"{str(err).splitlines()[0]}") from err

    bad = non_finite_variables(model.weights)
    if bad:
        what = describe_non_finite(bad, len(model.weights))
        raise InputError(f"checkpoint {checkpoint} holds non-finite weights ({what}): the training that wrote it "
                         f"diverged; use an earlier checkpoint or train again with a smaller learning rate")
