"""MSPred's dataset factory (the original ``data/load_data.py``) and the tf.data batches the trainer consumes.

``load_mspred_dataset`` builds one of the four datasets of the original (``moving_mnist``,
``custom_moving_mnist``, ``kth``, ``synpick``) from the ``dataset`` group of experiment_params.json.
``make_tf_dataset`` turns such a dataset (``len`` + ``ds[i]`` dicts) into batches
``{"frames": (B, T, H, W, C), "heatmap_1": (B, T, H, W, n1), "heatmap_2": (B, T, H, W, n2), "class_id": (B,)}``
by mapping a tf.data range of indices through ``tf.numpy_function``, so Python item code runs only inside the
map (no Python generator held by the runtime) and the pipeline works under ``tf.distribute`` strategies.
"""

from __future__ import annotations

import copy
import os
import random
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import tensorflow as tf

from vidpred_tf.data.pipeline import make_dataset

N_HMAP_CHANNELS: Dict[str, List[int]] = {
    "moving_mnist": [1, 1],
    "custom_moving_mnist": [1, 1],
    "kth": [9, 1],
    "synpick": [23, 1],
}
DATASET_NAMES = tuple(N_HMAP_CHANNELS)
SPLITS = ("train", "val", "test")
# The original's KTH class order; a class's position is its global index and the batches' class_id.
KTH_CLASSES = ("boxing", "handclapping", "handwaving", "walking", "running", "jogging")
DATASETS_DIR_ENV = "VIDPRED_DATASETS_DIR"
ITEM_KEYS = ("frames", "heatmap_1", "heatmap_2")


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
    if name not in N_HMAP_CHANNELS:
        raise ValueError(f"dataset.dataset_name {name!r} is not one of the supported datasets {list(DATASET_NAMES)}")
    if split not in SPLITS:
        raise ValueError(f"dataset split must be one of {SPLITS}; got {split!r}")
    if not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer; got {num_frames!r}")
    root = os.fspath(datasets_root) if datasets_root is not None else default_datasets_root()
    img_size = _param(dataset_params, "img_size")

    if name == "synpick":
        from vidpred_tf.data.synpick.mspred import SynpickDataset  # imported late: only this dataset needs it

        # An int is passed on (and refused there): torchvision's Resize(int) keeps the aspect ratio, so the
        # original's frames would not be int x int.
        size = tuple(img_size) if isinstance(img_size, (list, tuple)) else img_size
        return SynpickDataset(root, split, num_frames, img_size=size)
    num_channels = _param(dataset_params, "num_channels")
    if num_channels not in (1, 3):
        raise ValueError(f"dataset.num_channels must be 1 or 3; got {num_channels!r}")
    if name == "kth":
        from vidpred_tf.data.kth.mspred_keypoints import KTHActionsDataset  # imported late: only this dataset needs it

        return KTHActionsDataset(root, split, num_frames, img_size=_square_size(img_size, name),
                                 num_channels=num_channels)
    from vidpred_tf.data.moving_mnist import mspred as mspred_moving_mnist

    if name == "moving_mnist":
        return mspred_moving_mnist.PrecomputedMovingMNIST(root, split, num_frames, num_channels)
    return mspred_moving_mnist.CustomMovingMNIST(split, num_frames, num_channels, _square_size(img_size, name),
                                                 rng=None if split == "test" else rng)


def class_id_of(class_name: str) -> int:
    """Index of a KTH class in ``KTH_CLASSES``; -1 for "" (datasets without classes)."""
    if not class_name:
        return -1
    if class_name not in KTH_CLASSES:
        raise ValueError(f"unknown class name {class_name!r}; expected one of {list(KTH_CLASSES)} or ''")
    return KTH_CLASSES.index(class_name)


def _item_arrays(item: Mapping) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.int32]:
    heatmaps = item["heatmaps"]
    if len(heatmaps) != 2:
        raise ValueError(f"a dataset item must have 2 heat maps (levels 1 and 2); got {len(heatmaps)}")
    return (np.asarray(item["frames"], np.float32), np.asarray(heatmaps[0], np.float32),
            np.asarray(heatmaps[1], np.float32), np.int32(class_id_of(item.get("class_name", ""))))


_GENERATOR_TYPES = (np.random.Generator, np.random.RandomState, random.Random)


def _probe_copy(dataset):
    """A shallow copy of ``dataset`` whose own random generators are copies, so reading from it advances
    none of the original's streams (large members such as digit arrays or keypoint tables are shared)."""
    probe = copy.copy(dataset)
    try:
        members = vars(probe)
    except TypeError:
        return probe
    for name, value in list(members.items()):
        if isinstance(value, _GENERATOR_TYPES):
            members[name] = copy.deepcopy(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, _GENERATOR_TYPES) for v in value):
            members[name] = type(value)(copy.deepcopy(v) for v in value)
    return probe


def item_shapes(dataset) -> Dict[str, Tuple[int, ...]]:
    """Shapes of ``frames``, ``heatmap_1``, ``heatmap_2`` of the items of ``dataset``.

    Uses ``dataset.item_shapes()`` when it exists. Otherwise reads item 0 of a copy whose random generators
    are copied, with Python's and NumPy's global random states restored afterwards, so the probe changes no
    random stream the real items draw from.
    """
    if hasattr(dataset, "item_shapes"):
        return {key: tuple(int(d) for d in shape) for key, shape in dataset.item_shapes().items()}
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        arrays = _item_arrays(_probe_copy(dataset)[0])
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    return {key: array.shape for key, array in zip(ITEM_KEYS, arrays)}


def make_tf_dataset(dataset, batch_size: int, shuffle: bool, seed: Optional[int], drop_remainder: bool = True,
                    repeat: bool = False, *, input_context: Optional[tf.distribute.InputContext] = None,
                    num_parallel_calls: int = 1, skip_batches: int = 0) -> tf.data.Dataset:
    """Batches of ``dataset`` items: dicts of float32 ``frames`` (B, T, H, W, C), ``heatmap_1`` (B, T, H, W, n1),
    ``heatmap_2`` (B, T, H, W, n2) and int32 ``class_id`` (B,) (the KTH class index, -1 elsewhere).

    ``batch_size`` is per replica (see ``vidpred_tf.data.pipeline``); ``input_context`` shards the item
    indices per input pipeline. ``shuffle`` draws a full permutation of the indices each epoch from ``seed``.
    Items are read in the (shuffled) index order, one at a time by default: custom_moving_mnist (and KTH's
    augmentation) share random generators across items, so only sequential reads give reproducible content.
    Pass ``num_parallel_calls=tf.data.AUTOTUNE`` for datasets whose items do not depend on the reading order.
    """
    size = len(dataset)
    if size == 0:
        raise ValueError(f"{type(dataset).__name__} has no items")
    shapes = item_shapes(dataset)
    missing = [key for key in ITEM_KEYS if key not in shapes]
    if missing:
        raise ValueError(f"{type(dataset).__name__}.item_shapes() lacks {missing}")

    def load(index) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.int32]:
        arrays = _item_arrays(dataset[int(index)])
        for key, array in zip(ITEM_KEYS, arrays):
            if array.shape != shapes[key]:
                raise ValueError(f"{type(dataset).__name__} item {int(index)}: {key} has shape {array.shape}, "
                                 f"expected {shapes[key]} like the other items")
        return arrays

    def to_example(index: tf.Tensor) -> Dict[str, tf.Tensor]:
        frames, heatmap_1, heatmap_2, class_id = tf.numpy_function(
            load, [index], [tf.float32, tf.float32, tf.float32, tf.int32], stateful=True)
        example = {"frames": frames, "heatmap_1": heatmap_1, "heatmap_2": heatmap_2, "class_id": class_id}
        for key in ITEM_KEYS:
            example[key].set_shape(shapes[key])
        class_id.set_shape(())
        return example

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
