"""File and batching helpers shared by the hierchvid (Villegas et al. 2017) readers of Penn Action and Human3.6M.

Randomness: the original drew window starts and frame gaps from NumPy's global state, shuffled with Python's
``random.shuffle`` and re-seeded NumPy in each joblib worker, so its streams cannot be reproduced. Here one
``numpy.random.Generator`` (from a seed) shuffles each epoch and hands every sample its own child generator, so a
seeded stream is the same whatever the number of loader threads.
"""

from __future__ import annotations

import concurrent.futures
import os
import zipfile
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence

import cv2
import numpy as np
import tensorflow as tf

from vidpred_tf.errors import InputError, MissingInputError

CONTRACT_IMAGES = "images"


def make_rng(seed) -> np.random.Generator:
    """``seed`` as a Generator: an int, None (fresh entropy) or a Generator (used as is)."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def read_list(path: str, whitespace_token: bool) -> List[str]:
    """The entries of a list file, one per non-empty line: the first whitespace token of each line
    (``whitespace_token``, Penn Action) or the whole line without its line break (Human3.6M: names hold spaces)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingInputError(f"{path}: list file does not exist")
    try:
        with open(path, "r") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read the list file ({err})") from err
    entries = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        entries.append(line.split()[0] if whitespace_token else line)
    if not entries:
        raise InputError(f"{path}: list file has no entries")
    return entries


def resolve_entry(entry: str, data_dir: Optional[str], dataset_folder: str) -> str:
    """A list entry as a path. The original lists hold ``./datasets/<dataset_folder>/...`` relative to the working
    directory; with ``data_dir`` the part after ``<dataset_folder>/`` is taken relative to ``data_dir``
    (relative entries without that folder are joined to it). Without ``data_dir`` the entry is used as written."""
    if data_dir is None:
        return entry
    marker = "/" + dataset_folder + "/"
    padded = "/" + entry if not entry.startswith("/") else entry
    if marker in padded:
        return os.path.join(os.fspath(data_dir), padded.split(marker, 1)[1])
    return entry if os.path.isabs(entry) else os.path.join(os.fspath(data_dir), entry)


def load_npz(path: str, keys: Sequence[str]) -> Dict[str, np.ndarray]:
    """The arrays ``keys`` of the .npz ``path``; one ``InputError`` naming the file (and key) when it is missing,
    truncated, not an .npz or lacks a key."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingInputError(f"{path}: file does not exist")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(f"{path}: cannot read as .npz ({err})") from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise InputError(f"{path}: not an .npz archive (a single array)")
    with archive:
        arrays = {}
        for key in keys:
            if key not in archive.files:
                raise InputError(f"{path}: no key {key!r} (keys: {', '.join(sorted(archive.files))})")
            try:
                arrays[key] = archive[key]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
                raise InputError(f"{path}: key {key!r} cannot be read ({err})") from err
    return arrays


def check_rows(path: str, arrays: Dict[str, np.ndarray], keys: Sequence[str], columns: int) -> int:
    """Common row count of the 2-D ``keys`` of ``arrays`` with ``columns`` columns each."""
    rows = None
    for key in keys:
        shape = np.shape(arrays[key])
        if len(shape) != 2 or shape[1] != columns or (rows is not None and shape[0] != rows):
            raise InputError(f"{path}: key {key!r} must be [frames, {columns}] like the others; got {shape}")
        rows = shape[0]
    return int(rows)


def first_int(path: str, key: str, value) -> int:
    """``nframes`` and the like: a MATLAB-style [[n]] array (or a scalar) as an int."""
    flat = np.asarray(value).reshape(-1)
    if flat.size < 1:
        raise InputError(f"{path}: key {key!r} is empty")
    return int(flat[0])


def first_str(path: str, key: str, value) -> str:
    flat = np.asarray(value).reshape(-1)
    if flat.size < 1:
        raise InputError(f"{path}: key {key!r} is empty")
    item = flat[0]
    return item.decode() if isinstance(item, bytes) else str(item)


def list_frames(directory: str, suffix: str) -> List[str]:
    """Sorted names in ``directory`` ending with ``suffix``."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise MissingInputError(f"{directory}: frame directory does not exist")
    return sorted(name for name in os.listdir(directory) if name.endswith(suffix))


def read_bgr(path: str) -> np.ndarray:
    """``cv2.imread`` (BGR uint8) with an error naming the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingInputError(f"{path}: image does not exist")
    image = cv2.imread(path)
    if image is None:
        raise InputError(f"{path}: cannot be decoded as an image")
    return image


def to_unit_range(image: np.ndarray) -> np.ndarray:
    """uint8 frame to [-1, 1] as the original's ``X / 127.5 - 1`` (float64)."""
    return image / 127.5 - 1


def draw_gap(steps: int, rng: np.random.Generator) -> int:
    """The frame gap n of the image-generator samples: ``randint(1, steps)``, i.e. 1..steps-1."""
    if steps < 2:
        raise InputError(f"steps={steps}: the frame gap is drawn from 1..steps-1, so steps must be at least 2")
    return int(rng.integers(1, steps))


def frame_pair(num_frames: int, gap: int, rng: np.random.Generator):
    """(first, second) frame indices of an image-generator sample with the original's fix-up of short videos:
    ``high = num_frames - gap - 1``; when ``high < 1`` the gap shrinks by ``1 - high`` and ``high = 1``;
    the first frame is ``randint(0, high)``."""
    high = num_frames - gap - 1
    if high < 1:
        gap += high
        high = 1
    first = int(rng.integers(0, high))
    return first, first + gap


def epoch_batches(count: int, batch_size: int, rng: np.random.Generator) -> List[np.ndarray]:
    """A shuffled pass over ``count`` items in batches of ``batch_size``; the incomplete last batch is dropped
    (the original built it and then skipped it)."""
    order = rng.permutation(count)
    return [order[start:start + batch_size] for start in range(0, count - batch_size + 1, batch_size)]


def map_samples(fn: Callable[[int, np.random.Generator], Dict[str, np.ndarray]], items: Iterable[int],
                rngs: Sequence[np.random.Generator], pool: Optional[concurrent.futures.Executor]):
    items = list(items)
    if pool is None:
        return [fn(item, rng) for item, rng in zip(items, rngs)]
    return list(pool.map(fn, items, rngs))


def stack_samples(samples: Sequence[Dict[str, np.ndarray]]) -> Dict[str, np.ndarray]:
    return {key: np.stack([sample[key] for sample in samples]) for key in samples[0]}


def add_contract_images(batch: Dict[str, np.ndarray], images: np.ndarray) -> Dict[str, np.ndarray]:
    """``batch`` with the ``images`` entry that the shared trainer's batch check asks for."""
    return {**batch, CONTRACT_IMAGES: np.ascontiguousarray(images, dtype=np.float32)}


def generator_dataset(make_batches: Callable[[], Iterator[Dict[str, np.ndarray]]],
                      signature: Dict[str, tf.TensorSpec]) -> tf.data.Dataset:
    """A ``tf.data.Dataset`` of the batches ``make_batches()`` yields (called anew each time it is iterated)."""
    return tf.data.Dataset.from_generator(make_batches, output_signature=signature)


def thread_pool(num_workers: int) -> Optional[concurrent.futures.ThreadPoolExecutor]:
    return concurrent.futures.ThreadPoolExecutor(num_workers) if num_workers and num_workers > 1 else None


def epoch_stream(make_epoch: Callable[[np.random.Generator], Iterator[Dict[str, np.ndarray]]],
                 epochs: Optional[int], seed) -> Callable[[], Iterator[Dict[str, np.ndarray]]]:
    """A generator function yielding ``epochs`` passes of ``make_epoch(rng)`` (``None``: forever); every call
    restarts from ``seed``."""

    def generate():
        rng = make_rng(seed)
        done = 0
        while epochs is None or done < epochs:
            produced = False
            for batch in make_epoch(rng):
                produced = True
                yield batch
            if not produced:
                raise InputError("the list holds fewer items than one batch")
            done += 1

    return generate


def sample_batches(sample_fn: Callable[..., Dict[str, np.ndarray]], entries: Sequence[str], batch_size: int,
                   image_size: int, steps: int, rng=None, num_workers: int = 0,
                   contract_images: bool = False) -> Iterator[Dict[str, np.ndarray]]:
    """One epoch of image-generator batches: ``sample_fn(entry, image_size, steps, rng)`` per sample, each with
    its own child generator, built by ``num_workers`` threads (the numbers do not depend on it)."""
    rng = make_rng(rng)
    pool = thread_pool(num_workers)
    try:
        for indices in epoch_batches(len(entries), batch_size, rng):
            samples = map_samples(lambda i, r: sample_fn(entries[i], image_size, steps, r), indices,
                                  rng.spawn(len(indices)), pool)
            batch = stack_samples(samples)
            if contract_images:
                batch = add_contract_images(batch, (np.stack([batch["xt"], batch["xtpn"]], 1) + 1) / 2)
            yield batch
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


def lstm_signature(batch_size: int, seen_step: int, fut_step: int, num_joints: int,
                   contract_images: bool) -> Dict[str, tf.TensorSpec]:
    length = seen_step + fut_step
    signature = {"seq": tf.TensorSpec((batch_size, length, 2 * num_joints), tf.float32),
                 "mask": tf.TensorSpec((batch_size, length, num_joints), tf.float32),
                 "action": tf.TensorSpec((batch_size,), tf.int32)}
    if contract_images:
        signature[CONTRACT_IMAGES] = tf.TensorSpec((batch_size, length, 1, 1, 1), tf.float32)
    return signature


def imggen_signature(batch_size: int, image_size: int, num_channels: int,
                     contract_images: bool) -> Dict[str, tf.TensorSpec]:
    image = tf.TensorSpec((batch_size, image_size, image_size, 3), tf.float32)
    pose = tf.TensorSpec((batch_size, image_size, image_size, num_channels), tf.float32)
    signature = {"xt": image, "xtpn": image, "pt": pose, "ptpn": pose}
    if contract_images:
        signature[CONTRACT_IMAGES] = tf.TensorSpec((batch_size, 2, image_size, image_size, 3), tf.float32)
    return signature


def load_joints(path: str, num_joints: int, min_steps: int) -> np.ndarray:
    """A pose test's ``joints.npy``: [1, steps, 2J] in 128-pixel units, with at least ``min_steps`` steps."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingInputError(f"{path}: predicted joints do not exist (run the pose test first)")
    try:
        joints = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise InputError(f"{path}: cannot read as .npy ({err})") from err
    if joints.ndim != 3 or joints.shape[0] < 1 or joints.shape[2] != 2 * num_joints or joints.shape[1] < min_steps:
        raise InputError(f"{path}: joints must be [1, >={min_steps}, {2 * num_joints}]; got {joints.shape}")
    return joints


def single_path(paths, reader: str) -> str:
    """The one list file of a registry call (a path or a one-element sequence)."""
    if isinstance(paths, (str, os.PathLike)):
        return os.fspath(paths)
    paths = list(paths)
    if len(paths) != 1:
        raise InputError(f"{reader} reads one list file; got {len(paths)} paths")
    return os.fspath(paths[0])
