"""``setup_model(exp_params)``: any MSPred-family model from an experiment's parameters (the original
``lib/setup_model.py``), dispatching on ``model.model_type``; plus PyTorch-style parameter counts."""

from __future__ import annotations

import copy
from typing import Dict, Optional

import keras

from vidpred_tf.models.mspred.blocks import count_torch_parameters

HIERARCH_MODEL_TYPES = {"SpatioTempHierarchConvLSTM": False, "SpatioTempHierarchLSTM": True}
SVG_MODEL_TYPES = ("deterministic", "ConvDeterministic", "LP", "ConvLP")
MODEL_TYPES = tuple(HIERARCH_MODEL_TYPES) + SVG_MODEL_TYPES + ("CopyLast",)

# Level-1 / level-2 head channels per dataset, used when the experiment does not name them (the original's
# training script sets them from the dataset at run time).
_FALLBACK_N_HMAP_CHANNELS = {"moving_mnist": [1, 1], "custom_moving_mnist": [1, 1], "kth": [9, 1],
                             "synpick": [23, 1]}


def _n_hmap_channels(dataset_name: str):
    try:
        from vidpred_tf.papers.mspred.data import N_HMAP_CHANNELS
    except ImportError:
        N_HMAP_CHANNELS = _FALLBACK_N_HMAP_CHANNELS
    if dataset_name not in N_HMAP_CHANNELS:
        raise ValueError(f"dataset.dataset_name {dataset_name!r} is unknown; set model.HierarchLSTM.n_hmap_channels "
                         f"or use one of {', '.join(N_HMAP_CHANNELS)}")
    return list(N_HMAP_CHANNELS[dataset_name])


def model_params_from_experiment(exp_params: dict) -> dict:
    """A copy of the ``model`` group with ``num_channels`` and ``img_size`` (H, W) taken from ``dataset`` and,
    for hierarchical models, ``HierarchLSTM.n_hmap_channels`` filled in from the dataset when absent."""
    for group in ("model", "dataset"):
        if not isinstance(exp_params.get(group), dict):
            raise ValueError(f"experiment parameters lack the '{group}' group")
    model_params = copy.deepcopy(exp_params["model"])
    dataset = exp_params["dataset"]
    if "num_channels" not in dataset or "img_size" not in dataset:
        raise ValueError("experiment parameters need dataset.num_channels and dataset.img_size")
    model_params["num_channels"] = int(dataset["num_channels"])
    img_size = dataset["img_size"]
    model_params["img_size"] = [int(img_size)] * 2 if isinstance(img_size, int) else [int(s) for s in img_size]
    hierarch = model_params.get("HierarchLSTM")
    if isinstance(hierarch, dict) and hierarch.get("aux_outputs") and not hierarch.get("n_hmap_channels"):
        hierarch["n_hmap_channels"] = _n_hmap_channels(dataset.get("dataset_name", ""))
    return model_params


def setup_model(exp_params: dict, seed: Optional[int] = None) -> keras.Model:
    """The model named by ``exp_params["model"]["model_type"]`` (one of ``MODEL_TYPES``), with the original's
    initialisation. ``seed`` seeds Keras' initialisers first. ``exp_params`` is not modified."""
    model_params = model_params_from_experiment(exp_params)
    model_type = model_params.get("model_type")
    if model_type not in MODEL_TYPES:
        hint = " (the DEFAULTS dict names it model_name, spec Q2)" if "model_name" in model_params else ""
        raise ValueError(f"model.model_type {model_type!r} not recognised{hint}; use one of {', '.join(MODEL_TYPES)}")
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if model_type in HIERARCH_MODEL_TYPES:
        from vidpred_tf.models.mspred.hierarch import SpatioTempHierarch

        stochastic = bool(model_params.get("HierarchLSTM", {}).get("stochastic", True))
        return SpatioTempHierarch(model_params, linear=HIERARCH_MODEL_TYPES[model_type], stochastic=stochastic)
    if model_type in SVG_MODEL_TYPES:
        from vidpred_tf.models.mspred.svg import build_svg_model

        return build_svg_model(exp_params)
    from vidpred_tf.models.mspred.copy_last import build_copy_last

    return build_copy_last(exp_params)


def parameter_count(model) -> int:
    """Trainable parameters as PyTorch counts them (an LSTMCell's two biases both count)."""
    return count_torch_parameters(model.torch_parameters()) if hasattr(model, "torch_parameters") else 0


def module_parameter_counts(model) -> Dict[str, int]:
    """PyTorch-style counts per child module: ``encoder``, ``decoder``, ``posterior.0``, ..., in order."""
    counts: Dict[str, int] = {}
    if not hasattr(model, "torch_parameters"):
        return counts
    for key, param in model.torch_parameters().items():
        parts = key.split(".")
        module = ".".join(parts[:2]) if len(parts) > 2 and parts[1].isdigit() else parts[0]
        counts[module] = counts.get(module, 0) + int(count_torch_parameters({key: param}))
    return counts
