"""The project's own TFRecord format: one ``tf.train.Example`` per video.

Features of one example (format version 1):

=========================  ==========  ====================================================================
feature                    type        content
=========================  ==========  ====================================================================
``video/format_version``   int64 [1]   ``FORMAT_VERSION``; readers refuse newer versions
``video/frames``           bytes [1]   the raw uint8 bytes of the whole ``[T, H, W, C]`` frame array
``video/shape``            int64 [4]   ``[T, H, W, C]``
``video/<key>``            float list  any other entry (``actions``, ``states``, ``poses``, ``masks`` or an
                                       extra float array), flattened in C order
``video/<key>/shape``      int64 list  the shape of that entry
=========================  ==========  ====================================================================

Frames are stored as uint8 because every source dataset is 8-bit video: float frames in [0, 1] are quantised
with ``round(x * 255)`` on writing and come back as ``float32 / 255``. The raw-bytes layout parses with one
``decode_raw`` (no PNG/JPEG decoding on the input path).

tf.data reports a damaged file as a ``DataLossError`` that does not say which file it was;
``find_corrupt_record``, ``raise_with_file`` and ``iterate_checked`` turn it into a ``CorruptRecordError``
that names the file and the record.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Dict, Iterable, Iterator, List, Mapping, NoReturn, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from vidpred_tf.data import batch as batch_lib
from vidpred_tf.data.registry import register_reader
from vidpred_tf.fileio import process_alive

FORMAT_VERSION = 1

VERSION_FEATURE = "video/format_version"
FRAMES_FEATURE = "video/frames"
SHAPE_FEATURE = "video/shape"

# Entry names that would collide with the fixed features above, or make ``video/<key>/shape`` ambiguous.
_RESERVED_KEYS = ("frames", "shape", "format_version")

# Rank of each known contract entry of one (unbatched) example, axes after T included.
_KNOWN_RANKS = {batch_lib.ACTIONS: 2, batch_lib.STATES: 2, batch_lib.POSES: 3, batch_lib.MASKS: 4}

# Errors tf.data raises for a damaged record (framing/CRC) or a payload that does not parse.
DATA_ERRORS = (tf.errors.DataLossError, tf.errors.InvalidArgumentError)


class CorruptRecordError(ValueError):
    """A TFRecord file holds a record that is truncated, fails its CRC, or is not a project video example."""

    def __init__(self, path: str, record_index: int, reason: str):
        self.path = path
        self.record_index = record_index
        self.reason = reason
        super().__init__(f"corrupt TFRecord file {path}: record {record_index}: {reason}")


# --------------------------------------------------------------------------------------------------
# Writing


def _feature_name(key: str) -> str:
    return f"video/{key}"


def _shape_feature_name(key: str) -> str:
    return f"video/{key}/shape"


def _frames_as_uint8(images, where: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"{where}: '{batch_lib.IMAGES}' must be [T, H, W, C]; got shape {images.shape}")
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"{where}: '{batch_lib.IMAGES}' must be uint8 or float in [0, 1]; got {images.dtype}")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{where}: '{batch_lib.IMAGES}' holds NaN or infinite values")
    low, high = float(images.min()), float(images.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(f"{where}: float '{batch_lib.IMAGES}' must lie in [0, 1]; got range [{low}, {high}]")
    return np.round(images.astype(np.float64) * 255.0).astype(np.uint8)


def _check_entry(key: str, value, frames: np.ndarray, where: str) -> np.ndarray:
    if not isinstance(key, str) or not key or "/" in key or key in _RESERVED_KEYS:
        raise ValueError(f"{where}: invalid entry name {key!r} (no '/', not one of {_RESERVED_KEYS})")
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"{where}: entry '{key}' must be numeric; got dtype {array.dtype}")
    if key in _KNOWN_RANKS:
        if array.ndim != _KNOWN_RANKS[key]:
            raise ValueError(f"{where}: entry '{key}' must have rank {_KNOWN_RANKS[key]} with T first; "
                             f"got shape {array.shape}")
        if array.shape[0] != frames.shape[0]:
            raise ValueError(f"{where}: entry '{key}' must have T={frames.shape[0]} steps like "
                             f"'{batch_lib.IMAGES}'; got shape {array.shape}")
        if key == batch_lib.MASKS and array.shape[1:3] != frames.shape[1:3]:
            raise ValueError(f"{where}: entry '{key}' must share H, W {frames.shape[1:3]} of "
                             f"'{batch_lib.IMAGES}'; got shape {array.shape}")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{where}: entry '{key}' holds NaN or infinite values")
    return array


def encode_example(example: Mapping, where: str = "example") -> bytes:
    """Serialize one unbatched video dict (``images`` [T, H, W, C] uint8 or float in [0, 1], other entries
    numeric, T first for the known contract keys) as a project ``tf.train.Example``.

    ``ValueError`` names ``where`` and the offending key.
    """
    if batch_lib.IMAGES not in example:
        raise ValueError(f"{where}: a video example needs an '{batch_lib.IMAGES}' entry; "
                         f"got keys {sorted(example)}")
    frames = _frames_as_uint8(example[batch_lib.IMAGES], where)
    feature = {
        VERSION_FEATURE: tf.train.Feature(int64_list=tf.train.Int64List(value=[FORMAT_VERSION])),
        FRAMES_FEATURE: tf.train.Feature(bytes_list=tf.train.BytesList(value=[frames.tobytes(order="C")])),
        SHAPE_FEATURE: tf.train.Feature(int64_list=tf.train.Int64List(value=list(frames.shape))),
    }
    for key in sorted(k for k in example if k != batch_lib.IMAGES):
        array = _check_entry(key, example[key], frames, where)
        feature[_feature_name(key)] = tf.train.Feature(float_list=tf.train.FloatList(value=array.ravel()))
        feature[_shape_feature_name(key)] = tf.train.Feature(
            int64_list=tf.train.Int64List(value=list(array.shape)))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def shard_paths(output_prefix: str, num_shards: int) -> List[str]:
    """``<prefix>-00000-of-0000N.tfrecord`` ... for ``num_shards`` shards."""
    return [f"{output_prefix}-{index:05d}-of-{num_shards:05d}.tfrecord" for index in range(num_shards)]


def _is_local(path: str) -> bool:
    return "://" not in path


def _remove_quietly(path: str) -> None:
    try:
        tf.io.gfile.remove(path)
    except tf.errors.NotFoundError:
        pass


_TEMP_NAME = re.compile(r"\.tfrecord\.tmp-(\d+)-[0-9a-f]+$")


def remove_stale_temp_files(directory: str) -> List[str]:
    """Delete the ``*.tfrecord.tmp-<pid>-<token>`` files of ``directory`` left by a writer that was killed (its
    process no longer runs on this host); a writer still running keeps its files. Returns the paths removed."""

    removed = []
    if not directory or not _is_local(directory) or not os.path.isdir(directory):
        return removed
    for name in sorted(os.listdir(directory)):
        match = _TEMP_NAME.search(name)
        if match and not process_alive(int(match.group(1))):
            path = os.path.join(directory, name)
            try:
                os.remove(path)
                removed.append(path)
            except FileNotFoundError:
                pass
    return removed


def write_tfrecords(output_prefix: str, examples: Iterable[Mapping], num_shards: int = 1) -> List[str]:
    """Write ``examples`` (unbatched dicts of arrays) to ``num_shards`` files; returns their paths.

    Example ``i`` goes to shard ``i % num_shards``, so reading the shards back with ``read_tfrecords``
    (no file shuffling, up to 64 shards) yields the examples in the order they were written. Every example
    is checked against the batch contract first; the error names the example index and the key. All examples must
    have the same entries, and there must be at least ``num_shards`` of them. Shards are written under
    temporary names and renamed only once every shard is closed, so a crash never leaves a file that looks
    complete.
    """
    if not isinstance(num_shards, int) or num_shards < 1:
        raise ValueError(f"num_shards must be a positive integer; got {num_shards!r}")
    final_paths = shard_paths(output_prefix, num_shards)
    directory = os.path.dirname(output_prefix)
    if directory:
        tf.io.gfile.makedirs(directory)
    remove_stale_temp_files(directory or ".")
    token = uuid.uuid4().hex[:8]
    temp_paths = [f"{path}.tmp-{os.getpid()}-{token}" for path in final_paths]
    writers = [tf.io.TFRecordWriter(path) for path in temp_paths]
    count = 0
    first_keys = None
    try:
        for index, example in enumerate(examples):
            where = f"{output_prefix}: example {index}"
            keys = sorted(example)
            if first_keys is None:
                first_keys = keys
            elif keys != first_keys:
                raise ValueError(f"{where}: entries {keys} differ from those of example 0 {first_keys}")
            writers[index % num_shards].write(encode_example(example, where))
            count += 1
        for writer in writers:
            writer.close()
        if count < num_shards:
            # An empty shard would read as a damaged file (see find_corrupt_record).
            raise ValueError(f"{output_prefix}: {count} examples cannot fill {num_shards} shards")
    except BaseException:
        for writer in writers:
            writer.close()
        for path in temp_paths:
            _remove_quietly(path)
        raise
    for temp, final in zip(temp_paths, final_paths):
        if _is_local(final):
            os.replace(temp, final)
        else:
            tf.io.gfile.rename(temp, final, overwrite=True)
    return final_paths


# --------------------------------------------------------------------------------------------------
# Parsing


def _feature_spec(extra_keys: Sequence[str]) -> Dict[str, object]:
    spec = {
        VERSION_FEATURE: tf.io.FixedLenFeature([1], tf.int64),
        FRAMES_FEATURE: tf.io.FixedLenFeature([], tf.string),
        SHAPE_FEATURE: tf.io.FixedLenFeature([4], tf.int64),
    }
    for key in extra_keys:
        spec[_feature_name(key)] = tf.io.FixedLenSequenceFeature([], tf.float32, allow_missing=True)
        spec[_shape_feature_name(key)] = tf.io.FixedLenSequenceFeature([], tf.int64, allow_missing=True)
    return spec


def parse_example(serialized: tf.Tensor, extra_keys: Sequence[str] = (),
                  shapes: Optional[Mapping[str, Sequence[Optional[int]]]] = None) -> Dict[str, tf.Tensor]:
    """One serialized project example -> ``{"images": float32 [T, H, W, C] in [0, 1], key: float32 ...}``.

    ``extra_keys`` lists the entries besides ``images`` to parse (``keys_in_file`` finds them). ``shapes``
    optionally gives static shapes (``None`` for an unknown axis) set with ``tf.ensure_shape``.
    """
    parsed = tf.io.parse_single_example(serialized, _feature_spec(extra_keys))
    version_ok = tf.debugging.assert_less_equal(
        parsed[VERSION_FEATURE][0], tf.constant(FORMAT_VERSION, tf.int64),
        message=f"video example written by a newer format version than {FORMAT_VERSION}")
    with tf.control_dependencies([version_ok]):
        frames = tf.io.decode_raw(parsed[FRAMES_FEATURE], tf.uint8)
    frames = tf.reshape(frames, parsed[SHAPE_FEATURE])
    example = {batch_lib.IMAGES: tf.cast(frames, tf.float32) / 255.0}
    for key in extra_keys:
        example[key] = tf.reshape(parsed[_feature_name(key)], parsed[_shape_feature_name(key)])
    if shapes:
        for key, shape in shapes.items():
            if key in example:
                example[key] = tf.ensure_shape(example[key], shape)
    return example


def _decode_proto(record: bytes) -> Tuple[Dict[str, Tuple[int, ...]], Optional[str]]:
    """Shapes of the entries of one serialized record, or an explanation of why it is not a project example."""
    try:
        proto = tf.train.Example.FromString(record)
    except Exception as err:  # protobuf raises its own DecodeError type
        return {}, f"not a tf.train.Example ({err})"
    features = proto.features.feature
    for name in (VERSION_FEATURE, FRAMES_FEATURE, SHAPE_FEATURE):
        if name not in features:
            return {}, f"missing feature '{name}' (not a vidpred_tf video example)"
    versions = features[VERSION_FEATURE].int64_list.value
    if len(versions) != 1 or versions[0] > FORMAT_VERSION:
        return {}, f"format version {list(versions)} is not readable by format version {FORMAT_VERSION}"
    shape = tuple(features[SHAPE_FEATURE].int64_list.value)
    frames = features[FRAMES_FEATURE].bytes_list.value
    if len(shape) != 4 or min(shape) < 0:
        return {}, f"'{SHAPE_FEATURE}' must hold 4 sizes; got {list(shape)}"
    if len(frames) != 1 or len(frames[0]) != int(np.prod(shape)):
        size = len(frames[0]) if len(frames) == 1 else None
        return {}, f"'{FRAMES_FEATURE}' holds {size} bytes, shape {list(shape)} needs {int(np.prod(shape))}"
    shapes = {batch_lib.IMAGES: shape}
    for name in features:
        if name.startswith("video/") and name.endswith("/shape") and name != SHAPE_FEATURE:
            key = name[len("video/"):-len("/shape")]
            key_shape = tuple(features[name].int64_list.value)
            values = features[_feature_name(key)].float_list.value if _feature_name(key) in features else []
            if len(values) != int(np.prod(key_shape)):
                return {}, f"'{_feature_name(key)}' holds {len(values)} values, shape {list(key_shape)} needs " \
                           f"{int(np.prod(key_shape))}"
            shapes[key] = key_shape
    return shapes, None


def list_files(file_pattern_or_list: Union[str, Sequence[str]]) -> List[str]:
    """Sorted files of a glob pattern, a comma-separated string or a list; error names what matched nothing."""
    if isinstance(file_pattern_or_list, (str, os.PathLike)):
        patterns = [p for p in str(file_pattern_or_list).split(",") if p]
    else:
        patterns = [str(p) for p in file_pattern_or_list]
    if not patterns:
        raise ValueError(f"no TFRecord files given: {file_pattern_or_list!r}")
    files: List[str] = []
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            raise FileNotFoundError(f"no TFRecord file matches {pattern!r}")
        files.extend(matched)
    return files


def keys_in_file(path: str) -> Dict[str, Tuple[int, ...]]:
    """Entry name -> shape of the first record of ``path`` (``images`` included)."""
    try:
        first = next(iter(tf.data.TFRecordDataset([path]).take(1)), None)
    except DATA_ERRORS as err:
        raise CorruptRecordError(path, 0, _short_message(err)) from err
    if first is None:
        raise ValueError(f"TFRecord file {path} holds no records")
    shapes, problem = _decode_proto(first.numpy())
    if problem:
        raise CorruptRecordError(path, 0, problem)
    return shapes


# --------------------------------------------------------------------------------------------------
# Corrupt files


def _short_message(err: Exception) -> str:
    message = getattr(err, "message", None) or str(err)
    # Drop the "{{function_node ...}}" prefix tf adds; keep the part that says what went wrong.
    if "}}" in message:
        message = message.split("}}", 1)[1]
    return message.split(" [Op:")[0].strip()


def find_corrupt_record(files: Union[str, Sequence[str]],
                        check_format: bool = True) -> Optional[Tuple[str, int, str]]:
    """Scan ``files`` in order; ``(path, record_index, reason)`` of the first bad record, else ``None``.

    A record is bad when its framing is truncated or fails a CRC (what tf.data reports as ``DataLossError``)
    or, with ``check_format``, when it is not a project video example whose byte and value counts agree with
    its stored shapes. An empty file counts as bad (record 0): the writer never produces one. Reads every
    record once, eagerly: meant for validation and for explaining a data error, not for the input path.
    """
    for path in list_files(files):
        index = 0
        try:
            for record in tf.data.TFRecordDataset([path]):
                if check_format:
                    _, problem = _decode_proto(record.numpy())
                    if problem:
                        return path, index, problem
                index += 1
        except DATA_ERRORS as err:
            return path, index, _short_message(err)
        if index == 0:
            return path, 0, "file holds no records"
    return None


def count_records(path: str) -> int:
    """The number of records of one TFRecord file; ``CorruptRecordError`` naming it when its framing is cut or
    fails a CRC (the payloads are not parsed)."""
    count = 0
    try:
        for _ in tf.data.TFRecordDataset([path]):
            count += 1
    except DATA_ERRORS as err:
        raise CorruptRecordError(path, count, _short_message(err)) from err
    return count


def check_record_counts(expected: Mapping[str, int]) -> None:
    """Check that each file holds the number of records its writer recorded (a manifest): ``CorruptRecordError``
    naming the first file that is missing, cut inside a record, or cut at a record boundary (fewer records, which
    tf.data reads without complaint)."""
    for path, wanted in expected.items():
        if not tf.io.gfile.exists(path):
            raise CorruptRecordError(path, 0, "the file is missing")
        found = count_records(path)
        if found != int(wanted):
            raise CorruptRecordError(path, found, f"the file holds {found} records, its manifest says {int(wanted)} "
                                                  f"(cut short?)")


def check_files(files: Union[str, Sequence[str]], check_format: bool = True) -> None:
    """Raise ``CorruptRecordError`` naming the first bad file and record of ``files``."""
    found = find_corrupt_record(files, check_format=check_format)
    if found is not None:
        raise CorruptRecordError(*found)


def error_naming_file(error: Exception, files: Union[str, Sequence[str]]) -> Exception:
    """A ``CorruptRecordError`` naming the bad file and record of ``files`` when one exists, else ``error``.

    Fits the trainer's ``on_data_error``: ``on_data_error=lambda err: error_naming_file(err, files)``.
    """
    found = find_corrupt_record(files)
    return CorruptRecordError(*found) if found is not None else error


def raise_with_file(error: Exception, files: Union[str, Sequence[str]]) -> NoReturn:
    """Re-raise a data ``error`` caught while reading ``files`` as a ``CorruptRecordError`` naming the file.

    When no file of ``files`` has a bad record, the original error is re-raised unchanged (it was not
    caused by the files).
    """
    better = error_naming_file(error, files)
    if better is error:
        raise error
    raise better from error


def iterate_checked(dataset: tf.data.Dataset, files: Union[str, Sequence[str]]) -> Iterator:
    """Iterate ``dataset`` (read from ``files``); a data error becomes a ``CorruptRecordError`` naming the file.

    For Python loops over a dataset; a trainer that iterates itself calls ``error_naming_file`` on the error.
    """
    iterator = iter(dataset)
    while True:
        try:
            element = next(iterator)
        except StopIteration:
            return
        except DATA_ERRORS as err:
            raise_with_file(err, files)
        yield element


# --------------------------------------------------------------------------------------------------
# Reading


def _shard_for_pipeline(files: List[str], input_context) -> Tuple[List[str], bool]:
    """This pipeline's files, and whether elements still need sharding (fewer files than pipelines)."""
    if input_context is None or input_context.num_input_pipelines <= 1:
        return files, False
    if len(files) >= input_context.num_input_pipelines:
        return files[input_context.input_pipeline_id::input_context.num_input_pipelines], False
    return files, True


@register_reader("tfrecord", description="the project TFRecord format (one tf.train.Example per video)")
def read_tfrecords(file_pattern_or_list: Union[str, Sequence[str]], *, shuffle_files: bool = False,
                   seed: Optional[int] = None, num_parallel_reads: int = tf.data.AUTOTUNE,
                   input_context: Optional[tf.distribute.InputContext] = None,
                   extra_keys: Optional[Sequence[str]] = None, static_shapes: bool = True,
                   cycle_length: Optional[int] = None, validate: bool = False) -> tf.data.Dataset:
    """Unbatched examples of project TFRecord files: ``images`` float32 [T, H, W, C] in [0, 1] and the other
    entries the files hold (float32).

    Args:
      file_pattern_or_list: a glob, comma-separated globs or a list of files (sorted per pattern).
      shuffle_files: shuffle the file order (with ``seed``; reshuffled each epoch, deterministically).
      seed: seed of the file shuffle.
      num_parallel_reads: parallel file readers and parse calls (AUTOTUNE by default). The interleave is
        deterministic: the same files and seed give the same order.
      input_context: with several input pipelines, pipeline ``i`` reads files ``i::n``; when there are
        fewer files than pipelines every pipeline reads all files and keeps elements ``i::n``.
      extra_keys: entries to parse besides ``images``; ``None`` takes those of the first record.
      static_shapes: give the examples the static shapes of the first record (what batching needs for a
        static ``[B, T, H, W, C]``); set False for files of videos of different sizes.
      cycle_length: files read at once; default ``len(files)`` up to 64, which with ``shuffle_files=False``
        gives back the writer's order.
      validate: scan every record first (``check_files``) and raise ``CorruptRecordError`` naming a bad
        file; reads all data once, so off by default.
    """
    files = list_files(file_pattern_or_list)
    if validate:
        check_files(files)
    first_shapes = keys_in_file(files[0])
    if extra_keys is None:
        extra_keys = sorted(k for k in first_shapes if k != batch_lib.IMAGES)
    shapes = {k: first_shapes[k] for k in first_shapes if k == batch_lib.IMAGES or k in extra_keys}
    files, shard_elements = _shard_for_pipeline(files, input_context)

    file_dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_files:
        file_dataset = file_dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    cycle = cycle_length or min(len(files), 64)
    dataset = file_dataset.interleave(
        tf.data.TFRecordDataset, cycle_length=cycle, block_length=1,
        num_parallel_calls=num_parallel_reads, deterministic=True)
    if shard_elements:
        dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    extra = tuple(extra_keys)
    static = shapes if static_shapes else None
    return dataset.map(lambda record: parse_example(record, extra, static),
                       num_parallel_calls=num_parallel_reads, deterministic=True)
