"""KTH Actions as frame folders, read like the e3d original's ``kth_action`` provider (``--dataset_name action``).

On-disk tree: ``<root>/<category>/<video_dir>/<frame_file>`` with categories ``boxing, handclapping,
handwaving, walking`` (clips do not overlap) and ``jogging, running`` (clips overlap, stride 3); video
directories like ``person01_handwaving_d1_uncomp`` (person id = characters 6:8; persons 01-16 train, 17-25
test); frame files whose name starts with ``image`` and whose characters 6:10 are the frame number
(``image_0257.png``).

Loading one split (``load_kth_split``): categories in the order above; video directories of the split's
persons (in ``video_order``: ``"sorted"`` by default, ``"listdir"`` = the original's unsorted ``os.listdir``,
which depends on the file system); frame files sorted by name. Each frame is read with PIL, channel 0 kept
(a 2-D greyscale frame is used as it is, where the original raised), resized with ``cv2.resize`` (bilinear) to
``image_width`` x ``image_width`` and divided by 255: float64 ``[F, W, W, 1]``.

Clip starts (``seq_length`` frames): scanning frame ``index`` from the last down to ``seq_length - 1``, a clip
ends at ``index`` when that frame and frame ``index - seq_length + 1`` belong to the same video and their frame
numbers differ by exactly ``seq_length - 1`` (gaps in the numbering break clips); after a clip the scan skips
``seq_length - 1`` more frames in the first categories and 2 in jogging/running. Starts are in descending order.

``KthHandle`` serves ``[B, seq_length, W, W, 1]`` float32 batches as the original ``InputHandle`` (the shared
``OriginalBatchHandle`` of :mod:`vidpred_tf.data.moving_mnist.e3d_npz`): shuffling the start list in place with
Python's ``random`` (training; each pass reshuffles the previous order), never serving the last full batch
(``pos + B >= total``). ``read_kth_frames`` (registered as ``"kth_e3d"``, the name its errors start with) wraps it
in a ``tf.data.Dataset`` of such batches, ``{"images": ...}`` as the batch contract of :mod:`vidpred_tf.data.batch`.
"""

from __future__ import annotations

import functools
import os
import random
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import tensorflow as tf
from PIL import Image

from vidpred_tf.data.moving_mnist.e3d_npz import OriginalBatchHandle, _split_paths, original_batch_dataset
from vidpred_tf.data.registry import register_reader
from vidpred_tf.errors import InputError, MissingInputError

CATEGORIES_NON_OVERLAPPING = ("boxing", "handclapping", "handwaving", "walking")
CATEGORIES_OVERLAPPING = ("jogging", "running")
CATEGORIES = CATEGORIES_NON_OVERLAPPING + CATEGORIES_OVERLAPPING
TRAIN_PERSONS = tuple(f"{i:02d}" for i in range(1, 17))
TEST_PERSONS = tuple(f"{i:02d}" for i in range(17, 26))
SPLIT_PERSONS = {"train": TRAIN_PERSONS, "test": TEST_PERSONS}

READER = "kth_e3d"


def _read_channel0(path: str) -> np.ndarray:
    with Image.open(path) as image:
        pixels = np.array(image)
    if pixels.ndim == 3:
        return pixels[:, :, 0]
    if pixels.ndim == 2:
        return pixels
    raise InputError(f"{READER}: cannot read frame {path} (array shape {pixels.shape})")


def load_kth_split(root: str, split: str, image_width: int, seq_length: int, video_order: str = "sorted",
                   cache: bool = True) -> Tuple[np.ndarray, List[int]]:
    """``(frames [F, W, W, 1] float64 in [0, 1], clip start indices in descending order)`` of one split.

    With ``cache`` the decoded split is kept (read-only) for later calls with the same arguments: the periodic
    evaluation reads the test split again and again, as the original's long-lived handle did not.
    """
    if cache:
        data, starts = _load_cached(os.path.abspath(os.fspath(root)), split, int(image_width), int(seq_length),
                                    video_order)
        return data, list(starts)
    return _load_split(root, split, image_width, seq_length, video_order)


def _load_split(root: str, split: str, image_width: int, seq_length: int,
                video_order: str) -> Tuple[np.ndarray, List[int]]:
    if split not in SPLIT_PERSONS:
        raise ValueError(f"{READER}: split must be 'train' or 'test'; got {split!r}")
    if video_order not in ("sorted", "listdir"):
        raise ValueError(f"{READER}: video_order must be 'sorted' or 'listdir'; got {video_order!r}")
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise MissingInputError(f"{READER}: data root {root} is not a directory")
    persons = SPLIT_PERSONS[split]
    frames, numbers, videos, overlapping = [], [], [], []
    video_id = 0
    for category in CATEGORIES:
        category_dir = os.path.join(root, category)
        if not os.path.isdir(category_dir):
            raise MissingInputError(f"{READER}: category folder {category_dir} is missing (a KTH frame root holds "
                                    f"{', '.join(CATEGORIES)})")
        video_dirs = os.listdir(category_dir)
        if video_order == "sorted":
            video_dirs = sorted(video_dirs)
        for video_dir in video_dirs:
            if video_dir[6:8] not in persons:
                continue
            video_id += 1
            video_path = os.path.join(category_dir, video_dir)
            for name in sorted(os.listdir(video_path)):
                if not name.startswith("image"):
                    continue
                try:
                    number = int(name[6:10])
                except ValueError:
                    raise InputError(f"{READER}: frame file {os.path.join(video_path, name)} has no frame "
                                     "number at characters 6:10 (expected image_NNNN.*)") from None
                frames.append(_read_channel0(os.path.join(video_path, name)))
                numbers.append(number)
                videos.append(video_id)
                overlapping.append(category in CATEGORIES_OVERLAPPING)

    starts = []
    index = len(frames) - 1
    while index >= seq_length - 1:
        first = index - seq_length + 1
        if videos[index] == videos[first] and numbers[index] - numbers[first] == seq_length - 1:
            starts.append(first)
            index -= 2 if overlapping[index] else seq_length - 1
        index -= 1

    data = np.zeros((len(frames), image_width, image_width, 1))
    for i, frame in enumerate(frames):
        data[i, :, :, 0] = cv2.resize(np.float32(frame), (image_width, image_width)) / 255
    return data, starts


@functools.lru_cache(maxsize=4)
def _load_cached(root: str, split: str, image_width: int, seq_length: int, video_order: str):
    data, starts = _load_split(root, split, image_width, seq_length, video_order)
    data.flags.writeable = False
    return data, tuple(starts)


class KthHandle(OriginalBatchHandle):
    """Batches of clips from ``data`` starting at ``indices``, in the original's order and batching."""

    reader = READER
    item_name = "clips"

    def __init__(self, data: np.ndarray, indices: Sequence[int], batch_size: int, seq_length: int,
                 rng: Optional[random.Random] = None):
        super().__init__(batch_size, rng)
        self.data = data
        self.indices = list(indices)
        self.seq_length = int(seq_length)

    def _make_batch(self, starts) -> np.ndarray:
        return np.stack([self.data[s:s + self.seq_length] for s in starts]).astype(np.float32)


def kth_handle(root: str, split: str, *, image_width: int, seq_length: int, batch_size: int,
               rng: Optional[random.Random] = None, video_order: str = "sorted") -> KthHandle:
    data, starts = load_kth_split(root, split, image_width, seq_length, video_order)
    return KthHandle(data, starts, batch_size, seq_length, rng)


@register_reader(READER, description="KTH Actions frame folders, split by person and batched as the e3d original")
def read_kth_frames(paths, *, split: str, image_width: int, seq_length: int, batch_size: int,
                    shuffle: bool = False, seed: Optional[int] = None, epochs: Optional[int] = 1,
                    video_order: str = "sorted") -> tf.data.Dataset:
    """``{"images": [B, seq_length, W, W, 1]}`` batches of ``split`` ("train"/"test") under the first path.

    ``paths``: the data root (a comma-separated string or a list: only the first is used, as in the original).
    ``epochs`` passes (``None``: forever), reshuffled each pass when ``shuffle``.
    """
    handle, frame_shape = open_kth_frames(paths, split=split, image_width=image_width, seq_length=seq_length,
                                          batch_size=batch_size, shuffle=shuffle, seed=seed, video_order=video_order)
    return original_batch_dataset(handle, frame_shape, shuffle=shuffle, epochs=epochs)


def open_kth_frames(paths, *, split: str, image_width: int, seq_length: int, batch_size: int,
                    shuffle: bool = False, seed: Optional[int] = None,
                    video_order: str = "sorted") -> Tuple[KthHandle, Tuple[int, ...]]:
    """``(handle, frame_shape [T, W, W, 1])`` of :func:`read_kth_frames`, the split read and checked:
    ``InputError`` naming the root when it is not a KTH frame tree or gives no batch."""
    root = _split_paths(paths, max_paths=None, reader=READER, what="data root")[0]
    handle = kth_handle(root, split, image_width=image_width, seq_length=seq_length, batch_size=batch_size,
                        rng=random.Random(seed) if shuffle else None, video_order=video_order)
    if handle.no_batch_left():
        raise InputError(f"{READER} {root} ({split}): {handle.total()} clips of {seq_length} frames give no batch "
                         f"of {batch_size} (the original never serves the last full batch)")
    return handle, (int(seq_length), int(image_width), int(image_width), 1)
