"""MSPred's datasets as tf.data examples: the items of the original's dataset classes (``len`` + ``ds[i]``), read
by index inside the pipeline.

An MSPred dataset item is a dict ``{"frames": (T, H, W, C) in [0, 1], "heatmaps": [level 1 (T, H, W, n1), level 2
(T, H, W, n2)], "class_name": str}`` (:mod:`vidpred_tf.data.moving_mnist.mspred`,
:mod:`vidpred_tf.data.kth.mspred_keypoints`, :mod:`vidpred_tf.data.synpick.mspred`). Its example follows the batch
contract of :mod:`vidpred_tf.data.batch`, with MSPred's extras:

==========  ========================  ==================================================================
key         dtype / shape             meaning
==========  ========================  ==================================================================
images      float32 [T, H, W, C]      the frames, in [0, 1]
heatmap_1   float32 [T, H, W, n1]     the level-1 maps (digit blobs, body keypoints, segmentation one-hot)
heatmap_2   float32 [T, H, W, n2]     the level-2 maps (digit blobs, neck keypoint, gripper blob)
class_id    int32 []                  the position of ``class_name`` in the dataset's classes (-1: none)
==========  ========================  ==================================================================

Items are read through ``tf.numpy_function`` over a range of indices, one at a time and in the order the indices
come: custom_moving_mnist (and KTH's augmentation) draw from random generators shared by all items, so only
sequential reads give reproducible content. Python item code runs only inside the map (no Python generator is
held by the runtime), so the pipeline works under ``tf.distribute`` strategies.
"""

from __future__ import annotations

import copy
import random
from typing import Callable, Dict, Mapping, Sequence, Tuple

import numpy as np
import tensorflow as tf

from vidpred_tf.data.batch import IMAGES

# Keys of an item's arrays as the datasets' ``item_shapes()`` name them.
ITEM_KEYS = ("frames", "heatmap_1", "heatmap_2")
EXAMPLE_KEYS = (IMAGES, "heatmap_1", "heatmap_2")
CLASS_ID = "class_id"

_GENERATOR_TYPES = (np.random.Generator, np.random.RandomState, random.Random)


def class_id_of(class_name: str, class_names: Sequence[str]) -> int:
    """Index of ``class_name`` in ``class_names``; -1 for "" (datasets without classes)."""
    if not class_name:
        return -1
    if class_name not in class_names:
        raise ValueError(f"unknown class name {class_name!r}; expected one of {list(class_names)} or ''")
    return list(class_names).index(class_name)


def item_maps(item: Mapping) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An item's frames, level-1 and level-2 maps, float32."""
    heatmaps = item["heatmaps"]
    if len(heatmaps) != 2:
        raise ValueError(f"a dataset item must have 2 heat maps (levels 1 and 2); got {len(heatmaps)}")
    return (np.asarray(item["frames"], np.float32), np.asarray(heatmaps[0], np.float32),
            np.asarray(heatmaps[1], np.float32))


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
        arrays = item_maps(_probe_copy(dataset)[0])
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    return {key: array.shape for key, array in zip(ITEM_KEYS, arrays)}


def example_fn(dataset, class_names: Sequence[str] = ()) -> Callable[[tf.Tensor], Dict[str, tf.Tensor]]:
    """``index -> example`` for ``tf.data.Dataset.map``: item ``index`` of ``dataset`` read in Python (see the
    module docstring); an item whose shapes differ from item 0's is an error naming it."""
    if len(dataset) == 0:
        raise ValueError(f"{type(dataset).__name__} has no items")
    shapes = item_shapes(dataset)
    missing = [key for key in ITEM_KEYS if key not in shapes]
    if missing:
        raise ValueError(f"{type(dataset).__name__}.item_shapes() lacks {missing}")

    def load(index) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.int32]:
        item = dataset[int(index)]
        arrays = item_maps(item)
        for key, array in zip(ITEM_KEYS, arrays):
            if array.shape != shapes[key]:
                raise ValueError(f"{type(dataset).__name__} item {int(index)}: {key} has shape {array.shape}, "
                                 f"expected {shapes[key]} like the other items")
        return arrays + (np.int32(class_id_of(item.get("class_name", ""), class_names)),)

    def to_example(index: tf.Tensor) -> Dict[str, tf.Tensor]:
        values = tf.numpy_function(load, [index], [tf.float32, tf.float32, tf.float32, tf.int32], stateful=True)
        example = dict(zip(EXAMPLE_KEYS + (CLASS_ID,), values))
        for key, item_key in zip(EXAMPLE_KEYS, ITEM_KEYS):
            example[key].set_shape(shapes[item_key])
        example[CLASS_ID].set_shape(())
        return example

    return to_example


def item_examples(dataset, class_names: Sequence[str] = ()) -> tf.data.Dataset:
    """The items of ``dataset`` in index order as unbatched examples (module docstring), read one at a time."""
    to_example = example_fn(dataset, class_names)
    return tf.data.Dataset.range(len(dataset)).map(to_example, num_parallel_calls=1, deterministic=True)
