"""Moving MNIST: digits bouncing in a square canvas, generated deterministically from a seed.

The motion follows the generator of Srivastava et al. (2015): each digit starts at a uniform random position
of the free range ``[0, image_size - digit_size]`` (expressed in [0, 1]), moves in a uniform random direction
by ``step_length`` of that range per frame, and at a wall is clamped to the wall with the velocity component
across it reversed. Every frame, the first one included, shows the position after a step. Digits are drawn
at ``floor(position * (image_size - digit_size))`` and overlapping digits combine by pixel-wise maximum, so a
frame stays in [0, 255] and a digit is never brighter where it crosses another.

Randomness comes only from ``np.random.default_rng(seed)`` (never the global NumPy or TF state). Splits use
disjoint digit sets (``vidpred_tf.data.moving_mnist.digits``) and independent streams: split ``train`` uses the seed
``[seed, 0]``, ``test`` ``[seed, 1]``, both in ``write_moving_mnist_tfrecords`` and in the on-the-fly reader,
so the two give the same sequences.

Readers registered here: ``moving_mnist`` (generated on the fly) and ``mnist_test_seq`` (the standard
``mnist_test_seq.npy`` of Srivastava et al., uint8 ``[20, 10000, 64, 64]``, time first).
Examples carry ``images`` float32 [T, H, W, 1]; generated ones also ``trajectories`` float32
[T, num_digits, 2] (top-left pixel (row, column) of each digit) and ``digit_indices`` float32 [num_digits]
(the digits' indices in their source, see ``MnistDigits.indices``).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from vidpred_tf.data import batch as batch_lib
from vidpred_tf.data.moving_mnist import digits as mnist_digits
from vidpred_tf.data.registry import register_reader
from vidpred_tf.data.tfrecord import write_tfrecords

TRAJECTORIES = "trajectories"
DIGIT_INDICES = "digit_indices"
_SPLIT_STREAM = {"train": 0, "test": 1}

Seed = Union[int, Sequence[int]]


@dataclasses.dataclass(frozen=True)
class MovingMNISTConfig:
    """Shape and motion of generated sequences.

    ``step_length``: distance per frame as a fraction of the free range ``image_size - digit_size``.
    """

    num_digits: int = 2
    seq_length: int = 20
    image_size: int = 64
    digit_size: int = 28
    step_length: float = 0.1

    def __post_init__(self):
        for name in ("num_digits", "seq_length", "image_size", "digit_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"MovingMNISTConfig.{name} must be a positive integer; got {value!r}")
        if self.image_size < self.digit_size:
            raise ValueError(f"MovingMNISTConfig.image_size {self.image_size} is smaller than digit_size "
                             f"{self.digit_size}")
        if not np.isfinite(self.step_length) or self.step_length < 0:
            raise ValueError(f"MovingMNISTConfig.step_length must be finite and >= 0; got {self.step_length!r}")

    @property
    def free_range(self) -> int:
        """Largest top-left pixel coordinate of a digit."""
        return self.image_size - self.digit_size


class MovingMNISTDraw(NamedTuple):
    positions: np.ndarray  # int64 [N, T, num_digits, 2], top-left pixel (row, column)
    digit_ids: np.ndarray  # int64 [N, num_digits], indices into the digit array


def bouncing_trajectories(num_sequences: int, config: MovingMNISTConfig, rng: np.random.Generator) -> np.ndarray:
    """Positions in the unit square, float64 ``[N, T, num_digits, 2]`` as (row, column) fractions of the free
    range, of digits bouncing off the walls (see module docstring).

    Draws from ``rng`` in a fixed order: start positions ``[N, D, 2]``, then direction angles ``[N, D]``.
    """
    shape = (num_sequences, config.num_digits)
    position = rng.random(shape + (2,))
    angle = rng.random(shape) * 2.0 * np.pi
    velocity = np.stack([np.sin(angle), np.cos(angle)], axis=-1)
    track = np.empty((num_sequences, config.seq_length) + shape[1:] + (2,))
    for t in range(config.seq_length):
        position = position + velocity * config.step_length
        below, above = position <= 0.0, position >= 1.0
        velocity = np.where(below | above, -velocity, velocity)
        position = np.clip(position, 0.0, 1.0)
        track[:, t] = position
    return track


def sample_moving_mnist(num_digits_available: int, num_sequences: int, config: MovingMNISTConfig,
                        seed: Seed) -> MovingMNISTDraw:
    """The random part of ``num_sequences`` sequences: pixel trajectories and which digits move."""
    if num_sequences < 0:
        raise ValueError(f"num_sequences must be >= 0; got {num_sequences}")
    if num_digits_available < 1:
        raise ValueError("no MNIST digits to draw from")
    rng = np.random.default_rng(seed)
    unit = bouncing_trajectories(num_sequences, config, rng)
    digit_ids = rng.integers(num_digits_available, size=(num_sequences, config.num_digits))
    positions = np.floor(unit * config.free_range).astype(np.int64)
    return MovingMNISTDraw(positions, digit_ids)


def render_sequences(digits: np.ndarray, positions: np.ndarray, digit_ids: np.ndarray,
                     image_size: int) -> np.ndarray:
    """uint8 videos ``[N, T, image_size, image_size, 1]``: digit ``digit_ids[n, d]`` pasted at
    ``positions[n, t, d]`` (top-left row, column), overlaps combined by maximum."""
    digits = np.asarray(digits)
    if digits.dtype != np.uint8 or digits.ndim != 3:
        raise ValueError(f"digits must be uint8 [M, h, w]; got {digits.dtype} {digits.shape}")
    height, width = digits.shape[1:]
    num_sequences, length, num_digits = positions.shape[:3]
    videos = np.zeros((num_sequences, length, image_size, image_size, 1), np.uint8)
    for n in range(num_sequences):
        for d in range(num_digits):
            digit = digits[digit_ids[n, d]]
            for t in range(length):
                row, col = positions[n, t, d]
                patch = videos[n, t, row:row + height, col:col + width, 0]
                np.maximum(patch, digit, out=patch)
    return videos


def generate_moving_mnist(digits: np.ndarray, num_sequences: int, config: MovingMNISTConfig = MovingMNISTConfig(),
                          seed: Seed = 0) -> Tuple[np.ndarray, np.ndarray]:
    """``(videos uint8 [N, T, H, W, 1], trajectories float32 [N, T, num_digits, 2])`` from ``digits`` (uint8
    [M, 28, 28]); trajectories are the top-left pixel (row, column) of each digit. Same seed, same output."""
    digits = np.asarray(digits)
    if digits.ndim != 3 or digits.shape[1:] != (config.digit_size, config.digit_size):
        raise ValueError(f"digits must be [M, {config.digit_size}, {config.digit_size}]; got {digits.shape}")
    draw = sample_moving_mnist(len(digits), num_sequences, config, seed)
    videos = render_sequences(digits, draw.positions, draw.digit_ids, config.image_size)
    return videos, draw.positions.astype(np.float32)


def _split_seed(seed: int, split: str) -> List[int]:
    if split not in _SPLIT_STREAM:
        raise ValueError(f"Moving MNIST split must be one of {sorted(_SPLIT_STREAM)}; got {split!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"Moving MNIST seed must be a non-negative integer; got {seed!r}")
    return [int(seed), _SPLIT_STREAM[split]]


def _iterate_chunks(digits: mnist_digits.MnistDigits, num_sequences: int, config: MovingMNISTConfig,
                    seed: Seed, chunk_size: int) -> Iterator[Dict[str, np.ndarray]]:
    """Batches of at most ``chunk_size`` generated examples; the draw happens up front, so the result does not
    depend on ``chunk_size``."""
    if digits.images.shape[1:] != (config.digit_size, config.digit_size):
        raise ValueError(f"MNIST digits are {digits.images.shape[1:]}, config.digit_size is {config.digit_size}")
    draw = sample_moving_mnist(len(digits.images), num_sequences, config, seed)
    for start in range(0, num_sequences, chunk_size):
        part = slice(start, start + chunk_size)
        yield {
            batch_lib.IMAGES: render_sequences(digits.images, draw.positions[part], draw.digit_ids[part],
                                               config.image_size),
            TRAJECTORIES: draw.positions[part].astype(np.float32),
            DIGIT_INDICES: digits.indices[draw.digit_ids[part]].astype(np.float32),
        }


def _config_with(config: Optional[MovingMNISTConfig], overrides) -> MovingMNISTConfig:
    config = config or MovingMNISTConfig()
    try:
        return dataclasses.replace(config, **overrides)
    except TypeError as err:
        fields = [f.name for f in dataclasses.fields(MovingMNISTConfig)]
        raise TypeError(f"unknown Moving MNIST option in {sorted(overrides)}; known: {fields}") from err


def write_moving_mnist_tfrecords(out_dir: str, num_train: int, num_test: int,
                                 config: Optional[MovingMNISTConfig] = None, seed: int = 0, num_shards: int = 1,
                                 data_dir: Optional[str] = None, source: str = "auto",
                                 chunk_size: int = 256) -> Dict[str, List[str]]:
    """Write ``num_train`` train and ``num_test`` test sequences in the project TFRecord format.

    Files: ``<out_dir>/moving_mnist-<split>-0000i-of-0000n.tfrecord``. Train sequences use only train digits,
    test sequences only test digits (``load_mnist_digits(split, data_dir, source)``). A split with 0 sequences
    is skipped. Returns ``{"train": [files], "test": [files]}``.
    """
    config = config or MovingMNISTConfig()
    written: Dict[str, List[str]] = {}
    for split, count in (("train", num_train), ("test", num_test)):
        if count < 0:
            raise ValueError(f"number of {split} sequences must be >= 0; got {count}")
        if count == 0:
            written[split] = []
            continue
        digits = mnist_digits.load_mnist_digits(split, data_dir=data_dir, source=source)
        chunks = _iterate_chunks(digits, count, config, _split_seed(seed, split), chunk_size)
        examples = ({key: value[i] for key, value in chunk.items()}
                    for chunk in chunks for i in range(len(chunk[batch_lib.IMAGES])))
        written[split] = write_tfrecords(os.path.join(out_dir, f"moving_mnist-{split}"), examples,
                                         num_shards=num_shards)
    return written


def _shard(dataset: tf.data.Dataset, input_context) -> tf.data.Dataset:
    if input_context is not None and input_context.num_input_pipelines > 1:
        return dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    return dataset


def _uint8_to_unit(example):
    example = dict(example)
    example[batch_lib.IMAGES] = tf.cast(example[batch_lib.IMAGES], tf.float32) / 255.0
    return example


@register_reader("moving_mnist", description="Moving MNIST generated on the fly from real MNIST digits")
def read_moving_mnist(split: str = "train", *, num_sequences: int = 10000, seed: int = 0,
                      config: Optional[MovingMNISTConfig] = None, data_dir: Optional[str] = None,
                      source: str = "auto", input_context: Optional[tf.distribute.InputContext] = None,
                      chunk_size: int = 64, **config_fields) -> tf.data.Dataset:
    """``num_sequences`` unbatched Moving MNIST examples of ``split``, generated as the dataset is iterated.

    Same sequences as ``write_moving_mnist_tfrecords`` with the same seed and config. ``config_fields``
    (``num_digits``, ``seq_length``, ``image_size``, ``step_length``...) override fields of ``config``. Each
    pass over the dataset regenerates the same sequences. With several input pipelines each keeps every
    ``n``-th example.
    """
    config = _config_with(config, config_fields)
    split_seed = _split_seed(seed, split)
    digits = mnist_digits.load_mnist_digits(split, data_dir=data_dir, source=source)
    length, size = config.seq_length, config.image_size
    signature = {
        batch_lib.IMAGES: tf.TensorSpec([None, length, size, size, 1], tf.uint8),
        TRAJECTORIES: tf.TensorSpec([None, length, config.num_digits, 2], tf.float32),
        DIGIT_INDICES: tf.TensorSpec([None, config.num_digits], tf.float32),
    }
    dataset = tf.data.Dataset.from_generator(
        lambda: _iterate_chunks(digits, num_sequences, config, split_seed, chunk_size), output_signature=signature)
    dataset = _shard(dataset.unbatch(), input_context)
    return dataset.map(_uint8_to_unit, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _open_test_seq(path: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Moving MNIST file {path} does not exist (datasets/download_moving_mnist.sh "
                                f"downloads mnist_test_seq.npy)")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as err:
        raise ValueError(f"{path} is not a readable .npy file: {err}") from err
    layout_ok = isinstance(array, np.ndarray) and array.dtype == np.uint8 and array.ndim == 4
    if not layout_ok or array.shape[2:] != (64, 64):
        shape = getattr(array, "shape", None)
        dtype = getattr(array, "dtype", type(array).__name__)
        raise ValueError(f"{path}: expected mnist_test_seq layout uint8 [T, N, 64, 64] (time first); "
                         f"got {dtype} {shape}")
    return array


@register_reader("mnist_test_seq", description="the standard mnist_test_seq.npy (uint8 [20, 10000, 64, 64])")
def read_mnist_test_seq(path: str, *, input_context: Optional[tf.distribute.InputContext] = None,
                        chunk_size: int = 256) -> tf.data.Dataset:
    """Unbatched examples ``images`` float32 [T, 64, 64, 1] of ``mnist_test_seq.npy`` (uint8 [T, N, 64, 64],
    time first), in file order. ``ValueError`` names the file when it has another layout."""
    path = os.fspath(path)
    array = _open_test_seq(path)
    length, count = array.shape[:2]
    del array

    def chunks():
        frames = np.load(path, mmap_mode="r")
        for start in range(0, count, chunk_size):
            part = np.asarray(frames[:, start:start + chunk_size])  # [T, n, 64, 64]
            yield {batch_lib.IMAGES: np.ascontiguousarray(part.transpose(1, 0, 2, 3)[..., None])}

    signature = {batch_lib.IMAGES: tf.TensorSpec([None, length, 64, 64, 1], tf.uint8)}
    dataset = tf.data.Dataset.from_generator(chunks, output_signature=signature)
    dataset = _shard(dataset.unbatch(), input_context)
    return dataset.map(_uint8_to_unit, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
