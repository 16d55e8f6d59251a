"""``setup_model(exp_params)``: any MSPred-family model from an experiment's parameters (the original
``lib/setup_model.py``), dispatching on ``model.model_type``; ``build_model`` creates its variables (one call on
zeros of the training sequence), for training and for loading a checkpoint alike; PyTorch-style parameter counts.
"""

from __future__ import annotations

import copy
from typing import Dict, Optional

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.models.mspred.blocks import count_torch_parameters
from vidpred_tf.models.mspred.copy_last import build_copy_last
from vidpred_tf.models.mspred.hierarch import SpatioTempHierarch
from vidpred_tf.models.mspred.params import frame_shape, model_num_preds, n_hmap_channels, sequence_length
from vidpred_tf.models.mspred.svg import build_svg_model

HIERARCH_MODEL_TYPES = {"SpatioTempHierarchConvLSTM": False, "SpatioTempHierarchLSTM": True}
SVG_MODEL_TYPES = ("deterministic", "ConvDeterministic", "LP", "ConvLP")
MODEL_TYPES = tuple(HIERARCH_MODEL_TYPES) + SVG_MODEL_TYPES + ("CopyLast",)
# Sequences of the zeros batch that creates a model's variables.
DUMMY_BATCH_SIZE = 2


def model_params_from_experiment(exp_params: dict) -> dict:
    """A copy of the ``model`` group with ``num_channels`` and ``img_size`` (H, W) taken from ``dataset`` and,
    for hierarchical models, ``HierarchLSTM.n_hmap_channels`` filled in from the dataset when absent."""
    for group in ("model", "dataset"):
        if not isinstance(exp_params.get(group), dict):
            raise ValueError(f"experiment parameters lack the '{group}' group")
    model_params = copy.deepcopy(exp_params["model"])
    dataset = exp_params["dataset"]
    height, width, channels = frame_shape(exp_params)
    model_params["num_channels"] = channels
    model_params["img_size"] = [height, width]
    hierarch = model_params.get("HierarchLSTM")
    if isinstance(hierarch, dict) and hierarch.get("aux_outputs") and not hierarch.get("n_hmap_channels"):
        hierarch["n_hmap_channels"] = n_hmap_channels(dataset.get("dataset_name", ""))
    return model_params


def setup_model(exp_params: dict, seed: Optional[int] = None) -> keras.Model:
    """The model named by ``exp_params["model"]["model_type"]`` (one of ``MODEL_TYPES``), with the original's
    initialisation. ``seed`` seeds Keras' initialisers first. ``exp_params`` is not modified."""
    model_params = model_params_from_experiment(exp_params)
    model_type = model_params.get("model_type")
    if model_type not in MODEL_TYPES:
        # The original's DEFAULTS dict names the model "model_name" while its scripts read "model_type".
        hint = " (the original's DEFAULTS name it model_name, which its scripts never read)" \
            if "model_name" in model_params else ""
        raise ValueError(f"model.model_type {model_type!r} not recognised{hint}; use one of {', '.join(MODEL_TYPES)}")
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if model_type in HIERARCH_MODEL_TYPES:
        stochastic = bool(model_params.get("HierarchLSTM", {}).get("stochastic", True))
        return SpatioTempHierarch(model_params, linear=HIERARCH_MODEL_TYPES[model_type], stochastic=stochastic)
    if model_type in SVG_MODEL_TYPES:
        return build_svg_model(exp_params)
    return build_copy_last(exp_params)


def dummy_input(exp_params, batch_size: int = DUMMY_BATCH_SIZE) -> np.ndarray:
    """Zeros (B, T, H, W, C) of the experiment's training sequence length, to create a model's variables."""
    return np.zeros((batch_size, sequence_length(exp_params)) + frame_shape(exp_params), np.float32)


def build_model(exp_params, model_factory=None, training: bool = False) -> keras.Model:
    """The experiment's model (``model_factory(exp_params)``, default :func:`setup_model`) with its variables
    created by one call on :func:`dummy_input` with the training group's context and ``num_preds``.

    ``training`` is the mode of that call: the training builds in training mode (its batch-norm statistics then
    take one update from the zeros, as they did in the trainer's first build), a checkpoint to be loaded in
    eval mode."""
    model = (model_factory or setup_model)(exp_params)
    model(tf.constant(dummy_input(exp_params)), context=int(exp_params["training"]["context"]),
          num_preds=model_num_preds(exp_params), training=training, seed=tf.constant([0, 0], tf.int32))
    return model


def parameter_count(model) -> int:
    """Trainable parameters as PyTorch counts them (an LSTMCell's two biases both count)."""
    return count_torch_parameters(model.original_variables()) if hasattr(model, "original_variables") else 0


def module_parameter_counts(model) -> Dict[str, int]:
    """PyTorch-style counts per child module: ``encoder``, ``decoder``, ``posterior.0``, ..., in order."""
    counts: Dict[str, int] = {}
    if not hasattr(model, "original_variables"):
        return counts
    for key, param in model.original_variables().items():
        parts = key.split(".")
        module = ".".join(parts[:2]) if len(parts) > 2 and parts[1].isdigit() else parts[0]
        counts[module] = counts.get(module, 0) + int(count_torch_parameters({key: param}))
    return counts
