"""KTH-Actions with body-keypoint heat maps, read as MSPred's ``data/kth_action.py`` reads it (channels-last).

On-disk layout, ``<datasets>/KTH_<img>/processed/<class>/``:

* ``{train,test}_meta<img>x<img>.t7``: Denton's Torch7 list of videos, each a table with ``vid`` (the frame
  folder name) and ``files`` (a list of sequences, each a list of frame file names);
* ``{train,test}_keypoints<img>x<img>.json``: ``{"<vid>/<frame file>": [[x, y] x 10]}``, normalised
  coordinates of the OpenPose BODY keypoints ``KPOINTS`` in that order, (0, 0) meaning missing (an empty list
  means all missing);
* ``<vid>/<frame file>``: the RGB frames (``image-001_64x64.png`` ...).

Sequences are enumerated class by class (``KTH_CLASSES`` order), video by video, sequence by sequence, keeping
those with at least ``num_frames`` frames, or at least 29 for walking/running/jogging (padded by repeating the
last frame and heat maps). ``train`` and ``val`` both come from the train files: the index list is shuffled
with Python's ``random`` seeded 13 (the original trainer seeds the global generator with 13 and builds the
train split first, which shuffles a list shared with val) and cut at 98%. ``test`` uses the test files in
order. The first frame is ``randint(0, len - num_frames)`` from ``rng`` (train/val; the global ``random`` as
in the original unless given) or from a fresh ``random.Random(1234)`` per item (test). Train/val items are
flipped horizontally when ``rng.randint(0, 1) == 0`` (drawn after the first frame), swapping the left/right
keypoint channels. Level-1 maps are the first 9 keypoints, level 2 the last (neck), both sigma 1.

Unlike the original, the train/val split does not depend on which split is built first: each
object shuffles its own copy of the list with ``random.Random(split_seed)``, which equals the original's order
when the global generator was freshly seeded with 13 before the train split was built, as in ``02_train.py``.
"""

from __future__ import annotations

import json
import os
import random
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
from PIL import Image

from vidpred_tf.data.heatmaps import HeatmapGenerator
from vidpred_tf.data.mspred_items import item_examples
from vidpred_tf.data.registry import register_reader
from vidpred_tf.data.torch7 import read_torch7, write_torch7

KTH_CLASSES = ("boxing", "handclapping", "handwaving", "walking", "running", "jogging")
# OpenPose BODY keypoint ids in channel order; the last one (neck) is the level-2 target.
KPOINTS = (0, 2, 5, 4, 7, 9, 12, 10, 13, 1)
KPOINT_TO_CHANNEL = {kpoint: channel for channel, kpoint in enumerate(KPOINTS)}
# Left/right keypoint pairs exchanged by a horizontal flip.
SWAP_PAIRS = ((2, 5), (4, 7), (9, 12), (10, 13))
HARD_KPOINTS_PER_CLASS = {
    "boxing": (4, 7),
    "handclapping": (4, 7),
    "handwaving": (4, 7),
    "walking": (9, 12, 10, 13),
    "running": (9, 12, 10, 13),
    "jogging": (9, 12, 10, 13),
}
SHORT_CLASSES = ("walking", "running", "jogging")
MIN_SHORT_SEQUENCE_LENGTH = 29
NUM_HMAP_CHANNELS = (len(KPOINTS) - 1, 1)
HEATMAP_SIGMA = 1
TRAIN_FRACTION = 0.98
SPLIT_SHUFFLE_SEED = 13
TEST_FIRST_FRAME_SEED = 1234
SPLITS = ("train", "val", "test")


def flip_channel_order() -> List[int]:
    """Level-1 channel permutation applied with a horizontal flip: [0, 2, 1, 4, 3, 6, 5, 8, 7]."""
    order = list(range(NUM_HMAP_CHANNELS[0]))
    for left, right in SWAP_PAIRS:
        a, b = KPOINT_TO_CHANNEL[left], KPOINT_TO_CHANNEL[right]
        order[a], order[b] = order[b], order[a]
    return order


def heatmap_weights(w_easy: float = 1.0, w_hard: float = 1.0) -> Dict[str, List[float]]:
    """Per-class weights of the 9 level-1 channels for the weighted keypoint loss: ``w_hard`` for the class's
    hard keypoints (wrists for the arm classes; knees and ankles for the leg classes), ``w_easy`` elsewhere."""
    weights = {}
    for class_name in KTH_CLASSES:
        class_weights = [float(w_easy)] * NUM_HMAP_CHANNELS[0]
        for kpoint in HARD_KPOINTS_PER_CLASS[class_name]:
            class_weights[KPOINT_TO_CHANNEL[kpoint]] = float(w_hard)
        weights[class_name] = class_weights
    return weights


def kth_processed_dir(root, img_size: int = 64) -> str:
    """The folder holding the class folders: ``root`` itself when it has them, else
    ``<root>/KTH_<img_size>/processed`` (``root`` being the datasets folder, as in the original)."""
    root = os.fspath(root)
    if all(os.path.isdir(os.path.join(root, class_name)) for class_name in KTH_CLASSES):
        return root
    return os.path.join(root, f"KTH_{img_size}", "processed")


def meta_file(processed_dir: str, class_name: str, file_split: str, img_size: int) -> str:
    return os.path.join(processed_dir, class_name, f"{file_split}_meta{img_size}x{img_size}.t7")


def keypoints_file(processed_dir: str, class_name: str, file_split: str, img_size: int) -> str:
    return os.path.join(processed_dir, class_name, f"{file_split}_keypoints{img_size}x{img_size}.json")


def _as_text(value, path: str, what: str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise ValueError(f"{path}: {what} must be a string, got {type(value).__name__}")


def read_kth_meta(path: str) -> List[Tuple[str, List[List[str]]]]:
    """Denton's ``*_meta<img>x<img>.t7`` as ``[(video folder, [[frame file, ...], ...]), ...]``."""
    videos = read_torch7(path)
    if videos == {}:
        videos = []
    if not isinstance(videos, list):
        raise ValueError(f"{path}: expected a Torch7 list of videos, got {type(videos).__name__}")
    parsed = []
    for position, video in enumerate(videos):
        if not isinstance(video, dict) or b"vid" not in video or b"files" not in video:
            raise ValueError(f"{path}: video {position + 1} is not a table with the keys 'vid' and 'files'")
        name = _as_text(video[b"vid"], path, f"video {position + 1} 'vid'")
        # An empty Lua table reads as an empty dict, not an empty list.
        sequences = [] if video[b"files"] == {} else video[b"files"]
        if not isinstance(sequences, list):
            raise ValueError(f"{path}: 'files' of video {name} must be a list of frame-file lists")
        frame_lists = []
        for seq in sequences:
            seq = [] if seq == {} else seq
            if not isinstance(seq, list):
                raise ValueError(f"{path}: 'files' of video {name} must be a list of frame-file lists")
            frame_lists.append([_as_text(frame, path, f"a frame name of video {name}") for frame in seq])
        parsed.append((name, frame_lists))
    return parsed


def write_kth_meta(path: str, videos: Sequence[Tuple[str, Sequence[Sequence[str]]]]) -> None:
    """Write ``[(video folder, [[frame file, ...], ...]), ...]`` as a Denton-style Torch7 meta file."""
    table = [{b"vid": name.encode("utf-8"), b"files": [[frame.encode("utf-8") for frame in seq] for seq in seqs]}
             for name, seqs in videos]
    write_torch7(path, table)


def is_valid_sequence(length: int, class_name: str, num_frames: int) -> bool:
    """Long enough for ``num_frames``, or a walking/running/jogging sequence of at least 29 (padded)."""
    padded = class_name in SHORT_CLASSES and length >= MIN_SHORT_SEQUENCE_LENGTH
    return length >= num_frames or padded


def split_positions(num_sequences: int, split: str, seed: int = SPLIT_SHUFFLE_SEED) -> List[int]:
    """Indices into the valid-sequence list served by ``split``: the shuffled list's first 98% for train, the
    rest for val; test keeps the original order."""
    positions = list(range(num_sequences))
    if split == "test":
        return positions
    random.Random(seed).shuffle(positions)
    train_length = int(num_sequences * TRAIN_FRACTION)
    return positions[:train_length] if split == "train" else positions[train_length:]


def _read_rgb(path: str, img_size: int) -> np.ndarray:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"KTH frame {path} does not exist")
    with Image.open(path) as image:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, np.newaxis], 3, axis=2)
    if pixels.shape[:2] != (img_size, img_size):
        raise ValueError(f"KTH frame {path} is {pixels.shape[1]}x{pixels.shape[0]}, expected {img_size}x{img_size}")
    return pixels


class KTHActionsDataset:
    """One split of KTH-Actions with keypoint heat maps (see the module docstring).

    ``ds[i]`` -> {"frames": float32 (T, H, W, C) in [0, 1], "heatmaps": [float32 (T, H, W, 9), float32
    (T, H, W, 1)], "class_name": str}.
    """

    NUM_HMAP_CHANNELS = list(NUM_HMAP_CHANNELS)
    STRUCT_TYPE = "KEYPOINT_BLOBS"
    CLASSES = KTH_CLASSES

    def __init__(self, root, split: str, num_frames: int, img_size: int = 64, num_channels: int = 3,
                 horiz_flip_aug: bool = True, split_seed: int = SPLIT_SHUFFLE_SEED, rng=None):
        if split not in SPLITS:
            raise ValueError(f"KTH split must be one of {SPLITS}; got {split!r}")
        if num_channels not in (1, 3):
            raise ValueError(f"KTH num_channels must be 1 or 3; got {num_channels!r}")
        if int(num_frames) < 1:
            raise ValueError(f"KTH num_frames must be positive; got {num_frames!r}")
        self.data_root = kth_processed_dir(root, img_size)
        if not os.path.isdir(self.data_root):
            raise FileNotFoundError(f"KTH data does not exist in {self.data_root}")
        self.split = split
        self.num_frames = int(num_frames)
        self.img_size = int(img_size)
        self.num_channels = num_channels
        self.horiz_flip_aug = horiz_flip_aug and split != "test"
        self.rng = random if rng is None else rng
        self.file_split = "test" if split == "test" else "train"

        self.videos: Dict[str, List[Tuple[str, List[List[str]]]]] = {}
        self.keypoints: Dict[str, dict] = {}
        self.keypoint_paths: Dict[str, str] = {}
        for class_name in KTH_CLASSES:
            self.videos[class_name] = read_kth_meta(
                meta_file(self.data_root, class_name, self.file_split, self.img_size))
            path = keypoints_file(self.data_root, class_name, self.file_split, self.img_size)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"KTH keypoint file {path} does not exist")
            with open(path, "r", encoding="utf-8") as handle:
                try:
                    self.keypoints[class_name] = json.load(handle)
                except json.JSONDecodeError as error:
                    raise ValueError(f"KTH keypoint file {path} is not valid JSON: {error}") from error
            self.keypoint_paths[class_name] = path
        self.generators = [HeatmapGenerator((self.img_size, self.img_size), channels, HEATMAP_SIGMA)
                           for channels in NUM_HMAP_CHANNELS]

        self.sequences: List[Tuple[str, int, int]] = [
            (class_name, video_index, seq_index)
            for class_name in KTH_CLASSES
            for video_index, (_, seqs) in enumerate(self.videos[class_name])
            for seq_index, seq in enumerate(seqs)
            if is_valid_sequence(len(seq), class_name, self.num_frames)]
        self.positions = split_positions(len(self.sequences), split, split_seed)

    def __len__(self) -> int:
        return len(self.positions)

    def sequence_length(self, i: int) -> int:
        class_name, video_index, seq_index = self.sequences[self.positions[i]]
        return len(self.videos[class_name][video_index][1][seq_index])

    def __getitem__(self, i: int) -> dict:
        if not -len(self) <= i < len(self):
            raise IndexError(f"KTH {self.split} item {i} out of range ({len(self)} items)")
        i = i % len(self)
        length = self.sequence_length(i)
        first_frame = 0
        if length > self.num_frames:
            draw = random.Random(TEST_FIRST_FRAME_SEED) if self.split == "test" else self.rng
            first_frame = draw.randint(0, length - self.num_frames)
        flip = self.horiz_flip_aug and self.rng.randint(0, 1) == 0
        return self.load_item(i, first_frame, flip)

    def load_item(self, i: int, first_frame: int = 0, flip: bool = False) -> dict:
        """Item ``i`` starting at ``first_frame``, optionally flipped; no randomness."""
        class_name, video_index, seq_index = self.sequences[self.positions[i]]
        video_name, seqs = self.videos[class_name][video_index]
        seq = seqs[seq_index]
        if not 0 <= first_frame <= max(0, len(seq) - self.num_frames):
            raise ValueError(f"first_frame {first_frame} does not fit a {len(seq)}-frame sequence for "
                             f"{self.num_frames} frames")
        size, steps = self.img_size, self.num_frames
        frames = np.zeros((steps, size, size, self.num_channels), np.float32)
        level_1 = np.zeros((steps, size, size, NUM_HMAP_CHANNELS[0]), np.float32)
        level_2 = np.zeros((steps, size, size, NUM_HMAP_CHANNELS[1]), np.float32)
        last_frame = min(len(seq), first_frame + steps) - 1
        class_keypoints = self.keypoints[class_name]
        for source in range(first_frame, last_frame + 1):
            step = source - first_frame
            pixels = _read_rgb(os.path.join(self.data_root, class_name, video_name, seq[source]), size)
            # Divided in float64 like the original, then stored as float32.
            frames[step] = (pixels / 255.0)[:, :, :self.num_channels]
            key = f"{video_name}/{seq[source]}"
            frame_keypoints = class_keypoints.get(key)
            path = self.keypoint_paths[class_name]
            if frame_keypoints is None:
                raise KeyError(f"KTH keypoint file {path} has no entry {key!r}")
            # An empty entry (no person detected) gives empty heat maps, as in the original; other lengths fail.
            if len(frame_keypoints) not in (0, len(KPOINTS)):
                raise ValueError(f"KTH keypoint file {path}: entry {key!r} has {len(frame_keypoints)} keypoints, "
                                 f"expected {len(KPOINTS)} (or none)")
            try:
                level_1[step] = self.generators[0](frame_keypoints[:-1])
                level_2[step] = self.generators[1](frame_keypoints[-1:])
            except ValueError as error:
                raise ValueError(f"KTH keypoint file {path}, entry {key!r}: {error}") from error
        # Short sequences (then first_frame is 0): repeat the last real frame and its heat maps.
        last_step = last_frame - first_frame
        frames[last_step + 1:] = frames[last_step]
        level_1[last_step + 1:] = level_1[last_step]
        level_2[last_step + 1:] = level_2[last_step]
        if flip:
            frames, level_1, level_2 = horizontal_flip(frames, level_1, level_2)
        return {"frames": frames, "heatmaps": [level_1, level_2], "class_name": class_name}

    def get_heatmap_weights(self, w_easy_kpts: float = 1.0, w_hard_kpts: float = 1.0) -> Dict[str, List[float]]:
        return heatmap_weights(w_easy_kpts, w_hard_kpts)

    def get_num_hmap_channels(self) -> List[int]:
        return list(NUM_HMAP_CHANNELS)

    def get_struct_type(self) -> str:
        return self.STRUCT_TYPE


def horizontal_flip(frames: np.ndarray, level_1: np.ndarray, level_2: np.ndarray):
    """Mirror (T, H, W, C) frames and heat maps along W and swap the left/right level-1 channels."""
    order = flip_channel_order()
    return (np.ascontiguousarray(frames[:, :, ::-1]),
            np.ascontiguousarray(level_1[:, :, ::-1][..., order]),
            np.ascontiguousarray(level_2[:, :, ::-1]))


@register_reader("kth_mspred", description="KTH Actions frames with OpenPose keypoint heat maps, MSPred's layout "
                                            "(KTH_<img>/processed)")
def read_kth_keypoints(path, *, split: str = "test", num_frames: int = 20, img_size: int = 64,
                       num_channels: int = 3) -> tf.data.Dataset:
    """Unbatched examples (``images`` float32 [num_frames, img_size, img_size, num_channels] in [0, 1],
    ``heatmap_1`` the 9 body keypoints, ``heatmap_2`` the neck, ``class_id`` the position in ``KTH_CLASSES``) of
    :class:`KTHActionsDataset`, in the split's order.

    ``path``: the datasets folder (holding ``KTH_<img_size>/processed``) or the folder of the class folders.
    Train and val items draw their first frame and flip from Python's global ``random``, as the original.
    """
    return item_examples(KTHActionsDataset(path, split, num_frames, img_size=img_size, num_channels=num_channels),
                         KTH_CLASSES)
