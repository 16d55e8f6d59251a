"""MSPred's dataset factory (the original ``data/load_data.py``) and the tf.data batches the trainer consumes.

``load_mspred_dataset`` builds one of the four datasets of the original (``moving_mnist``,
``custom_moving_mnist``, ``kth``, ``synpick``) from the ``dataset`` group of experiment_params.json.
``make_tf_dataset`` turns such a dataset (``len`` + ``ds[i]`` dicts) into batches following the batch contract
(:mod:`vidpred_tf.data.batch`) with MSPred's extras: ``{"images": (B, T, H, W, C), "heatmap_1": (B, T, H, W, n1),
"heatmap_2": (B, T, H, W, n2), "class_id": (B,)}`` (:mod:`vidpred_tf.data.mspred_items` reads the items).
``mspred_dataset_fn`` gives the per-pipeline, per-epoch datasets of the training.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping, Optional

import numpy as np
import tensorflow as tf

from vidpred_tf.data.kth.mspred_keypoints import KTHActionsDataset
from vidpred_tf.data.moving_mnist.mspred import CustomMovingMNIST, PrecomputedMovingMNIST
from vidpred_tf.data.mspred_items import example_fn
from vidpred_tf.data.pipeline import make_dataset
from vidpred_tf.data.synpick.mspred import SynpickDataset
from vidpred_tf.models.mspred.params import DATASET_NAMES, KTH_CLASSES

SPLITS = ("train", "val", "test")
DATASETS_DIR_ENV = "VIDPRED_DATASETS_DIR"


def default_datasets_root() -> str:
    """``$VIDPRED_DATASETS_DIR`` if set, else ``<cwd>/../datasets``: the original puts the datasets in the
    parent of the directory the scripts run from, outside the repository."""
    configured = os.environ.get(DATASETS_DIR_ENV)
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    return os.path.abspath(os.path.join(os.getcwd(), "..", "datasets"))


def _param(dataset_params: Mapping, key: str):
    if key not in dataset_params:
        raise ValueError(f"experiment parameters: dataset.{key} is missing (have {sorted(dataset_params)})")
    return dataset_params[key]


def _square_size(img_size, dataset_name: str) -> int:
    if isinstance(img_size, (list, tuple)):
        if len(img_size) != 2 or img_size[0] != img_size[1]:
            raise ValueError(f"dataset.img_size {img_size!r}: {dataset_name} needs a square size")
        img_size = img_size[0]
    if not isinstance(img_size, (int, np.integer)) or img_size < 1:
        raise ValueError(f"dataset.img_size must be a positive integer for {dataset_name}; got {img_size!r}")
    return int(img_size)


def load_mspred_dataset(dataset_params: Mapping, split: str, num_frames: int, datasets_root=None, *,
                        rng=None):
    """The dataset ``dataset_params["dataset_name"]`` for ``split`` ("train", "val" or "test").

    ``num_frames``: frames per item (the trainer passes context + max(num_preds * periods)).
    ``datasets_root``: the datasets folder, default ``default_datasets_root()``.
    ``rng``: random source of the custom_moving_mnist train/val splits (see ``CustomMovingMNIST``; the
    original uses the global ``np.random``; pass one shared ``np.random.RandomState(13)`` to train and val to
    make its draws). Ignored by the other datasets.
    """
    if not isinstance(dataset_params, Mapping):
        raise ValueError(f"dataset parameters must be a dict; got {type(dataset_params).__name__}")
    name = _param(dataset_params, "dataset_name")
    if name not in DATASET_NAMES:
        raise ValueError(f"dataset.dataset_name {name!r} is not one of the supported datasets {list(DATASET_NAMES)}")
    if split not in SPLITS:
        raise ValueError(f"dataset split must be one of {SPLITS}; got {split!r}")
    if not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer; got {num_frames!r}")
    root = os.fspath(datasets_root) if datasets_root is not None else default_datasets_root()
    img_size = _param(dataset_params, "img_size")

    if name == "synpick":
        # An int is passed on (and refused there): torchvision's Resize(int) keeps the aspect ratio, so the
        # original's frames would not be int x int.
        size = tuple(img_size) if isinstance(img_size, (list, tuple)) else img_size
        return SynpickDataset(root, split, num_frames, img_size=size)
    num_channels = _param(dataset_params, "num_channels")
    if num_channels not in (1, 3):
        raise ValueError(f"dataset.num_channels must be 1 or 3; got {num_channels!r}")
    if name == "kth":
        return KTHActionsDataset(root, split, num_frames, img_size=_square_size(img_size, name),
                                 num_channels=num_channels)
    if name == "moving_mnist":
        return PrecomputedMovingMNIST(root, split, num_frames, num_channels)
    return CustomMovingMNIST(split, num_frames, num_channels, _square_size(img_size, name),
                                                 rng=None if split == "test" else rng)


def make_tf_dataset(dataset, batch_size: int, shuffle: bool, seed: Optional[int], drop_remainder: bool = True,
                    repeat: bool = False, *, input_context: Optional[tf.distribute.InputContext] = None,
                    num_parallel_calls: int = 1, skip_batches: int = 0) -> tf.data.Dataset:
    """Batches of ``dataset`` items: dicts of float32 ``images`` (B, T, H, W, C) in [0, 1], ``heatmap_1``
    (B, T, H, W, n1), ``heatmap_2`` (B, T, H, W, n2) and int32 ``class_id`` (B,) (the KTH class index, -1
    elsewhere).

    ``batch_size`` is per replica (see ``vidpred_tf.data.pipeline``); ``input_context`` shards the item
    indices per input pipeline. ``shuffle`` draws a full permutation of the indices each epoch from ``seed``.
    Items are read in the (shuffled) index order, one at a time by default: custom_moving_mnist (and KTH's
    augmentation) share random generators across items, so only sequential reads give reproducible content.
    Pass ``num_parallel_calls=tf.data.AUTOTUNE`` for datasets whose items do not depend on the reading order.
    """
    to_example = example_fn(dataset, KTH_CLASSES)
    size = len(dataset)
    indices = tf.data.Dataset.range(size)
    return make_dataset(indices, batch_size=batch_size, seed=seed, shuffle=shuffle, shuffle_buffer=size,
                        repeat=repeat, drop_remainder=drop_remainder, map_fn=to_example,
                        skip_batches=skip_batches, input_context=input_context,
                        num_parallel_calls=num_parallel_calls)


def epoch_seed(seed: Optional[int], epoch: int) -> Optional[int]:
    """The shuffle seed of ``epoch`` for a run seeded ``seed`` (None stays None): each epoch gets its own
    permutation, and a resumed run gets the same one as an uninterrupted run."""
    if seed is None:
        return None
    return int(seed) if epoch == 0 else (int(seed) * 1_000_003 + int(epoch)) % (2 ** 31)


def mspred_dataset_fn(dataset, global_batch_size: int, *, seed: Optional[int] = None,
                      **kwargs) -> Callable[..., tf.data.Dataset]:
    """A ``dataset_fn(input_context, epoch=None)`` for ``strategy.distribute_datasets_from_function``, and for
    the trainer's ``fit`` (one argument) and ``fit_epochs`` (context and epoch): each input pipeline reads its
    shard of the indices in per-replica batches of ``global_batch_size / num_replicas``. With an epoch the
    shuffle seed is ``epoch_seed(seed, epoch)``. ``kwargs`` go to ``make_tf_dataset`` (shuffle,
    drop_remainder, repeat, ...)."""
    if not isinstance(global_batch_size, int) or global_batch_size < 1:
        raise ValueError(f"global_batch_size must be a positive integer; got {global_batch_size!r}")
    kwargs.setdefault("shuffle", False)

    def dataset_fn(input_context: tf.distribute.InputContext, epoch: Optional[int] = None) -> tf.data.Dataset:
        if global_batch_size % input_context.num_replicas_in_sync:
            raise ValueError(f"global batch size {global_batch_size} is not divisible by the "
                             f"{input_context.num_replicas_in_sync} replicas in sync")
        per_replica = input_context.get_per_replica_batch_size(global_batch_size)
        return make_tf_dataset(dataset, per_replica, seed=seed if epoch is None else epoch_seed(seed, epoch),
                               input_context=input_context, **kwargs)

    return dataset_fn
