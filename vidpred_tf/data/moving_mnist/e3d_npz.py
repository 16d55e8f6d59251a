"""Moving MNIST ``.npz`` files of the PredRNN / E3D-LSTM family (``--dataset_name mnist`` of the e3d original).

On-disk layout (one file per split, e.g. ``moving-mnist-train.npz``):

==================  =======  ===============  ==================================================================
key                 dtype    shape            meaning
==================  =======  ===============  ==================================================================
``clips``           int32    ``[2, N, 2]``    ``clips[0, k] = (start, length)`` of the input part of sequence k,
                                              ``clips[1, k]`` the same for the output part
``dims``            int32    ``[1, 3]``       ``(C, H, W)`` of the frames (``[2, 3]``: the output part comes
                                              from ``output_raw_data`` with ``dims[1]``)
``input_raw_data``  float32  ``[F, C, H, W]`` all frames, channel-first, in [0, 1]
``output_raw_data`` float32  optional         only read when ``dims`` is ``[2, 3]``
==================  =======  ===============  ==================================================================

``MnistNpzHandle`` reproduces the original ``InputHandle``: a sequence is its input frames followed by its
output frames, channel-last ``[T, H, W, C]`` float32 (shorter parts zero-padded to the batch maximum);
``begin(shuffle)`` restarts from the file order (shuffled with Python's ``random``), and the **last full
batch of every pass is never served** (``no_batch_left`` is ``position + batch >= N``): 7 sequences in
batches of 2 give 3 batches, 6 give 2.

Two comma-separated paths are concatenated. The original added the clip offset to a temporary copy, so the
second file's clips pointed into the first file's frames, a bug that reads the wrong sequences; here the offsets
are the frame counts of the first file (``fix_multi_path_offset=False`` restores the original indexing).

``read_e3d_npz`` (registered as ``"moving_mnist_e3d"``, the name its errors start with) wraps the handle in a
``tf.data.Dataset`` of *batches* (it reproduces the original batching, so the batch axis is included):
``{"images": [B, T, H, W, C]}``, the batch contract of :mod:`vidpred_tf.data.batch`.

The batching protocol itself (``OriginalBatchHandle``) and the handle-to-dataset step (``original_batch_dataset``)
live here and serve the KTH reader (:mod:`vidpred_tf.data.kth.e3d_frames`) too.
"""

from __future__ import annotations

import abc
import copy
import os
import random
import zipfile
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from vidpred_tf.data.registry import register_reader
from vidpred_tf.errors import InputError, MissingInputError

PathsArg = Union[str, Sequence[str]]

READER = "moving_mnist_e3d"


def _split_paths(paths: PathsArg, max_paths: Optional[int] = 2, reader: str = READER,
                 what: str = "data path") -> List[str]:
    """The user-expanded paths of a comma-separated string (or a list); at least one, at most ``max_paths``
    (``None``: no limit). ``reader`` and ``what`` name the reader and the path in the errors."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [p for p in os.fspath(paths).split(",") if p]
    # The original README's paths start with ~ (absl does not expand it).
    paths = [os.path.expanduser(os.fspath(p)) for p in paths]
    if not paths:
        raise InputError(f"{reader}: no {what} given")
    if max_paths is not None and len(paths) > max_paths:
        raise InputError(f"{reader}: at most {max_paths} comma-separated paths are supported (as in the original); "
                         f"got {len(paths)}: {paths}")
    return paths


def _load_npz(path: str) -> dict:
    if not os.path.exists(path):
        raise MissingInputError(f"{READER}: file {path} not found")
    if not zipfile.is_zipfile(path):
        raise InputError(f"{READER}: {path} is not a readable .npz file (not a zip archive of arrays)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(f"{READER}: {path} is not a readable .npz file ({type(err).__name__}: {err})") from err
    for key in ("clips", "dims", "input_raw_data"):
        if key not in data:
            raise InputError(f"{READER}: {path} has no {key!r} array (keys: {sorted(data)})")
    clips, dims = data["clips"], data["dims"]
    if clips.ndim != 3 or clips.shape[0] != 2 or clips.shape[2] != 2:
        raise InputError(f"{READER}: {path}: 'clips' must be [2, N, 2]; got {clips.shape}")
    if dims.shape not in ((1, 3), (2, 3)):
        raise InputError(f"{READER}: {path}: 'dims' must be [1, 3] or [2, 3]; got {dims.shape}")
    if dims.shape == (2, 3) and "output_raw_data" not in data:
        raise InputError(f"{READER}: {path}: 'dims' is [2, 3] but there is no 'output_raw_data'")
    sources = [("input_raw_data", 0)] + ([("output_raw_data", 1)] if dims.shape == (2, 3) else [])
    for key, row in sources:
        raw = data[key]
        if raw.ndim != 4 or tuple(int(d) for d in dims[row]) != tuple(raw.shape[1:]):
            raise InputError(f"{READER}: {path}: 'dims'[{row}] says frames of (C, H, W) = "
                             f"{tuple(int(d) for d in dims[row])} but {key!r} has shape {tuple(raw.shape)}")
    for part in (0, 1):
        raw = data[sources[-1][0] if part == 1 else "input_raw_data"]
        starts, counts = clips[part, :, 0].astype(np.int64), clips[part, :, 1].astype(np.int64)
        bad = np.flatnonzero((starts < 0) | (counts < 0) | (starts + counts > raw.shape[0]))
        if bad.size:
            k = int(bad[0])
            raise InputError(f"{READER}: {path}: clip {k} ({'input' if part == 0 else 'output'} part) reads frames "
                             f"{int(starts[k])}..{int(starts[k] + counts[k])} but the data has {raw.shape[0]} frames "
                             f"({bad.size} clip(s) point past the data)")
    return data


class OriginalBatchHandle(abc.ABC):
    """The batching of the original ``InputHandle``s: a position into a list of item indices, served
    ``batch_size`` at a time, and the **last full batch of a pass never served** (``position + batch_size >=
    total`` ends the pass: 7 items in batches of 2 give 3 batches, 6 give 2).

    ``begin(do_shuffle)`` starts a pass, shuffling with ``rng`` (Python ``random.Random``; the global ``random``
    when None, as the original). The order shuffled is ``_pass_order()``: by default the previous pass's order
    (shuffled in place again); a subclass may restart from its file order. Subclasses set ``indices`` and
    ``reader`` / ``item_name`` (for messages) and implement ``_make_batch(indices)``.
    """

    reader = "batches"
    item_name = "items"

    def __init__(self, batch_size: int, rng: Optional[random.Random] = None):
        if int(batch_size) <= 0:
            raise ValueError(f"{self.reader}: batch_size must be positive; got {batch_size}")
        self.batch_size = int(batch_size)
        self.rng = rng
        self.position = 0

    def total(self) -> int:
        return len(self.indices)

    def _pass_order(self):
        return self.indices

    def begin(self, do_shuffle: bool = True) -> None:
        self.indices = self._pass_order()
        if do_shuffle:
            (self.rng or random).shuffle(self.indices)
        self.position = 0

    def next(self) -> None:
        self.position += self.batch_size

    def no_batch_left(self) -> bool:
        return self.position + self.batch_size >= self.total()

    @property
    def current_indices(self):
        """The item indices of the current batch."""
        return self.indices[self.position:self.position + self.batch_size]

    def _describe(self) -> str:
        return self.reader

    @abc.abstractmethod
    def _make_batch(self, indices) -> np.ndarray:
        """The batch of the items ``indices`` (a slice of ``self.indices``)."""

    def get_batch(self) -> np.ndarray:
        """The current batch; ``RuntimeError`` when no batch is left."""
        if self.no_batch_left():
            raise RuntimeError(f"{self._describe()}: no batch left ({self.total()} {self.item_name}, batch size "
                               f"{self.batch_size}); call begin() to start a new pass")
        return self._make_batch(self.current_indices)

    def batches(self, do_shuffle: bool = False) -> Iterator[np.ndarray]:
        """One pass: ``begin(do_shuffle)`` then every batch the original would serve."""
        self.begin(do_shuffle)
        while not self.no_batch_left():
            yield self.get_batch()
            self.next()

    def __iter__(self):
        return self.batches(do_shuffle=False)

    def independent_copy(self, seed: Optional[int]) -> "OriginalBatchHandle":
        """A copy at the start of a pass with its own item order and ``random.Random(seed)``: every dataset made
        from such a copy serves the same sequence of batches, whatever this handle or other copies served."""
        handle = copy.copy(self)
        handle.indices = copy.copy(self.indices)
        handle.rng, handle.position = random.Random(seed), 0
        return handle


def original_batch_dataset(handle: OriginalBatchHandle, frame_shape: Tuple[int, ...], *, shuffle: bool,
                           epochs: Optional[int]) -> tf.data.Dataset:
    """``{"images": [batch_size, *frame_shape]}`` float32: ``epochs`` passes of ``handle.batches(shuffle)``
    (``None``: forever), each pass reshuffled when ``shuffle``."""

    def generate():
        done = 0
        while epochs is None or done < epochs:
            for batch in handle.batches(do_shuffle=shuffle):
                yield {"images": batch}
            done += 1

    signature = {"images": tf.TensorSpec((handle.batch_size,) + tuple(frame_shape), tf.float32)}
    return tf.data.Dataset.from_generator(generate, output_signature=signature)


class MnistNpzHandle(OriginalBatchHandle):
    """Batches of one split, in the original's order; see the module docstring."""

    reader = READER
    item_name = "sequences"

    def __init__(self, paths: PathsArg, batch_size: int, rng: Optional[random.Random] = None,
                 fix_multi_path_offset: bool = True, dtype=np.float32):
        self.paths = _split_paths(paths)
        super().__init__(batch_size, rng)
        self.dtype = np.dtype(dtype)
        self.data = self._load(fix_multi_path_offset)
        self.indices = self._pass_order()
        self.begin(do_shuffle=False)

    def _load(self, fix_offset: bool) -> dict:
        first = _load_npz(self.paths[0])
        data = dict(first)
        if len(self.paths) == 2:
            second = _load_npz(self.paths[1])
            clips2 = second["clips"].copy()
            if fix_offset:
                clips2[0, :, 0] += first["input_raw_data"].shape[0]
                output_source = "output_raw_data" if first["dims"].shape == (2, 3) else "input_raw_data"
                clips2[1, :, 0] += first[output_source].shape[0]
            data["clips"] = np.concatenate([first["clips"], clips2], axis=1)
            data["input_raw_data"] = np.concatenate([first["input_raw_data"], second["input_raw_data"]], axis=0)
            if "output_raw_data" in first and "output_raw_data" in second:
                data["output_raw_data"] = np.concatenate(
                    [first["output_raw_data"], second["output_raw_data"]], axis=0)
        return data

    def _pass_order(self) -> np.ndarray:
        # The original restarts every pass from the file order (the KTH handle reshuffles the previous order).
        return np.arange(self.data["clips"].shape[1], dtype=np.int32)

    def _describe(self) -> str:
        return f"{READER} {self.paths}"

    def _part(self, part: int, raw: np.ndarray, dims, indices) -> np.ndarray:
        clips = self.data["clips"][part]
        length = max(int(clips[k, 1]) for k in indices)
        channels, height, width = (int(d) for d in dims)
        out = np.zeros((len(indices), length, height, width, channels), self.dtype)
        for row, k in enumerate(indices):
            start, count = int(clips[k, 0]), int(clips[k, 1])
            frames = raw[start:start + count]
            if frames.shape[0] != count:
                raise InputError(f"{READER} {self.paths}: clip {k} ({'input' if part == 0 else 'output'} part) reads "
                                 f"frames {start}..{start + count} but the data has {raw.shape[0]} frames")
            out[row, :count] = np.transpose(frames, (0, 2, 3, 1))
        return out

    def _make_batch(self, indices) -> np.ndarray:
        """``[B, Tin + Tout, H, W, C]``: each sequence's input frames, then its output frames."""
        dims = self.data["dims"]
        inputs = self._part(0, self.data["input_raw_data"], dims[0], indices)
        if dims.shape == (2, 3):
            outputs = self._part(1, self.data["output_raw_data"], dims[1], indices)
        else:
            outputs = self._part(1, self.data["input_raw_data"], dims[0], indices)
        return np.concatenate([inputs, outputs], axis=1)


@register_reader(READER, description="Moving MNIST .npz of the PredRNN family (clips/dims/input_raw_data), batched "
                                     "as the e3d original")
def read_e3d_npz(paths: PathsArg, *, batch_size: int, seq_length: Optional[int] = None, shuffle: bool = False,
                 seed: Optional[int] = None, epochs: Optional[int] = 1,
                 fix_multi_path_offset: bool = True) -> tf.data.Dataset:
    """``{"images": [B, T, H, W, C]}`` batches as the original served them (last full batch of a pass dropped).

    T comes from the file; ``seq_length`` (run.py's ``--total_length``), when given, must agree with it.
    ``epochs`` passes (``None``: forever), each reshuffled when ``shuffle`` (Python ``random.Random(seed)``;
    the original used the unseeded global ``random``).
    """
    handle, frame_shape = open_e3d_npz(paths, batch_size=batch_size, seq_length=seq_length, shuffle=shuffle,
                                       seed=seed, fix_multi_path_offset=fix_multi_path_offset)
    return original_batch_dataset(handle, frame_shape, shuffle=shuffle, epochs=epochs)


def open_e3d_npz(paths: PathsArg, *, batch_size: int, seq_length: Optional[int] = None, shuffle: bool = False,
                 seed: Optional[int] = None,
                 fix_multi_path_offset: bool = True) -> Tuple[MnistNpzHandle, Tuple[int, ...]]:
    """``(handle, frame_shape [T, H, W, C])`` of :func:`read_e3d_npz`, the files read and checked:
    ``InputError`` naming the file when it is unreadable, inconsistent or gives no batch."""
    handle = MnistNpzHandle(paths, batch_size, rng=random.Random(seed) if shuffle else None,
                            fix_multi_path_offset=fix_multi_path_offset)
    first = handle.get_batch() if not handle.no_batch_left() else None
    if first is None:
        raise InputError(f"{READER} {handle.paths}: {handle.total()} sequences give no batch of {batch_size} "
                         "(the original never serves the last full batch)")
    frame_shape = tuple(int(d) for d in first.shape[1:])
    if seq_length is not None and frame_shape[0] != int(seq_length):
        raise InputError(f"{READER} {handle.paths}: sequences have {frame_shape[0]} frames (input + output clips) "
                         f"but seq_length / --total_length is {seq_length}")
    return handle, frame_shape
