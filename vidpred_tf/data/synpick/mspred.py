"""SynpickVP (robot gripper pushing objects in a bin), read as MSPred's ``data/synpick.py`` reads it, channels-last.

On-disk layout, ``<datasets>/SYNPICK/{train,val,test}/``, each folder's files taken in sorted name order:

* ``rgb/``: the frames; a name ends in ``EEEEEE_FFFFFF.xxx`` (episode = characters [-17:-11], frame number =
  characters [-10:-4]);
* ``masks/``: one class-id image per rgb frame, in the same order: 0 background, 1..21 the YCB objects of
  ``SYNPICK_CATEGORIES``, 22 the gripper;
* ``scene_gt/``: one JSON per episode, named ``...EEEEEE_scene_gt.json`` (episode = characters [-20:-14]):
  an object whose values, in file order, are the frames 0, 1, ...; each a list of
  ``{"obj_id": int, "cam_t_m2c": [x, y, z]}``.

A sequence takes every ``seq_step``-th file (2) for ``num_frames`` frames. A start file is valid when its frame
number is at least 72, the last file is in the same episode, the gripper (object 22, its first entry) projects
into [0.01, 0.99]^2 at the first and last frame (``x = px / 615 + 0.5``, ``y = py / 373 + 0.5``, a point outside
[0, 1)^2 becoming (0, 0)), and, over the consecutive sampled frames, at least 67% of the gripper's xy moves are
longer than 1.0 and all are shorter than 30.0. Starts are scanned in order; in train/val a start must be at
least ``span // 4`` files after the previous accepted one, in test at least ``span`` (no overlap).

Items: frames divided by 255 and resized (bilinear, half-pixel centres, no antialias: torchvision 0.12's
``Resize`` on tensors) to ``img_size``; masks resized with PyTorch's legacy nearest rule and one-hot encoded into
23 channels; level 2 is the sum of sigma-4 blobs at every gripper entry's projected position.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
from PIL import Image

from vidpred_tf.data.heatmaps import HeatmapGenerator
from vidpred_tf.data.mspred_items import item_examples
from vidpred_tf.data.registry import register_reader

SYNPICK_CATEGORIES = (
    "master_chef_can", "cracker_box", "sugar_box", "tomato_soup_can", "mustard_bottle", "tuna_fish_can",
    "pudding_box", "gelatin_box", "potted_meat_can", "banana", "pitcher_base", "bleach_cleanser", "bowl", "mug",
    "power_drill", "wood_block", "scissors", "large_marker", "large_clamp", "extra_large_clamp", "foam_brick",
    "gripper")
NUM_CLASSES = len(SYNPICK_CATEGORIES)  # object ids 1..22; id 0 is the background
NUM_HMAP_CHANNELS = (NUM_CLASSES + 1, 1)
GRIPPER_OBJ_ID = NUM_CLASSES
BIN_SIZE = (373, 615)  # (height, width) of the bin in the cam_t units
SKIP_FIRST_N = 72  # the gripper is not yet in view in the first frames of an episode
GRIPPER_VALID_OFFSET = 0.01
MIN_GRIPPER_MOVE = 1.0
MAX_GRIPPER_MOVE = 30.0
MOVING_FRACTION = 0.67
SEQ_STEP = 2
GRIPPER_SIGMA = 4.0
SPLITS = ("train", "val", "test")

ObjectPoses = List[Dict[int, List[Sequence[float]]]]


def episode_of_frame_file(name: str) -> int:
    """Episode number of an rgb/mask file name (characters [-17:-11], as the original slices them)."""
    return _number_at(name, -17, -11, "episode")


def frame_number_of_file(name: str) -> int:
    """Frame number of an rgb/mask file name (characters [-10:-4])."""
    return _number_at(name, -10, -4, "frame number")


def episode_of_scene_file(name: str) -> int:
    """Episode number of a ``scene_gt`` file name (characters [-20:-14])."""
    return _number_at(name, -20, -14, "episode")


def _number_at(name: str, start: int, stop: int, what: str) -> int:
    text = os.path.basename(name)[start:stop]
    if len(text) != stop - start or not text.isdigit():
        raise ValueError(f"SynpickVP file name {name!r}: characters [{start}:{stop}] should be the {what} "
                         f"(6 digits), got {text!r}")
    return int(text)


def to_image_plane(position) -> Tuple[float, float]:
    """A cam_t position projected to normalised bin coordinates; (0, 0) ("missing") outside [0, 1)^2."""
    bin_height, bin_width = BIN_SIZE
    x, y = position[0] / bin_width + 0.5, position[1] / bin_height + 0.5
    return (x, y) if (0 <= x < 1.0 and 0 <= y < 1.0) else (0.0, 0.0)


def read_scene_gt(path: str) -> ObjectPoses:
    """One episode's ``scene_gt`` JSON as a list (frame order of the file) of {obj_id: [cam_t, ...]}."""
    with open(path, "r", encoding="utf-8") as handle:
        try:
            episode = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"SynpickVP scene file {path} is not valid JSON: {error}") from error
    if not isinstance(episode, dict):
        raise ValueError(f"SynpickVP scene file {path} must hold a JSON object keyed by frame")
    frames = []
    for key, entries in episode.items():
        objects = defaultdict(list)
        for entry in entries:
            try:
                objects[int(entry["obj_id"])].append([float(v) for v in entry["cam_t_m2c"]])
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"SynpickVP scene file {path}, frame {key!r}: each object needs an integer "
                                 f"'obj_id' and a 3-vector 'cam_t_m2c' ({error!r})") from error
        frames.append(objects)
    return frames


def find_valid_starts(frame_files: Sequence[str], object_poses: Dict[int, ObjectPoses], num_frames: int,
                      seq_step: int = SEQ_STEP, allow_overlap: bool = True, source: str = "SynpickVP") -> List[int]:
    """Indices into ``frame_files`` (sorted rgb names) where a valid sequence starts (module docstring)."""
    span = (num_frames - 1) * seq_step + 1
    min_distance = span // 4 if allow_overlap else span
    offsets = range(0, num_frames * seq_step, seq_step)
    lower, upper = GRIPPER_VALID_OFFSET, 1.0 - GRIPPER_VALID_OFFSET
    starts = []
    last_start = -span
    for start in range(len(frame_files) - span + 1):
        if start < last_start + min_distance:
            continue
        names = [frame_files[start + offset] for offset in offsets]
        episodes = [episode_of_frame_file(name) for name in names]
        frame_numbers = [frame_number_of_file(name) for name in names]
        if frame_numbers[0] < SKIP_FIRST_N or episodes[0] != episodes[-1]:
            continue
        # The first gripper entry of every sampled frame (a frame without one is an error, as in the original).
        gripper = []
        for name, number in zip(names, frame_numbers):
            positions = _gripper_positions(object_poses, episodes[0], number, name, source)
            if not positions:
                raise ValueError(f"{source}: no gripper (obj_id {GRIPPER_OBJ_ID}) in the scene of {name}")
            gripper.append(positions[0])
        inside = True
        for position in (gripper[0], gripper[-1]):
            x, y = to_image_plane(position)
            inside = inside and lower <= x <= upper and lower <= y <= upper
        if not inside:
            continue
        moves = [gripper_move(old, new) for old, new in zip(gripper, gripper[1:])]
        moving = sum(move > MIN_GRIPPER_MOVE for move in moves) >= MOVING_FRACTION * len(moves)
        if not (moving and all(move < MAX_GRIPPER_MOVE for move in moves)):
            continue
        starts.append(start)
        last_start = start
    return starts


def gripper_move(old, new) -> float:
    """The xy distance between two gripper positions, computed as the original does (``sqrt(dx*dx + dy*dy)``,
    not ``math.hypot``, which rounds differently in the last bit and can flip the 1.0 / 30.0 threshold tests)."""
    x_diff, y_diff = new[0] - old[0], new[1] - old[1]
    return math.sqrt(x_diff * x_diff + y_diff * y_diff)


def _gripper_positions(object_poses, episode: int, frame_number: int, name: str, source: str):
    if episode not in object_poses:
        raise ValueError(f"{source}: no scene_gt file for episode {episode} (frame file {name})")
    frames = object_poses[episode]
    if frame_number >= len(frames):
        raise ValueError(f"{source}: the scene_gt of episode {episode} has {len(frames)} frames, but {name} is "
                         f"frame {frame_number}")
    return frames[frame_number].get(GRIPPER_OBJ_ID, [])


def _source_index(in_size: int, out_size: int) -> np.ndarray:
    """Bilinear source coordinates of the output pixels (half-pixel centres, clamped at 0), float32 like torch."""
    scale = np.float32(in_size) / np.float32(out_size)
    source = scale * (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5)
    return np.maximum(source, np.float32(0.0))


def _linear_taps(in_size: int, out_size: int):
    source = _source_index(in_size, out_size)
    low = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    weight_high = np.clip(source - low.astype(np.float32), 0.0, 1.0).astype(np.float32)
    return low, high, np.float32(1.0) - weight_high, weight_high


def resize_bilinear(images: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """(N, H, W, C) float32 -> (N, h, w, C) as torch ``interpolate(mode="bilinear", align_corners=False,
    antialias=False)``."""
    images = np.asarray(images, np.float32)
    row_low, row_high, row_w0, row_w1 = _linear_taps(images.shape[1], size[0])
    col_low, col_high, col_w0, col_w1 = _linear_taps(images.shape[2], size[1])
    top, bottom = images[:, row_low], images[:, row_high]
    row_w0, row_w1 = row_w0[None, :, None, None], row_w1[None, :, None, None]
    col_w0, col_w1 = col_w0[None, None, :, None], col_w1[None, None, :, None]
    return (row_w0 * (col_w0 * top[:, :, col_low] + col_w1 * top[:, :, col_high])
            + row_w1 * (col_w0 * bottom[:, :, col_low] + col_w1 * bottom[:, :, col_high])).astype(np.float32)


def nearest_indices(in_size: int, out_size: int) -> np.ndarray:
    """PyTorch's legacy "nearest" source pixels: floor(dst * in / out) in float32, capped at in - 1."""
    scale = np.float32(in_size) / np.float32(out_size)
    source = np.floor(np.arange(out_size, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(source, in_size - 1)


def resize_nearest(images: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """(N, H, W, ...) -> (N, h, w, ...) with PyTorch's legacy nearest rule (torchvision ``NEAREST``)."""
    rows = nearest_indices(images.shape[1], size[0])
    cols = nearest_indices(images.shape[2], size[1])
    return images[:, rows][:, :, cols]


def _read_image(path: str, what: str) -> np.ndarray:
    with Image.open(path) as image:
        if what == "frame" and image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGB")
        pixels = np.asarray(image)
    if what == "frame":
        return pixels[:, :, :3]
    if pixels.ndim != 2:
        raise ValueError(f"SynpickVP mask {path} must be a 2-D class-id image; got shape {pixels.shape}")
    return pixels


def _list_folder(path: str) -> List[str]:
    if not os.path.isdir(path):
        raise FileNotFoundError(f"SynpickVP folder {path} does not exist")
    return sorted(os.listdir(path))


def synpick_split_dir(root, split: str) -> str:
    """``<root>/SYNPICK/<split>`` (``root`` = the datasets folder), or ``<root>/<split>`` when ``root`` is the
    SYNPICK folder itself."""
    root = os.fspath(root)
    direct = os.path.join(root, split)
    if not os.path.isdir(os.path.join(root, "SYNPICK")) and os.path.isdir(os.path.join(direct, "rgb")):
        return direct
    return os.path.join(root, "SYNPICK", split)


class SynpickDataset:
    """One split of SynpickVP (module docstring).

    ``ds[i]`` -> {"frames": float32 (T, H, W, 3) in [0, 1], "heatmaps": [float32 one-hot (T, H, W, 23), float32
    gripper blob (T, H, W, 1)], "class_name": ""} with (H, W) = ``img_size``.
    """

    NUM_HMAP_CHANNELS = list(NUM_HMAP_CHANNELS)
    STRUCT_TYPE = ["SEGMENTATION_MAPS", "KEYPOINT_BLOBS"]
    CATEGORIES = SYNPICK_CATEGORIES

    def __init__(self, root, split: str, num_frames: int, img_size=(64, 112), seq_step: int = SEQ_STEP):
        if split not in SPLITS:
            raise ValueError(f"SynpickVP split must be one of {SPLITS}; got {split!r}")
        if isinstance(img_size, (int, np.integer)) or len(img_size) != 2:
            raise ValueError(f"SynpickVP img_size must be a [height, width] pair (the config has [64, 112]); "
                             f"got {img_size!r}")
        self.img_size = (int(img_size[0]), int(img_size[1]))
        if self.img_size[0] > self.img_size[1]:
            raise ValueError(f"SynpickVP img_size {list(self.img_size)} must not be taller than wide")
        if int(num_frames) < 2:
            raise ValueError(f"SynpickVP num_frames must be at least 2; got {num_frames!r}")
        self.data_dir = synpick_split_dir(root, split)
        if not os.path.isdir(self.data_dir):
            raise FileNotFoundError(f"SynpickVP dataset does not exist in {self.data_dir}")
        self.split = split
        self.num_frames = int(num_frames)
        self.seq_step = int(seq_step)

        self.frame_files = _list_folder(os.path.join(self.data_dir, "rgb"))
        self.mask_files = _list_folder(os.path.join(self.data_dir, "masks"))
        scene_files = _list_folder(os.path.join(self.data_dir, "scene_gt"))
        if len(self.mask_files) != len(self.frame_files):
            raise ValueError(f"SynpickVP {self.data_dir}: {len(self.frame_files)} files in rgb/ but "
                             f"{len(self.mask_files)} in masks/ (one mask per frame expected)")
        self.object_poses: Dict[int, ObjectPoses] = {}
        for name in scene_files:
            self.object_poses[episode_of_scene_file(name)] = read_scene_gt(
                os.path.join(self.data_dir, "scene_gt", name))
        self.valid_starts = find_valid_starts(self.frame_files, self.object_poses, self.num_frames, self.seq_step,
                                              allow_overlap=(split != "test"), source=self.data_dir)
        if not self.valid_starts:
            raise ValueError(f"SynpickVP {self.data_dir} has no valid {self.num_frames}-frame sequence "
                             f"({len(self.frame_files)} frames)")

    def __len__(self) -> int:
        return len(self.valid_starts)

    def frame_indices(self, i: int) -> List[int]:
        start = self.valid_starts[i]
        return list(range(start, start + (self.num_frames - 1) * self.seq_step + 1, self.seq_step))

    def __getitem__(self, i: int) -> dict:
        if not -len(self) <= i < len(self):
            raise IndexError(f"SynpickVP {self.split} item {i} out of range ({len(self)} items)")
        indices = self.frame_indices(i % len(self))
        frames = np.stack([
            (_read_image(os.path.join(self.data_dir, "rgb", self.frame_files[k]), "frame") / 255.0)
            for k in indices]).astype(np.float32)
        frames = resize_bilinear(frames, self.img_size)
        masks = np.stack([_read_image(os.path.join(self.data_dir, "masks", self.mask_files[k]), "mask")
                          for k in indices])
        masks = resize_nearest(masks, self.img_size).astype(np.int64)
        if masks.min() < 0 or masks.max() >= NUM_HMAP_CHANNELS[0]:
            raise ValueError(f"SynpickVP masks of item {i} in {self.data_dir} hold class ids outside "
                             f"0..{NUM_HMAP_CHANNELS[0] - 1} (min {masks.min()}, max {masks.max()})")
        one_hot = np.eye(NUM_HMAP_CHANNELS[0], dtype=np.float32)[masks]
        return {"frames": frames, "heatmaps": [one_hot, self.gripper_heatmaps(indices)], "class_name": ""}

    def gripper_heatmaps(self, indices: Sequence[int]) -> np.ndarray:
        """(T, H, W, 1) float32: the sigma-4 blobs of every gripper entry of each frame, summed."""
        episode = episode_of_frame_file(self.frame_files[indices[0]])
        maps = np.zeros((len(indices), *self.img_size, 1), np.float32)
        for step, k in enumerate(indices):
            name = self.frame_files[k]
            positions = _gripper_positions(self.object_poses, episode, frame_number_of_file(name), name,
                                           self.data_dir)
            if positions:
                generator = HeatmapGenerator(self.img_size, len(positions), GRIPPER_SIGMA)
                maps[step, :, :, 0] = generator([to_image_plane(p) for p in positions]).sum(axis=-1)
        return maps

    def get_heatmap_weights(self, w_easy_kpts: float = 1.0, w_hard_kpts: float = 1.0) -> list:
        return []

    def get_num_hmap_channels(self) -> List[int]:
        return list(NUM_HMAP_CHANNELS)

    def get_struct_type(self) -> List[str]:
        return list(self.STRUCT_TYPE)


@register_reader("synpick_mspred", description="SynpickVP (SYNPICK/<split>/{rgb,masks,scene_gt}), MSPred's sequences "
                                                "with segmentation and gripper maps")
def read_synpick(path, *, split: str = "test", num_frames: int = 20, img_size: Sequence[int] = (64, 112),
                 seq_step: int = SEQ_STEP) -> tf.data.Dataset:
    """Unbatched examples (``images`` float32 [num_frames, H, W, 3] in [0, 1] with (H, W) = ``img_size``,
    ``heatmap_1`` the 23-class one-hot masks, ``heatmap_2`` the gripper blob, ``class_id`` -1) of
    :class:`SynpickDataset`, in the order of the valid starts.

    ``path``: the datasets folder (holding ``SYNPICK/<split>``) or the SYNPICK folder itself.
    """
    return item_examples(SynpickDataset(path, split, num_frames, img_size=tuple(img_size), seq_step=seq_step))
