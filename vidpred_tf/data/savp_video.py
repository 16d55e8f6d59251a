"""SAVP's video datasets (alexlee-gk/video_prediction ``video_prediction/datasets``), read with tf.data in TF2.

One dataset class per original ``--dataset`` name (``SAVP_DATASETS``); each lives in its dataset's package
(``vidpred_tf/data/<dataset>/savp.py``) and registers a reader named ``<dataset>_savp``. The base classes here
hold what they share:

* **hparams** (``BASE_HPARAMS``, overridden per class in ``DEFAULT_HPARAMS``): the original's contrib HParams
  (:mod:`vidpred_tf.hparams`): defaults, then ``hparams_dict`` (a plain dict, or an already parsed ``HParams``),
  then comma strings ``hparams``; ``long_sequence_length=0`` becomes ``sequence_length``.
* **files**: ``*.tfrecord*`` in ``input_dir``, else in ``input_dir/<mode>``, sorted by name.
* **slicing** (:func:`slice_sequences`): the clip starts at ``t_start`` = ``time_shift`` times a uniform integer in
  ``[0, num_shifts]`` when ``time_shift`` and mode ``train``, or ``force_time_shift``; at 0 otherwise.
  ``num_shifts = ((L - 1) - (T - 1) * (frame_skip + 1)) // time_shift``. Frames and states take every
  ``frame_skip + 1``-th step from ``t_start``, ``T`` of them; actions take the ``(T - 1) * (frame_skip + 1)``
  steps from ``t_start``, reshaped to ``[T - 1, -1]`` (the actions of skipped frames concatenated).
  The draw is stateless: seeded by ``(seed, index of the example in the stream)``, so a seed gives the same clips
  (the original's ``tf.random_uniform(seed=seed)`` stream cannot be reproduced bit for bit).
* **crop / scale**: when ``crop_size`` or ``scale_size``, ``resize_with_crop_or_pad`` to a ``crop_size`` square
  (default the shorter side), then a resize to ``scale_size``: BILINEAR up, AREA down (TF1's kernels, without
  half-pixel centres, as the original's ``resize_images``). The port resizes the float
  frames in [0, 1]; the original resized the uint8 frames, which left them as floats in [0, 255] (its
  ``convert_image_dtype`` is a no-op on float32) -- fixed here.
* **pipeline** (:meth:`SavpVideoDataset.make_dataset`): in ``train`` (and ``val`` with ``shuffle_on_val``) the file
  list is shuffled with ``random.Random(seed)``, then records are shuffled in a buffer of 1024 and repeated
  ``num_epochs`` times (``None``: forever); otherwise they are repeated in order. Batches drop the remainder and
  are prefetched.
* **output**: batch-major dicts ``images`` float32 ``[B, T, H, W, C]`` in [0, 1], with ``use_state`` also
  ``states`` ``[B, T, S]`` and ``actions`` ``[B, T - 1, A]`` (the original's key order: state-like entries, then
  action-like ones). Note ``actions`` has ``T - 1`` steps, not the ``T`` of :mod:`vidpred_tf.data.batch`.

Bad input is a :class:`vidpred_tf.errors.InputError` naming the file (and the record and key): a missing folder,
no TFRecord file, a first record that is damaged or has the wrong image size (checked when the dataset is made);
a damaged record further on surfaces while iterating, as a TensorFlow data error, which
:meth:`SavpVideoDataset.iterate_checked` and :meth:`SavpVideoDataset.error_naming_file` turn into such an error.
"""

from __future__ import annotations

import glob
import importlib
import math
import os
import random
import re
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.hparams import HParams, parse_hparams

MODES = ("train", "val", "test")

BASE_HPARAMS: Dict[str, Any] = dict(
    crop_size=0,
    scale_size=0,
    context_frames=1,
    sequence_length=0,
    long_sequence_length=0,
    frame_skip=0,
    time_shift=1,
    force_time_shift=False,
    shuffle_on_val=False,
    use_state=False,
)

# The original's ``--dataset`` names -> "module:class" of the port (resolved by ``get_dataset_class``).
SAVP_DATASETS: Dict[str, str] = {
    "google_robot": "vidpred_tf.data.google_robot.savp:GoogleRobotVideoDataset",
    "sv2p": "vidpred_tf.data.sv2p.savp:SV2PVideoDataset",
    "softmotion": "vidpred_tf.data.bair.savp:SoftmotionVideoDataset",
    "bair": "vidpred_tf.data.bair.savp:SoftmotionVideoDataset",  # alias of softmotion
    "kth": "vidpred_tf.data.kth.savp:KTHVideoDataset",
    "ucf101": "vidpred_tf.data.ucf101.savp:UCF101VideoDataset",
    "cartgripper": "vidpred_tf.data.cartgripper.savp:CartgripperVideoDataset",
}

SHUFFLE_BUFFER = 1024
READ_BUFFER_BYTES = 8 * 1024 * 1024

# Errors tf.data raises for a damaged record (framing/CRC) or a payload that does not parse or decode.
DATA_ERRORS = (tf.errors.DataLossError, tf.errors.InvalidArgumentError)

HParamsArg = Union[None, Mapping[str, Any], HParams]
StringsArg = Union[None, str, Sequence[str]]


def merged_defaults(*dicts: Mapping[str, Any]) -> Dict[str, Any]:
    """``BASE_HPARAMS`` updated by ``dicts`` in order (a dataset class's ``DEFAULT_HPARAMS``)."""
    merged = dict(BASE_HPARAMS)
    for values in dicts:
        merged.update(values)
    return merged


def get_dataset_class(dataset: str) -> type:
    """The class of an original ``--dataset`` name (or of a class name of ``SAVP_DATASETS``)."""
    target = SAVP_DATASETS.get(dataset)
    if target is None:
        for value in SAVP_DATASETS.values():
            if value.split(":")[1] == dataset:
                target = value
    if target is None:
        raise InputError(f"invalid SAVP dataset {dataset!r} (choose from {', '.join(sorted(SAVP_DATASETS))})")
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def make_dataset(name: str, input_dir: str, mode: str = "train", hparams_dict: HParamsArg = None,
                 hparams: StringsArg = None, *, batch_size: int, seed: Optional[int] = None,
                 num_epochs: Optional[int] = None) -> Tuple[tf.data.Dataset, HParams, int]:
    """``(batched dataset, resolved dataset hparams, num_examples_per_epoch)`` of the original ``--dataset``
    ``name`` reading ``input_dir`` in ``mode`` -- what the original's train/generate/evaluate built."""
    dataset = get_dataset_class(name)(input_dir, mode=mode, num_epochs=num_epochs, seed=seed,
                                      hparams_dict=hparams_dict, hparams=hparams)
    return dataset.make_dataset(batch_size), dataset.hparams, dataset.num_examples_per_epoch()


# ------------------------------------------------------------------------------------------------------------ ops


def clip_start(example_length, hparams: HParams, mode: str, seed: Optional[tf.Tensor]):
    """``t_start`` of one example of ``example_length`` steps (a Python int or an int tensor).

    ``seed``: int [2] stateless seed of this example's draw (unused when the start is 0).
    """
    sequence_length, frame_skip, time_shift = hparams.sequence_length, hparams.frame_skip, hparams.time_shift
    if not ((time_shift and mode == "train") or hparams.force_time_shift):
        return 0
    needed = (sequence_length - 1) * (frame_skip + 1) + 1
    if isinstance(example_length, int):
        num_shifts = ((example_length - 1) - (sequence_length - 1) * (frame_skip + 1)) // time_shift
        if num_shifts < 0:
            raise InputError(f"examples of {example_length} steps are shorter than the {needed} that "
                             f"sequence_length={sequence_length}, frame_skip={frame_skip} need")
        if num_shifts == 0:
            return 0
        high = num_shifts + 1
    else:
        length = tf.cast(example_length, tf.int32)
        num_shifts = ((length - 1) - (sequence_length - 1) * (frame_skip + 1)) // time_shift
        check = tf.debugging.assert_greater_equal(
            num_shifts, 0, message=f"an example is shorter than the {needed} steps that sequence_length="
                                   f"{sequence_length}, frame_skip={frame_skip} need")
        with tf.control_dependencies([check]):
            high = num_shifts + 1
    draw = tf.random.stateless_uniform([], seed, minval=0, maxval=high, dtype=tf.int32)
    return draw * time_shift


def slice_sequences(state_like: Mapping[str, tf.Tensor], action_like: Mapping[str, tf.Tensor], t_start,
                    sequence_length: int, frame_skip: int) -> Tuple["OrderedDict[str, tf.Tensor]",
                                                                     "OrderedDict[str, tf.Tensor]"]:
    """The original's ``slice_sequences`` for a given ``t_start``: new dicts of ``[T, ...]`` state-like and
    ``[T - 1, -1]`` action-like sequences (static lengths set)."""
    step = frame_skip + 1
    state_end = t_start + (sequence_length - 1) * step + 1
    action_end = t_start + (sequence_length - 1) * step
    states = OrderedDict()
    for name, seq in state_like.items():
        seq = tf.convert_to_tensor(seq)[t_start:state_end:step]
        states[name] = tf.ensure_shape(seq, [sequence_length] + seq.shape.as_list()[1:])
    actions = OrderedDict()
    for name, seq in action_like.items():
        seq = tf.convert_to_tensor(seq)[t_start:action_end]
        seq = tf.ensure_shape(seq, [(sequence_length - 1) * step] + seq.shape.as_list()[1:])
        actions[name] = tf.reshape(seq, [sequence_length - 1, -1])
    return states, actions


def crop_and_scale(images: tf.Tensor, crop_size: int, scale_size: int) -> tf.Tensor:
    """Float frames ``[N, H, W, C]``: ``resize_with_crop_or_pad`` to a ``crop_size`` square (0: the shorter
    side), then BILINEAR up / AREA down to ``scale_size`` (0: no resize). Nothing happens when both are 0."""
    if not (crop_size or scale_size):
        return images
    height, width, channels = images.shape.as_list()[1:]
    if not crop_size:
        crop_size = min(height, width)
    images = tf.image.resize_with_crop_or_pad(images, crop_size, crop_size)
    images = tf.ensure_shape(images, [None, crop_size, crop_size, channels])
    # TF1's resize_images kernels (no half-pixel centres), not TF2's tf.image.resize: the original's sampling.
    if scale_size and crop_size < scale_size:
        images = tf.raw_ops.ResizeBilinear(images=images, size=[scale_size, scale_size], align_corners=False,
                                           half_pixel_centers=False)
    elif scale_size and crop_size > scale_size:
        images = tf.raw_ops.ResizeArea(images=images, size=[scale_size, scale_size], align_corners=False)
    return images


def pixel_distribution(pos: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """Bilinear one-hot maps ``[N, height, width]`` of the (y, x) positions ``pos`` [N, 2] (outside: 0)."""
    y, x = tf.unstack(pos, 2, axis=1)
    x0 = tf.cast(tf.floor(x), tf.int32)
    y0 = tf.cast(tf.floor(y), tf.int32)
    x1, y1 = x0 + 1, y0 + 1

    def one_hot(yy, xx):
        return tf.reshape(tf.one_hot(yy * width + xx, height * width), [-1, height, width])

    fx0, fx1 = tf.cast(x0, tf.float32), tf.cast(x1, tf.float32)
    fy0, fy1 = tf.cast(y0, tf.float32), tf.cast(y1, tf.float32)
    weights = [(fx1 - x) * (fy1 - y), (fx1 - x) * (y - fy0), (x - fx0) * (fy1 - y), (x - fx0) * (y - fy0)]
    maps = [one_hot(y0, x0), one_hot(y1, x0), one_hot(y0, x1), one_hot(y1, x1)]
    return tf.add_n([w[:, None, None] * m for w, m in zip(weights, maps)])


def _first_line(err: BaseException) -> str:
    text = getattr(err, "message", None) or str(err)
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


# ------------------------------------------------------------------------------------------------------ datasets


class SavpVideoDataset:
    """The original's ``BaseVideoDataset``: files, hparams, slicing and the pipeline (subclasses parse).

    Args:
      input_dir: a folder holding the TFRecord files, or one with ``train``/``val``/``test`` folders of them.
      mode: ``train``, ``val`` or ``test``.
      num_epochs: passes over the data (``None``: forever).
      seed: seeds the file and record shuffles and the clip starts (``None``: a fresh random seed).
      hparams_dict: a dict of hparams (or an ``HParams``) over the class defaults.
      hparams: comma strings ``name=value,...`` (or a list of them) applied after ``hparams_dict``.
    """

    reader_name = "savp"
    DEFAULT_HPARAMS: Dict[str, Any] = dict(BASE_HPARAMS)
    jpeg_encoding = False

    def __init__(self, input_dir: str, mode: str = "train", num_epochs: Optional[int] = None,
                 seed: Optional[int] = None, hparams_dict: HParamsArg = None, hparams: StringsArg = None):
        if mode not in MODES:
            raise InputError(f"{self.reader_name}: invalid mode {mode!r} (choose from {', '.join(MODES)})")
        self.mode = mode
        self.num_epochs = num_epochs
        self.seed = seed
        self._draw_seed = seed if seed is not None else random.SystemRandom().randrange(2 ** 31)
        self.input_dir, self.filenames = find_tfrecords(input_dir, mode, self.reader_name)
        self.dataset_name = os.path.basename(os.path.split(self.input_dir)[0])
        self.state_like_names_and_shapes: "OrderedDict[str, Tuple[str, Optional[Tuple[int, ...]]]]" = OrderedDict()
        self.action_like_names_and_shapes: "OrderedDict[str, Tuple[str, Optional[Tuple[int, ...]]]]" = OrderedDict()
        self.hparams = self.parse_hparams(hparams_dict, hparams)

    # -------------------------------------------------------------------------------------------- hparams
    def get_default_hparams_dict(self) -> Dict[str, Any]:
        return dict(self.DEFAULT_HPARAMS)

    def get_default_hparams(self) -> HParams:
        return HParams(**self.get_default_hparams_dict())

    def parse_hparams(self, hparams_dict: HParamsArg, hparams: StringsArg) -> HParams:
        if isinstance(hparams_dict, HParams):
            hparams_dict = hparams_dict.values()
        parsed = parse_hparams(self.get_default_hparams_dict(), hparams_dict, hparams,
                               dict_source=f"{self.reader_name} dataset hparams",
                               string_source=f"{self.reader_name} dataset hparams")
        if parsed.long_sequence_length == 0:
            parsed.long_sequence_length = parsed.sequence_length
        for name in ("crop_size", "scale_size", "frame_skip", "time_shift", "sequence_length"):
            if parsed.get(name) is not None and parsed.get(name) < 0:
                raise InputError(f"{self.reader_name}: dataset hparam {name} must be >= 0; got {parsed.get(name)}")
        if parsed.force_time_shift and not parsed.time_shift:
            raise InputError(f"{self.reader_name}: force_time_shift needs time_shift > 0")
        return parsed

    def set_sequence_length(self, sequence_length: int) -> None:
        self.hparams.sequence_length = sequence_length

    # -------------------------------------------------------------------------------------------- records
    def first_record(self) -> bytes:
        """The first record of the first file (``InputError`` naming it when damaged or absent)."""
        path = self.filenames[0]
        try:
            first = next(iter(tf.data.TFRecordDataset([path]).take(1)), None)
        except DATA_ERRORS as err:
            raise InputError(f"{self.reader_name}: corrupt TFRecord file {path}: record 0: "
                             f"{_first_line(err)}") from None
        if first is None:
            raise InputError(f"{self.reader_name}: TFRecord file {path} holds no records")
        return first.numpy()

    def first_example(self) -> tf.train.Example:
        record = self.first_record()
        try:
            return tf.train.Example.FromString(record)
        except Exception as err:  # protobuf's DecodeError
            raise InputError(f"{self.reader_name}: {self.filenames[0]}: record 0 is not a tf.train.Example "
                             f"({err})") from None

    def check_record(self, record: bytes) -> Optional[str]:
        """Why one serialized record cannot be read by this dataset, or ``None``."""
        try:
            tf.train.Example.FromString(record)
        except Exception as err:  # protobuf's DecodeError
            return f"not a tf.train.Example ({err})"
        return None

    def find_bad_record(self) -> Optional[Tuple[str, int, str]]:
        """``(file, record index, reason)`` of the first unreadable record of the files, or ``None``."""
        for path in self.filenames:
            index = 0
            iterator = iter(tf.data.TFRecordDataset([path]))
            while True:
                try:
                    record = next(iterator)
                except StopIteration:
                    break
                except DATA_ERRORS as err:
                    return path, index, f"truncated or corrupt record ({_first_line(err)})"
                reason = self.check_record(record.numpy())
                if reason is not None:
                    return path, index, reason
                index += 1
        return None

    def check_files(self) -> None:
        """Read every record once; ``InputError`` naming the first bad file, record and key."""
        found = self.find_bad_record()
        if found is not None:
            raise self._bad_record_error(*found)

    def _bad_record_error(self, path: str, index: int, reason: str) -> InputError:
        return InputError(f"{self.reader_name}: corrupt TFRecord file {path}: record {index}: {reason}")

    def error_naming_file(self, error: BaseException) -> BaseException:
        """An ``InputError`` naming the bad file and record when one of the files has one, else ``error``
        (for a trainer's ``on_data_error``)."""
        found = self.find_bad_record()
        return self._bad_record_error(*found) if found is not None else error

    def iterate_checked(self, dataset: tf.data.Dataset) -> Iterator[Dict[str, tf.Tensor]]:
        """Iterate ``dataset`` (made by this object); a data error becomes an ``InputError`` naming the file."""
        iterator = iter(dataset)
        while True:
            try:
                element = next(iterator)
            except StopIteration:
                return
            except DATA_ERRORS as err:
                better = self.error_naming_file(err)
                if better is err:
                    raise
                raise better from None
            yield element

    # -------------------------------------------------------------------------------------------- parsing
    def filter(self, serialized: tf.Tensor) -> tf.Tensor:
        return tf.constant(True)

    def parser(self, serialized: tf.Tensor, seed: tf.Tensor) -> Tuple[Dict[str, tf.Tensor], Dict[str, tf.Tensor]]:
        """``(state-like, action-like)`` sequences of one record; ``seed`` int64 [2] of its clip start."""
        raise NotImplementedError

    def decode_images(self, buffers: tf.Tensor, image_shape: Sequence[int], seed: Optional[tf.Tensor] = None
                      ) -> tf.Tensor:
        """Encoded frames ``[N]`` -> float32 ``[N, H', W', C]`` in [0, 1], cropped and scaled as the hparams say.

        ``seed``: the example's stateless seed (for a subclass that draws, e.g. a random crop)."""
        height, width, channels = image_shape
        if self.jpeg_encoding:
            count = buffers.shape[0]
            frames = [tf.io.decode_jpeg(buffers[i], channels=channels) for i in range(count)]
            images = tf.ensure_shape(tf.stack(frames), [count, height, width, channels])
        else:
            images = tf.reshape(tf.io.decode_raw(buffers, tf.uint8), [buffers.shape[0], height, width, channels])
        images = tf.image.convert_image_dtype(images, tf.float32)
        return crop_and_scale(images, self.hparams.crop_size, self.hparams.scale_size)

    def output_shapes(self) -> Dict[str, Tuple[int, ...]]:
        """Static shape of each entry of one example (no batch axis)."""
        raise NotImplementedError

    # -------------------------------------------------------------------------------------------- pipeline
    def make_dataset(self, batch_size: int, validate: bool = False) -> tf.data.Dataset:
        """Batches ``{"images": [B, T, H, W, C], ...}`` as the original's ``make_dataset`` built them.

        ``validate``: read every record first (``check_files``) so a bad record is an ``InputError`` now.
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"{self.reader_name}: batch_size must be a positive integer; got {batch_size!r}")
        if validate:
            self.check_files()
        filenames = list(self.filenames)
        shuffle = self.mode == "train" or (self.mode == "val" and self.hparams.shuffle_on_val)
        if shuffle:
            random.Random(self.seed).shuffle(filenames)
        dataset = tf.data.TFRecordDataset(filenames, buffer_size=READ_BUFFER_BYTES)
        dataset = dataset.filter(self.filter)
        if shuffle:
            dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=self.seed, reshuffle_each_iteration=True)
        dataset = dataset.repeat(self.num_epochs)
        draw_seed = tf.constant(self._draw_seed, tf.int64)

        def parse(index, serialized):
            state_like, action_like = self.parser(serialized, tf.stack([draw_seed, index]))
            return OrderedDict(list(state_like.items()) + list(action_like.items()))

        # One parse call at a time when not shuffling, as the original (and deterministic order either way).
        if shuffle:
            dataset = dataset.enumerate().map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        else:
            dataset = dataset.enumerate().map(parse)
        dataset = dataset.batch(batch_size, drop_remainder=True)
        return dataset.prefetch(batch_size)

    def num_examples_per_epoch(self) -> int:
        raise NotImplementedError

    def count_records(self) -> int:
        """Records in the files (reads them all)."""
        return sum(1 for path in self.filenames for _ in tf.data.TFRecordDataset([path]))


def find_tfrecords(input_dir: str, mode: str, reader: str = "savp") -> Tuple[str, List[str]]:
    """``(folder, sorted files)``: the ``*.tfrecord*`` files of ``input_dir``, else of ``input_dir/<mode>``."""
    root = os.path.normpath(os.path.expanduser(os.fspath(input_dir)))
    if not os.path.exists(root):
        raise MissingInputError(f"{reader}: input_dir {root} does not exist")
    for folder in (root, os.path.join(root, mode)):
        files = [f for f in glob.glob(os.path.join(folder, "*.tfrecord*")) if os.path.isfile(f)]
        if files:
            return folder, sorted(files)
    raise MissingInputError(f"{reader}: no TFRecord files (*.tfrecord*) in {root} or {os.path.join(root, mode)}")


def _feature_kind(feature: tf.train.Feature) -> str:
    return feature.WhichOneof("kind") or "empty"


class FlatVideoDataset(SavpVideoDataset):
    """The original's ``VideoDataset``: one ``tf.train.Example`` per video, one feature per time step
    (``'%d/...'`` names). The frames of the whole video are decoded, then a clip is sliced.

    Subclasses fill ``state_like_names_and_shapes`` / ``action_like_names_and_shapes`` (example name ->
    ``(feature pattern with %d, shape or None to infer)``) and call ``_check_or_infer_shapes``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._max_sequence_length: Optional[int] = None
        self._first_features: Dict[str, tf.train.Feature] = {}

    def _check_or_infer_shapes(self) -> None:
        """Infer the missing shapes and the longest sequence from the first record (the original's
        ``_check_or_infer_shapes``; raw image shapes come from the byte length: ``H = W = sqrt(n / 3)``)."""
        path = self.filenames[0]
        features = dict(self.first_example().features.feature)
        self._first_features = features
        lengths = []
        for kind_like, table in (("state", self.state_like_names_and_shapes),
                                 ("action", self.action_like_names_and_shapes)):
            for example_name, (pattern, shape) in list(table.items()):
                regex = re.compile(re.escape(pattern).replace("%d", r"\d+"))
                names = [name for name in features if regex.fullmatch(name)]
                if not names:
                    raise InputError(f"{self.reader_name}: {path}: record 0 has no feature named like {pattern!r} "
                                     f"(features: {', '.join(sorted(features)[:8])}...)")
                lengths.append(len(names) if kind_like == "state" else len(names) + 1)
                first_name = pattern % 0 if pattern % 0 in features else sorted(names)[0]
                inferred = self._infer_shape(path, example_name, first_name, features[first_name])
                if shape is None:
                    if inferred is None:
                        raise InputError(f"{self.reader_name}: {path}: record 0: cannot infer the shape of "
                                         f"'{first_name}'")
                    shape = inferred
                elif inferred is not None and tuple(inferred) != tuple(shape):
                    raise InputError(f"{self.reader_name}: {path}: record 0: '{first_name}' has shape "
                                     f"{tuple(inferred)}; this dataset needs {tuple(shape)}")
                table[example_name] = (pattern, tuple(shape))
        self._max_sequence_length = min(lengths)
        for t in range(self._max_sequence_length):
            for table, count in ((self.state_like_names_and_shapes, self._max_sequence_length),
                                 (self.action_like_names_and_shapes, self._max_sequence_length - 1)):
                for pattern, _ in table.values():
                    if t < count and pattern % t not in features:
                        raise InputError(f"{self.reader_name}: {path}: record 0 has no feature '{pattern % t}'")
        if not self.hparams.sequence_length:
            self.set_sequence_length(0)
        # A sequence too short for the clip is an error now, not in the pipeline.
        self._check_length()

    def _check_length(self) -> None:
        needed = (self.hparams.sequence_length - 1) * (self.hparams.frame_skip + 1) + 1
        if self._max_sequence_length < needed:
            raise InputError(f"{self.reader_name}: {self.filenames[0]}: examples have {self._max_sequence_length} "
                             f"steps; sequence_length={self.hparams.sequence_length}, frame_skip="
                             f"{self.hparams.frame_skip} need {needed}")

    def _infer_shape(self, path: str, example_name: str, name: str,
                     feature: tf.train.Feature) -> Optional[Tuple[int, ...]]:
        kind = _feature_kind(feature)
        if kind == "float_list":
            return (len(feature.float_list.value),)
        if kind != "bytes_list" or len(feature.bytes_list.value) != 1:
            raise InputError(f"{self.reader_name}: {path}: record 0: feature '{name}' must hold one byte string "
                             f"or floats; got {kind} of {len(getattr(feature, kind).value) if kind != 'empty' else 0}")
        data = feature.bytes_list.value[0]
        if self.jpeg_encoding:
            try:
                height, width, channels = (int(v) for v in tf.image.extract_jpeg_shape(data).numpy())
            except DATA_ERRORS:
                raise InputError(f"{self.reader_name}: {path}: record 0: '{name}' is not a JPEG image") from None
            return height, width, channels
        expected = self.state_like_names_and_shapes[example_name][1]
        if expected is not None:
            if len(data) != int(np.prod(expected)):
                raise InputError(f"{self.reader_name}: {path}: record 0: '{name}' holds {len(data)} bytes; "
                                 f"a {'x'.join(map(str, expected))} uint8 image needs {int(np.prod(expected))}")
            return tuple(expected)
        size = math.isqrt(len(data) // 3)
        if not data or size * size * 3 != len(data):
            raise InputError(f"{self.reader_name}: {path}: record 0: '{name}' holds {len(data)} bytes, not a "
                             "square RGB uint8 image (H * W * 3 bytes with H = W)")
        return size, size, 3

    def set_sequence_length(self, sequence_length: int) -> None:
        if not sequence_length:
            sequence_length = (self._max_sequence_length - 1) // (self.hparams.frame_skip + 1) + 1
        self.hparams.sequence_length = sequence_length

    def _feature_spec(self) -> Dict[str, tf.io.FixedLenFeature]:
        spec = {}
        for t in range(self._max_sequence_length):
            for example_name, (pattern, shape) in self.state_like_names_and_shapes.items():
                if example_name == "images":
                    spec[pattern % t] = tf.io.FixedLenFeature([], tf.string)
                else:
                    spec[pattern % t] = tf.io.FixedLenFeature(shape, tf.float32)
        for t in range(self._max_sequence_length - 1):
            for pattern, shape in self.action_like_names_and_shapes.values():
                spec[pattern % t] = tf.io.FixedLenFeature(shape, tf.float32)
        return spec

    def parser(self, serialized, seed):
        features = tf.io.parse_single_example(serialized, self._feature_spec())
        length = self._max_sequence_length
        state_like = OrderedDict()
        for example_name, (pattern, _) in self.state_like_names_and_shapes.items():
            state_like[example_name] = tf.stack([features[pattern % t] for t in range(length)])
        action_like = OrderedDict()
        for example_name, (pattern, _) in self.action_like_names_and_shapes.items():
            action_like[example_name] = tf.stack([features[pattern % t] for t in range(length - 1)])
        state_like["images"] = self.decode_images(state_like["images"], self.state_like_names_and_shapes["images"][1],
                                                  seed)
        t_start = clip_start(length, self.hparams, self.mode, seed)
        return slice_sequences(state_like, action_like, t_start, self.hparams.sequence_length,
                               self.hparams.frame_skip)

    def check_record(self, record: bytes) -> Optional[str]:
        try:
            features = tf.train.Example.FromString(record).features.feature
        except Exception as err:  # protobuf's DecodeError
            return f"not a tf.train.Example ({err})"
        length = self._max_sequence_length
        for table, count in ((self.state_like_names_and_shapes, length),
                             (self.action_like_names_and_shapes, length - 1)):
            for example_name, (pattern, shape) in table.items():
                for t in range(count):
                    name = pattern % t
                    if name not in features:
                        return f"no feature '{name}'"
                    feature = features[name]
                    if example_name == "images":
                        values = feature.bytes_list.value
                        if len(values) != 1:
                            return f"'{name}' must hold one encoded image; got {len(values)} byte strings"
                        if not self.jpeg_encoding and len(values[0]) != int(np.prod(shape)):
                            return (f"'{name}' holds {len(values[0])} bytes; a {'x'.join(map(str, shape))} uint8 "
                                    f"image needs {int(np.prod(shape))}")
                        if self.jpeg_encoding:
                            try:
                                got = tuple(int(v) for v in tf.image.extract_jpeg_shape(values[0]).numpy())
                            except DATA_ERRORS:
                                return f"'{name}' is not a JPEG image"
                            if got[:2] != tuple(shape[:2]):
                                return f"'{name}' is a {got[0]}x{got[1]} JPEG; this dataset needs {shape[0]}x{shape[1]}"
                    elif len(feature.float_list.value) != int(np.prod(shape)):
                        return f"'{name}' holds {len(feature.float_list.value)} floats; needs {int(np.prod(shape))}"
        return None

    def output_shapes(self) -> Dict[str, Tuple[int, ...]]:
        return _output_shapes(self)


def _output_shapes(dataset: SavpVideoDataset) -> Dict[str, Tuple[int, ...]]:
    hp = dataset.hparams
    shapes = {}
    for example_name, (_, shape) in dataset.state_like_names_and_shapes.items():
        if example_name == "images":
            height, width, channels = shape
            if hp.crop_size or hp.scale_size:
                height = width = hp.scale_size or hp.crop_size or min(height, width)
            shapes[example_name] = (hp.sequence_length, height, width, channels)
        else:
            shapes[example_name] = (hp.sequence_length,) + tuple(shape)
    for example_name, (_, shape) in dataset.action_like_names_and_shapes.items():
        shapes[example_name] = (hp.sequence_length - 1, int(np.prod(shape)) * (hp.frame_skip + 1))
    return shapes


class VarLenVideoDataset(SavpVideoDataset):
    """The original's ``VarLenFeatureVideoDataset``: one ``tf.train.Example`` per video with a
    ``sequence_length`` int64 and ``images/encoded`` holding all frames; examples shorter than
    ``sequence_length`` are skipped; a clip is sliced first, then only its frames are decoded.

    Subclasses set ``state_like_names_and_shapes['images'] = ('images/encoded', (H, W, C))``.
    """

    def parse_hparams(self, hparams_dict, hparams):
        parsed = super().parse_hparams(hparams_dict, hparams)
        if parsed.sequence_length < 1:
            raise InputError(f"{self.reader_name}: dataset hparam sequence_length must be >= 1")
        return parsed

    def filter(self, serialized):
        parsed = tf.io.parse_single_example(serialized, {"sequence_length": tf.io.FixedLenFeature([], tf.int64)})
        return tf.greater_equal(parsed["sequence_length"], self.hparams.sequence_length)

    def parser(self, serialized, seed):
        spec = {"sequence_length": tf.io.FixedLenFeature([], tf.int64)}
        for example_name, (name, _) in self.state_like_names_and_shapes.items():
            spec[name] = tf.io.VarLenFeature(tf.string if example_name == "images" else tf.float32)
        for name, _ in self.action_like_names_and_shapes.values():
            spec[name] = tf.io.VarLenFeature(tf.float32)
        features = tf.io.parse_single_example(serialized, spec)
        length = features["sequence_length"]
        state_like = OrderedDict()
        for example_name, (name, shape) in self.state_like_names_and_shapes.items():
            if example_name == "images":
                state_like[example_name] = tf.sparse.to_dense(features[name], "")
            else:
                dense = tf.sparse.to_dense(features[name])
                state_like[example_name] = tf.reshape(dense, tf.concat([[length], tf.constant(shape, tf.int64)], 0))
        action_like = OrderedDict()
        for example_name, (name, shape) in self.action_like_names_and_shapes.items():
            dense = tf.sparse.to_dense(features[name])
            action_like[example_name] = tf.reshape(dense, tf.concat([[length - 1], tf.constant(shape, tf.int64)], 0))
        t_start = clip_start(length, self.hparams, self.mode, seed)
        state_like, action_like = slice_sequences(state_like, action_like, t_start, self.hparams.sequence_length,
                                                  self.hparams.frame_skip)
        state_like["images"] = self.decode_images(state_like["images"], self.state_like_names_and_shapes["images"][1],
                                                  seed)
        return state_like, action_like

    def check_record(self, record: bytes) -> Optional[str]:
        try:
            features = tf.train.Example.FromString(record).features.feature
        except Exception as err:  # protobuf's DecodeError
            return f"not a tf.train.Example ({err})"
        if "sequence_length" not in features or len(features["sequence_length"].int64_list.value) != 1:
            return "no int64 feature 'sequence_length'"
        length = features["sequence_length"].int64_list.value[0]
        name, shape = self.state_like_names_and_shapes["images"]
        if name not in features:
            return f"no feature '{name}'"
        frames = features[name].bytes_list.value
        if len(frames) != length:
            return f"'{name}' holds {len(frames)} frames; sequence_length says {length}"
        for t, data in enumerate(frames):
            if self.jpeg_encoding:
                if not data[:2] == b"\xff\xd8":
                    return f"'{name}' frame {t} is not a JPEG image"
            elif len(data) != int(np.prod(shape)):
                return (f"'{name}' frame {t} holds {len(data)} bytes; a {'x'.join(map(str, shape))} uint8 image "
                        f"needs {int(np.prod(shape))}")
        return None

    def output_shapes(self) -> Dict[str, Tuple[int, ...]]:
        return _output_shapes(self)


def count_from_names(filenames: Sequence[str], prefix: str, reader: str) -> int:
    """Examples counted from ``<prefix>_<a>_to_<b>.tfrecords`` file names (``b - a + 1`` each)."""
    count = 0
    pattern = re.compile(prefix + r"_(\d+)_to_(\d+)\.tfrecords")
    for path in filenames:
        match = pattern.search(os.path.basename(path))
        if match is None:
            raise InputError(f"{reader}: cannot count the examples of {path}: its name is not "
                             f"{prefix}_<first>_to_<last>.tfrecords")
        count += int(match.group(2)) - int(match.group(1)) + 1
    return count


def as_input_dir(paths, reader: str) -> str:
    """The one folder of a registered reader's ``paths`` argument (a string or a one-item list)."""
    if isinstance(paths, (list, tuple)):
        if len(paths) != 1:
            raise InputError(f"{reader}: give one input folder; got {len(paths)}")
        paths = paths[0]
    return os.fspath(paths)


def read_savp(dataset_class: type, reader: str, paths, *, mode: str = "train", batch_size: int,
              hparams_dict: HParamsArg = None, hparams: StringsArg = None, seed: Optional[int] = None,
              num_epochs: Optional[int] = None, validate: bool = False) -> tf.data.Dataset:
    """The registered readers' body: batched dataset of ``dataset_class`` over the folder ``paths``."""
    dataset = dataset_class(as_input_dir(paths, reader), mode=mode, num_epochs=num_epochs, seed=seed,
                            hparams_dict=hparams_dict, hparams=hparams)
    return dataset.make_dataset(batch_size, validate=validate)
