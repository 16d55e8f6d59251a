"""What the MSPred-family models read from an experiment's parameters (``experiment_params.json``), each fact in
one place: which model types are hierarchical, the frame geometry, the per-level prediction counts, the
sequence length a batch needs and the heat-map channels of each dataset's levels 1 and 2.

The heat-map channel counts come from the dataset readers of :mod:`vidpred_tf.data` (each format states its own);
``N_HMAP_CHANNELS`` only maps the original's ``dataset.dataset_name`` values onto them.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Tuple, Union

import numpy as np

from vidpred_tf.data.kth import mspred_keypoints as kth_keypoints
from vidpred_tf.data.moving_mnist import mspred as moving_mnist
from vidpred_tf.data.synpick import mspred as synpick

# Level-1 / level-2 heat-map channels per dataset (the original sets model.HierarchLSTM.n_hmap_channels from the
# dataset at run time).
N_HMAP_CHANNELS: Dict[str, List[int]] = {
    "moving_mnist": list(moving_mnist.NUM_HMAP_CHANNELS),
    "custom_moving_mnist": list(moving_mnist.NUM_HMAP_CHANNELS),
    "kth": list(kth_keypoints.NUM_HMAP_CHANNELS),
    "synpick": list(synpick.NUM_HMAP_CHANNELS),
}
DATASET_NAMES = tuple(N_HMAP_CHANNELS)
# The KTH class order of the original; a class's position is the batches' class_id and the row of the class
# weights of the weighted keypoint loss.
KTH_CLASSES = kth_keypoints.KTH_CLASSES
# SynpickVP frames are always RGB, whatever dataset.num_channels says (the original's reader keeps 3 channels).
RGB_DATASETS = ("synpick",)


def n_hmap_channels(dataset_name: str) -> List[int]:
    """The level-1 and level-2 heat-map channels of ``dataset.dataset_name``; an error naming the known ones."""
    if dataset_name not in N_HMAP_CHANNELS:
        raise ValueError(f"dataset.dataset_name {dataset_name!r} is not one of the supported datasets "
                         f"{list(DATASET_NAMES)}; set model.HierarchLSTM.n_hmap_channels or use one of them")
    return list(N_HMAP_CHANNELS[dataset_name])


def is_hierarchical(exp_params_or_type: Union[Mapping, str]) -> bool:
    """The original's test ``"Hierarch" in model_type``: the MSPred models themselves (not the SVG baselines or
    CopyLast). Takes the experiment parameters or the model type."""
    if isinstance(exp_params_or_type, str):
        return "Hierarch" in exp_params_or_type
    return "Hierarch" in str(exp_params_or_type["model"]["model_type"])


def uses_aux_outputs(exp_params: Mapping) -> bool:
    """The original's ``("Hierarch" in model_type) and HierarchLSTM.aux_outputs``: levels 1 and 2 are predicted."""
    hierarch = exp_params["model"].get("HierarchLSTM", {})
    return is_hierarchical(exp_params) and bool(hierarch.get("aux_outputs", False))


def image_size(size, where: str = "dataset.img_size") -> Tuple[int, int]:
    """An ``img_size`` as (H, W): an int is a square side, a list is [H, W]."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        return int(size), int(size)
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{where} must be an int or [H, W]; got {size!r}")


def frame_shape(exp_params: Mapping) -> Tuple[int, int, int]:
    """(H, W, C) of the experiment's frames: ``dataset.img_size`` and ``dataset.num_channels`` (3 for SynpickVP,
    whose frames are RGB)."""
    dataset = exp_params.get("dataset")
    if not isinstance(dataset, Mapping) or "img_size" not in dataset or "num_channels" not in dataset:
        raise ValueError("experiment parameters need dataset.num_channels and dataset.img_size")
    height, width = image_size(dataset["img_size"])
    channels = 3 if dataset.get("dataset_name") in RGB_DATASETS else int(dataset["num_channels"])
    return height, width, channels


def level_num_preds(num_preds, periods: Sequence[int], where: str = "training.num_preds") -> List[int]:
    """A hierarchical model's ``num_preds`` with one entry per level (an int is repeated, as 02_train.py does)."""
    if isinstance(num_preds, (list, tuple)):
        if len(num_preds) != len(periods):
            raise ValueError(f"{where} {list(num_preds)} must have one entry per level (periods {list(periods)})")
        return [int(n) for n in num_preds]
    return [int(num_preds)] * len(periods)


def first_num_preds(num_preds) -> int:
    """The frames a model without levels predicts: ``num_preds``, or the first entry of a per-level list (what
    the SVG baselines and the evaluation read)."""
    if isinstance(num_preds, (list, tuple)):
        if not num_preds:
            raise ValueError("num_preds is an empty list")
        num_preds = num_preds[0]
    return int(num_preds)


def hierarchical_num_preds(exp_params: Mapping, group: str = "training") -> List[int]:
    """``<group>.num_preds`` per level of a hierarchical model (``model.HierarchLSTM.periods`` levels)."""
    return level_num_preds(exp_params[group]["num_preds"], exp_params["model"]["HierarchLSTM"]["periods"],
                           where=f"{group}.num_preds")


def model_num_preds(exp_params: Mapping, group: str = "training") -> Union[int, List[int]]:
    """The ``num_preds`` argument of the model's call for ``<group>``: a per-level list for the hierarchical
    models, an int for the others."""
    if is_hierarchical(exp_params):
        return hierarchical_num_preds(exp_params, group)
    return first_num_preds(exp_params[group]["num_preds"])


def sequence_length(exp_params: Mapping, group: str = "training") -> int:
    """Frames read per sequence: context + max(num_preds · periods) for the hierarchical models, else
    context + num_preds (02_train.py / 03_evaluate.py)."""
    context = int(exp_params[group]["context"])
    num_preds = model_num_preds(exp_params, group)
    if isinstance(num_preds, list):
        periods = exp_params["model"]["HierarchLSTM"]["periods"]
        return context + max(n * p for n, p in zip(num_preds, periods))
    return context + num_preds
