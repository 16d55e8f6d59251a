"""The TFRecord format EPVA (Wichers et al. 2018, ``prediction_input.py``) reads, shared by its two datasets.

One ``tf.train.Example`` per video; for every read frame ``i`` in ``range(0, sequence_length, skip_num)`` (always
from frame 0, no temporal crop): ``image_{i}`` one JPEG of any size, and for ``dataset_type='robot'`` also
``state_{i}`` [pose_dim], ``action_{i}`` [pose_dim] and ``joint_positions_{i}`` [joint_pos_dim] float32. Human
records hold images only; their actions and poses are zeros (the original never reads human poses).

Frames are resized to 64x64 with TF1's legacy bicubic kernel (``half_pixel_centers=False``, no clipping, so values
overshoot [0, 1] a little) and divided by 255. The batches are the original's: ``images`` [B, T, 64, 64, 3],
``actions`` [B, T, pose_dim], ``joint_poses`` [B, T, joint_pos_dim + pose_dim] = concat(joint positions, state).
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import tensorflow as tf

from vidpred_tf.errors import InputError, MissingInputError

IMAGE_SIZE = 64
DATASET_TYPES = ("robot", "human")
HUE_MAX_DELTA = 0.5
DATA_ERRORS = (tf.errors.DataLossError, tf.errors.InvalidArgumentError)


def frame_indices(sequence_length: int, skip_num: int) -> List[int]:
    """The stored frame indices one sequence reads."""
    return list(range(0, int(sequence_length), int(skip_num)))


def feature_spec(dataset_type: str, sequence_length: int, skip_num: int, pose_dim: int = 5,
                 joint_pos_dim: int = 7) -> Dict[str, tf.io.FixedLenFeature]:
    """Every key one record must hold (all required, as the original's FixedLenFeatures without default)."""
    spec: Dict[str, tf.io.FixedLenFeature] = {}
    for i in frame_indices(sequence_length, skip_num):
        spec[f"image_{i}"] = tf.io.FixedLenFeature([1], tf.string)
        if dataset_type == "robot":
            spec[f"state_{i}"] = tf.io.FixedLenFeature([pose_dim], tf.float32)
            spec[f"action_{i}"] = tf.io.FixedLenFeature([pose_dim], tf.float32)
            spec[f"joint_positions_{i}"] = tf.io.FixedLenFeature([joint_pos_dim], tf.float32)
    return spec


def legacy_bicubic_resize(image: tf.Tensor, size: int = IMAGE_SIZE) -> tf.Tensor:
    """TF1 ``resize_images(BICUBIC)`` of one [H, W, C] image: float32, legacy kernel, unclipped; an image already
    ``size`` x ``size`` comes back unchanged (cast to float32), as TF1 returned it."""
    image = tf.convert_to_tensor(image)
    shape = tf.shape(image)

    def resize():
        return tf.raw_ops.ResizeBicubic(images=image[None], size=[size, size], align_corners=False,
                                        half_pixel_centers=False)[0]

    def keep():
        return tf.cast(image, tf.float32)

    return tf.cond(tf.logical_and(tf.equal(shape[0], size), tf.equal(shape[1], size)), keep, resize)


def list_epva_files(file_pattern: Union[str, Sequence[str]], reader: str = "epva") -> List[str]:
    """Sorted files of a glob (or comma-separated globs, or a list); ``MissingInputError`` naming the pattern."""
    patterns = ([p for p in str(file_pattern).split(",") if p] if isinstance(file_pattern, str)
                else [str(p) for p in file_pattern])
    files: List[str] = []
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            raise MissingInputError(f"{reader}: no TFRecord file matches {pattern!r}")
        files.extend(matched)
    if not files:
        raise MissingInputError(f"{reader}: no TFRecord files given ({file_pattern!r})")
    return files


def _short(err: BaseException) -> str:
    message = getattr(err, "message", None) or str(err)
    if "}}" in message:
        message = message.split("}}", 1)[1]
    return message.split(" [Op:")[0].strip().splitlines()[0] if message.strip() else type(err).__name__


def find_bad_record(files: Sequence[str], spec: Dict[str, tf.io.FixedLenFeature],
                    max_records: Optional[int] = None) -> Optional[Tuple[str, int, str]]:
    """``(path, record, reason)`` of the first record that is cut/corrupt, not an Example, lacks a key of
    ``spec`` or holds a key of the wrong size; ``None`` when all are fine. Reads eagerly (validation only);
    ``max_records`` limits the records checked per file."""
    for path in files:
        index = 0
        try:
            for record in tf.data.TFRecordDataset([path]):
                if max_records is not None and index >= max_records:
                    break
                try:
                    example = tf.train.Example.FromString(record.numpy())
                except Exception:  # noqa: BLE001 - any decode failure means the record is not an Example
                    return path, index, "record is not a tf.train.Example"
                features = example.features.feature
                for key, feat in spec.items():
                    if key not in features:
                        return path, index, f"missing key {key!r}"
                    value = features[key]
                    if feat.dtype == tf.string:
                        count, kind = len(value.bytes_list.value), "bytes"
                    else:
                        count, kind = len(value.float_list.value), "floats"
                    if count != feat.shape[0]:
                        return path, index, f"key {key!r} holds {count} {kind}, expected {feat.shape[0]}"
                index += 1
        except DATA_ERRORS as err:
            return path, index, f"corrupt or truncated record ({_short(err)})"
        if index == 0:
            return path, 0, "file holds no records"
    return None


def check_epva_files(files: Sequence[str], spec: Dict[str, tf.io.FixedLenFeature], reader: str = "epva",
                     max_records: Optional[int] = None) -> None:
    """``InputError`` in one line naming the first bad file, record and key."""
    found = find_bad_record(files, spec, max_records)
    if found is not None:
        path, index, reason = found
        raise InputError(f"{reader}: {path}: record {index}: {reason}")


def error_naming_file(error: BaseException, files: Sequence[str], spec: Dict[str, tf.io.FixedLenFeature],
                      reader: str = "epva") -> BaseException:
    """For a data error met while reading ``files``: an ``InputError`` naming the bad file, record and key when
    one of the files has one, else ``error`` itself (fits the trainer's ``on_data_error``)."""
    found = find_bad_record(files, spec)
    if found is None:
        return error
    path, index, reason = found
    better = InputError(f"{reader}: {path}: record {index}: {reason}")
    better.__cause__ = error
    return better


def iterate_checked(dataset: tf.data.Dataset, files: Sequence[str], spec: Dict[str, tf.io.FixedLenFeature],
                    reader: str = "epva") -> Iterator[Dict[str, tf.Tensor]]:
    """Iterate ``dataset``; a data error (a cut record past the first, a missing key) becomes the one-line
    ``InputError`` of :func:`error_naming_file`."""
    iterator = iter(dataset)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except DATA_ERRORS as err:
            raise error_naming_file(err, files, spec, reader) from err
        yield batch


def _decode_frames(parsed: Dict[str, tf.Tensor], indices: Sequence[int]) -> tf.Tensor:
    frames = []
    for i in indices:
        image = tf.io.decode_jpeg(parsed[f"image_{i}"][0], channels=3)
        frames.append(legacy_bicubic_resize(image) / 255.0)
    images = tf.stack(frames)
    return tf.ensure_shape(images, [len(indices), IMAGE_SIZE, IMAGE_SIZE, 3])


def epva_dataset(file_pattern, dataset_type: str, sequence_length: int, skip_num: int, batch_size: int,
                 pose_dim: int = 5, joint_pos_dim: int = 7, shuffle: bool = True, color_data_augment: bool = False,
                 seed: Optional[int] = None, validate: Union[bool, str] = "first",
                 reader: str = "epva", repeat: Optional[bool] = None) -> tf.data.Dataset:
    """Batches as the original ``get_input_fn_queue`` (``shuffle=True``: files and records shuffled, repeated
    forever) or the notebook's ``get_input_fn_queue_determ`` (``shuffle=False``: files and records in order,
    one pass unless ``repeat``). Batches are ``drop_remainder`` (the model tiles a learned state over a static
    batch).

    ``repeat`` (default: ``shuffle``) loops over the files forever, as both original queue readers did.
    ``validate``: ``"first"`` checks the first record of every file for the keys (fast), ``True`` every record,
    ``False`` nothing; a problem is one ``InputError`` line naming the file, record and key.
    """
    if dataset_type not in DATASET_TYPES:
        raise InputError(f"{reader}: dataset_type must be one of {', '.join(DATASET_TYPES)}; got {dataset_type!r}")
    for name, value in (("sequence_length", sequence_length), ("skip_num", skip_num), ("batch_size", batch_size)):
        if int(value) < 1:
            raise InputError(f"{reader}: {name} must be a positive integer; got {value!r}")
    files = list_epva_files(file_pattern, reader)
    indices = frame_indices(sequence_length, skip_num)
    spec = feature_spec(dataset_type, sequence_length, skip_num, pose_dim, joint_pos_dim)
    if validate:
        check_epva_files(files, spec, reader, max_records=None if validate is True else 1)
    num_frames = len(indices)
    # A seeded shuffled reader repeats its order; an unseeded one may hand records over as they are ready.
    ordered = (not shuffle) or seed is not None

    def parse(serialized):
        parsed = tf.io.parse_single_example(serialized, spec)
        images = _decode_frames(parsed, indices)
        if dataset_type == "robot":
            actions = tf.stack([parsed[f"action_{i}"] for i in indices])
            states = tf.stack([parsed[f"state_{i}"] for i in indices])
            joints = tf.stack([parsed[f"joint_positions_{i}"] for i in indices])
        else:
            actions = tf.zeros([num_frames, pose_dim], tf.float32)
            states = tf.zeros([num_frames, pose_dim], tf.float32)
            joints = tf.zeros([num_frames, joint_pos_dim], tf.float32)
        return {"images": images, "actions": actions, "joint_poses": tf.concat([joints, states], axis=-1)}

    file_ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        file_ds = file_ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if shuffle if repeat is None else repeat:
        file_ds = file_ds.repeat()
    if shuffle:
        records = file_ds.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(files)),
                                     num_parallel_calls=tf.data.AUTOTUNE, deterministic=ordered)
    else:
        records = file_ds.flat_map(tf.data.TFRecordDataset)
    if shuffle:
        # The original's shuffle_batch kept capacity 200*B records and dequeued once 10*B were in.
        records = records.shuffle(200 * int(batch_size), seed=None if seed is None else seed + 1)
    examples = records.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=ordered)
    if color_data_augment:
        examples = examples.enumerate().map(_hue_augmenter(seed))
    return examples.batch(int(batch_size), drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _hue_augmenter(seed: Optional[int]):
    """One random hue delta in [-0.5, 0.5] per sequence (all frames alike), from ``seed`` and the example's
    position in the stream (stateless, so a seeded run repeats)."""
    base = 0 if seed is None else int(seed)
    unseeded = seed is None

    def augment(position, example):
        if unseeded:
            delta = tf.random.uniform([], -HUE_MAX_DELTA, HUE_MAX_DELTA)
        else:
            delta = tf.random.stateless_uniform([], tf.stack([tf.constant(base, tf.int64), position]),
                                                -HUE_MAX_DELTA, HUE_MAX_DELTA)
        out = dict(example)
        out["images"] = tf.image.adjust_hue(example["images"], delta)
        return out

    return augment
