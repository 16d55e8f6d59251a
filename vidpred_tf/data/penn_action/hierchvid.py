"""Penn Action as Villegas et al. 2017 (hierchvid) read it, after ``datasets/hierchvid/penn_action_preprocess.py``.

Layout under the data directory (``./datasets/PennAction`` in the original)::

    frames/NNNN/######_cropped.png   crops of the union box (any size, BGR)
    labels/NNNN.npz                  x, y (frames x 13, crop pixels), visibility (frames x 13, 0/1), bbox (frames x 4,
                                     constant rows [x1, y1, x2, y2] of the crop), nframes [[F]], action ['name']
    hourglass/NNNN.npz               test poses: x, y in [0, 1] of the crop, visibility, nframes, action
    train_list.txt, test_list.txt, train_subset_list.txt, test_subset_list.txt   lines ./datasets/PennAction/frames/NNNN

Entries of a list are resolved with :func:`vidpred_tf.data.hierchvid_files.resolve_entry` (``data_dir`` replaces
``./datasets/PennAction``); the labels and hourglass files sit beside ``frames/`` (``NNNN`` = the entry's last part).

Batches (batch axis first; registered as ``penn_action_hierchvid``):

* LSTM (``train_subset_list``): ``seq`` float32 [B, seen+fut, 26] = [x0..x12, y0..y12] with x divided by the crop
  *height* and y by the crop *width* (quirk of the original), then ``2v - 1``; ``mask`` float32 [B, seen+fut, 13]
  (the visibility); ``action`` int32 [B] (index in :data:`CLASSES`). The window starts at ``U{0..nframes-42}``;
  shorter videos start at 0 and repeat their last frame. An epoch shuffles the list and drops the last incomplete
  batch.
* image generator (``train_list``, all 15 classes): ``xt``, ``xtpn`` float32 [B, 128, 128, 3] in [-1, 1] (BGR),
  ``pt``, ``ptpn`` float32 [B, 128, 128, 48] limb maps (drawn at crop resolution, then resized).
* With ``contract_images`` an ``images`` float32 [B, T, H, W, C] entry is added for the default batch check of the
  shared trainer (:func:`vidpred_tf.data.batch.validate_batch`, used unless the Task overrides ``validate_inputs``):
  on by default for the image generator (``(stack([xt, xtpn], 1) + 1) / 2``, BGR), off for the LSTM (whose Task
  checks ``seq``/``mask`` itself; when on it is zeros [B, seen+fut, 1, 1, 1]: the LSTM has no frames).

See :mod:`vidpred_tf.data.hierchvid_files` for the randomness (explicit seeds instead of global state).
"""

from __future__ import annotations

import os
from typing import Dict, Iterator, List, Optional

import numpy as np
import tensorflow as tf

from vidpred_tf.data import hierchvid_files as files
from vidpred_tf.data import pose_maps
from vidpred_tf.data.registry import register_reader
from vidpred_tf.errors import InputError

READER = "penn_action_hierchvid"
DATASET_FOLDER = "PennAction"
NUM_JOINTS = 13
NUM_CHANNELS = pose_maps.PENN_NUM_CHANNELS
CLASSES: Dict[str, int] = {
    "baseball_pitch": 0, "baseball_swing": 1, "clean_and_jerk": 2, "golf_swing": 3, "jumping_jacks": 4,
    "jump_rope": 5, "tennis_forehand": 6, "tennis_serve": 7}
LIST_FILES = {"lstm_train": "train_subset_list.txt", "imggen_train": "train_list.txt", "test": "test_subset_list.txt",
              "all_train": "train_list.txt", "all_test": "test_list.txt"}
CROPPED_SUFFIX = "cropped.png"
SEEN_STEP, FUT_STEP, IMGGEN_STEPS, TEST_FUT_STEP = 10, 32, 30, 64
LABEL_KEYS = ("x", "y", "visibility", "bbox", "nframes", "action")


def default_list(data_dir: str, role: str) -> str:
    """The original's list file for ``role`` (one of :data:`LIST_FILES`) inside ``data_dir``."""
    return os.path.join(os.fspath(data_dir), LIST_FILES[role])


def video_paths(frames_dir: str) -> Dict[str, str]:
    """``frames``, ``labels`` and ``hourglass`` paths of the video whose frame directory is ``frames_dir``."""
    frames_dir = os.fspath(frames_dir).rstrip("/")
    video = os.path.basename(frames_dir)
    root = os.path.dirname(os.path.dirname(frames_dir))
    return {"frames": frames_dir, "labels": os.path.join(root, "labels", video + ".npz"),
            "hourglass": os.path.join(root, "hourglass", video + ".npz"), "video": video}


def read_entries(list_path: str, data_dir: Optional[str] = None) -> List[str]:
    """Frame directories of a Penn list file (first whitespace token of each line, resolved)."""
    return [files.resolve_entry(entry, data_dir, DATASET_FOLDER) for entry in files.read_list(list_path, True)]


def class_index(path: str, action: str) -> int:
    if action not in CLASSES:
        raise InputError(f"{path}: action {action!r} is not one of the 8 classes of the subset lists "
                         f"({', '.join(CLASSES)})")
    return CLASSES[action]


def read_labels(path: str, with_bbox: bool = True) -> Dict[str, object]:
    """A labels .npz (or, without ``with_bbox``, an hourglass one): x, y, visibility as [frames, 13] arrays, bbox,
    nframes (int), action (str)."""
    keys = [key for key in LABEL_KEYS if with_bbox or key != "bbox"]
    arrays = files.load_npz(path, keys)
    files.check_rows(path, arrays, ("x", "y", "visibility"), NUM_JOINTS)
    labels: Dict[str, object] = dict(arrays)
    labels["nframes"] = files.first_int(path, "nframes", arrays["nframes"])
    labels["action"] = files.first_str(path, "action", arrays["action"])
    if "bbox" in arrays:
        bbox = np.asarray(arrays["bbox"])
        if bbox.ndim != 2 or bbox.shape[1] != 4 or bbox.shape[0] < 1:
            raise InputError(f"{path}: key 'bbox' must be [frames, 4]; got {bbox.shape}")
    return labels


# --------------------------------------------------------------------------------------------------- pose LSTM
def load_lstm_videos(list_path: str, data_dir: Optional[str] = None) -> List[Dict[str, object]]:
    """The labels of every video of ``list_path`` normalised as the LSTM trainer does (x by the crop height, y by
    the crop width: quirk), plus ``class`` (index in :data:`CLASSES`) and ``path``."""
    videos = []
    for frames_dir in read_entries(list_path, data_dir):
        path = video_paths(frames_dir)["labels"]
        labels = read_labels(path)
        bbox = labels["bbox"]
        height = 1.0 * bbox[0, 3] - bbox[0, 1]
        width = 1.0 * bbox[0, 2] - bbox[0, 0]
        if height == 0 or width == 0:
            raise InputError(f"{path}: key 'bbox' has an empty crop {bbox[0].tolist()}")
        videos.append({"x": labels["x"] / height, "y": labels["y"] / width, "visibility": labels["visibility"],
                       "nframes": labels["nframes"], "action": labels["action"],
                       "class": class_index(path, labels["action"]), "path": path})
    return videos


def _pad_to(rows: np.ndarray, length: int) -> np.ndarray:
    """Repeat the last row of ``rows`` up to ``length`` rows."""
    missing = length - rows.shape[0]
    return rows if missing <= 0 else np.concatenate([rows, np.tile(rows[-1], (missing, 1))], axis=0)


def lstm_window(video: Dict[str, object], seen_step: int, fut_step: int,
                rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """One training window: ``seq`` [seen+fut, 26] and ``mask`` [seen+fut, 13] (float32)."""
    length = seen_step + fut_step
    nframes = video["nframes"]
    start = 0 if nframes < length else int(rng.integers(0, nframes - length + 1))
    posex = 2 * video["x"][start:start + length] - 1.
    posey = 2 * video["y"][start:start + length] - 1.
    visible = video["visibility"][start:start + length]
    if posex.shape[0] == 0:
        raise InputError(f"{video['path']}: no frame at window start {start} (nframes={nframes})")
    posex, posey, visible = _pad_to(posex, length), _pad_to(posey, length), _pad_to(visible, length)
    return {"seq": np.concatenate([posex, posey], axis=1).astype(np.float32),
            "mask": np.asarray(visible, dtype=np.float32)}


def lstm_batches(videos: List[Dict[str, object]], batch_size: int, seen_step: int = SEEN_STEP,
                 fut_step: int = FUT_STEP, rng=None, contract_images: bool = False) -> Iterator[Dict[str, np.ndarray]]:
    """One epoch of LSTM batches over ``videos`` (from :func:`load_lstm_videos`)."""
    rng = files.make_rng(rng)
    for indices in files.epoch_batches(len(videos), batch_size, rng):
        windows = [lstm_window(videos[i], seen_step, fut_step, rng) for i in indices]
        batch = files.stack_samples(windows)
        batch["action"] = np.asarray([videos[i]["class"] for i in indices], dtype=np.int32)
        if contract_images:
            batch = files.add_contract_images(batch, np.zeros((batch_size, seen_step + fut_step, 1, 1, 1)))
        yield batch


def lstm_dataset(list_path: str, data_dir: Optional[str] = None, *, batch_size: int = 256,
                 seen_step: int = SEEN_STEP, fut_step: int = FUT_STEP, seed=None, epochs: Optional[int] = None,
                 contract_images: bool = False) -> tf.data.Dataset:
    """Batched LSTM training data (see the module docstring); ``epochs=None`` repeats forever."""
    videos = load_lstm_videos(list_path, data_dir)
    if len(videos) < batch_size:
        raise InputError(f"{list_path}: {len(videos)} videos, fewer than one batch of {batch_size}")
    generate = files.epoch_stream(
        lambda rng: lstm_batches(videos, batch_size, seen_step, fut_step, rng, contract_images), epochs, seed)
    return files.generator_dataset(
        generate, files.lstm_signature(batch_size, seen_step, fut_step, NUM_JOINTS, contract_images))


# --------------------------------------------------------------------------------------------- image generator
def pose_map_at(labels: Dict[str, object], frame: int, shape, image_size: int) -> np.ndarray:
    """The 48-channel map of ``frame`` drawn at ``shape`` (the crop) and resized to ``image_size`` (float64)."""
    posex, posey = 1.0 * labels["x"][frame], 1.0 * labels["y"][frame]
    limb_map = pose_maps.penn_limb_map(posex, posey, labels["visibility"][frame], shape)
    return pose_maps.resize_maps(limb_map, image_size)


def imggen_sample(frames_dir: str, image_size: int = 128, steps: int = IMGGEN_STEPS,
                  rng=None) -> Dict[str, np.ndarray]:
    """One image-generator sample: frames ``t`` and ``t + n`` (n from 1..steps-1) of a video as ``xt``, ``xtpn``
    [H, W, 3] in [-1, 1] and their limb maps ``pt``, ``ptpn`` [H, W, 48] (float32)."""
    rng = files.make_rng(rng)
    paths = video_paths(frames_dir)
    names = files.list_frames(paths["frames"], CROPPED_SUFFIX)
    if not names:
        raise InputError(f"{paths['frames']}: no *_{CROPPED_SUFFIX} frames (run the Penn Action preprocessing)")
    gap = files.draw_gap(steps, rng)
    first, second = files.frame_pair(len(names), gap, rng)
    labels = read_labels(paths["labels"])
    sample = {}
    for key_img, key_pose, frame in (("xt", "pt", first), ("xtpn", "ptpn", second)):
        if frame >= len(labels["x"]):
            raise InputError(f"{paths['labels']}: no pose for frame {frame} ({len(labels['x'])} rows)")
        image = files.read_bgr(os.path.join(paths["frames"], names[frame]))
        sample[key_pose] = pose_map_at(labels, frame, image.shape[:2], image_size).astype(np.float32)
        image = pose_maps.resize_maps(image, image_size)
        sample[key_img] = files.to_unit_range(image).astype(np.float32)
    return sample


def imggen_dataset(list_path: str, data_dir: Optional[str] = None, *, batch_size: int = 8, image_size: int = 128,
                   steps: int = IMGGEN_STEPS, seed=None, epochs: Optional[int] = None,
                   num_workers: Optional[int] = None, contract_images: bool = True) -> tf.data.Dataset:
    """Batched image-generator training data (see the module docstring); ``epochs=None`` repeats forever;
    ``num_workers`` defaults to ``min(batch_size, cpu count)`` threads (the original ran batch_size processes)."""
    entries = read_entries(list_path, data_dir)
    if len(entries) < batch_size:
        raise InputError(f"{list_path}: {len(entries)} videos, fewer than one batch of {batch_size}")
    workers = min(batch_size, os.cpu_count() or 1) if num_workers is None else num_workers
    def make_epoch(rng):
        return files.sample_batches(imggen_sample, entries, batch_size, image_size, steps, rng, workers,
                                    contract_images)

    generate = files.epoch_stream(make_epoch, epochs, seed)
    return files.generator_dataset(generate, files.imggen_signature(batch_size, image_size, NUM_CHANNELS,
                                                              contract_images))


# --------------------------------------------------------------------------------------------------------- tests
def pose_result_name(index: int, action: str) -> str:
    """The pose test's result folder of the ``index``-th test video: ``NNNNN_<action>``."""
    return f"{index:05d}_{action}"


def lstm_test_inputs(list_path: str, data_dir: Optional[str] = None,
                     seen_step: int = SEEN_STEP) -> List[Dict[str, object]]:
    """Per test video (``test_subset_list``): its hourglass poses' first ``seen_step`` frames as ``seq`` float32
    [1, seen, 26] (``2v - 1`` only: the files are already in [0, 1]) and ``mask`` [1, seen, 13] (visibility), with
    ``action``, ``nframes`` and ``name`` (the result folder)."""
    inputs = []
    for index, frames_dir in enumerate(read_entries(list_path, data_dir)):
        path = video_paths(frames_dir)["hourglass"]
        poses = read_labels(path, with_bbox=False)
        if len(poses["x"]) < seen_step:
            raise InputError(f"{path}: {len(poses['x'])} frames, fewer than seen_step={seen_step}")
        class_index(path, poses["action"])
        posex = 2 * poses["x"][:seen_step] - 1.
        posey = 2 * poses["y"][:seen_step] - 1.
        inputs.append({"seq": np.concatenate([posex, posey], axis=1).astype(np.float32)[None],
                       "mask": np.asarray(poses["visibility"][:seen_step], dtype=np.float32)[None],
                       "action": poses["action"], "nframes": poses["nframes"],
                       "name": pose_result_name(index, poses["action"]), "path": path})
    return inputs


def joints_to_crop_pixels(joints: np.ndarray, bbox: np.ndarray):
    """(x, y, visibility) [steps, 13] of a Penn ``joints.npy``: a joint at exactly (64, 64) (a masked input) is
    invisible; x is scaled by the crop width / 128 and y by the crop height / 128 in float32 (NumPy 1 rules)."""
    posex = joints[0, :, :NUM_JOINTS]
    posey = joints[0, :, NUM_JOINTS:2 * NUM_JOINTS]
    visibility = 1.0 - ((posex == 64) * (posey == 64)).astype(np.int32)
    dtype = np.result_type(posex.dtype, np.float32)
    width = np.asarray(bbox[0, 2] - bbox[0, 0]).astype(dtype)
    height = np.asarray(bbox[0, 3] - bbox[0, 1]).astype(dtype)
    return posex / dtype.type(128.) * width, posey / dtype.type(128.) * height, visibility


def imggen_test_videos(list_path: str, pose_results_dir: str, data_dir: Optional[str] = None, *,
                       image_size: int = 128, seen_step: int = SEEN_STEP,
                       fut_step: int = TEST_FUT_STEP) -> Iterator[Dict[str, object]]:
    """Per test video: ``frames`` float32 [seen+fut, H, W, 3] in [-1, 1] and ``poses`` [seen+fut, H, W, 48] of the
    predicted joints (``pose_results_dir/NNNNN_<action>/joints.npy``), zero after ``num_frames`` =
    min(seen+fut, #crops); ``folder_name`` = ``<action>_NNNN`` (results/images/PennAction/<prefix>/...)."""
    length = seen_step + fut_step
    for index, frames_dir in enumerate(read_entries(list_path, data_dir)):
        paths = video_paths(frames_dir)
        names = files.list_frames(paths["frames"], CROPPED_SUFFIX)
        if not names:
            raise InputError(f"{paths['frames']}: no *_{CROPPED_SUFFIX} frames (run the Penn Action preprocessing)")
        labels = read_labels(paths["labels"])
        pose_folder = pose_result_name(index, labels["action"])
        num_frames = min(length, len(names))
        joints = files.load_joints(os.path.join(os.fspath(pose_results_dir), pose_folder, "joints.npy"), NUM_JOINTS,
                             num_frames)
        posex, posey, visibility = joints_to_crop_pixels(joints, labels["bbox"])
        frames = np.zeros((length, image_size, image_size, 3), np.float32)
        poses = np.zeros((length, image_size, image_size, NUM_CHANNELS), np.float32)
        for t in range(num_frames):
            image = files.read_bgr(os.path.join(paths["frames"], names[min(t, len(names) - 1)]))
            limb_map = pose_maps.penn_limb_map(posex[t], posey[t], visibility[t], image.shape[:2])
            poses[t] = pose_maps.resize_maps(limb_map, image_size)
            frames[t] = files.to_unit_range(pose_maps.resize_maps(image, image_size))
        yield {"frames": frames, "poses": poses, "num_frames": num_frames, "action": labels["action"],
               "folder_name": f"{labels['action']}_{paths['video']}", "pose_folder": pose_folder, "index": index}


# ------------------------------------------------------------------------------------------------------ registry
@register_reader(READER, description="Penn Action, hierchvid layout (labels/*.npz, cropped pngs): LSTM or imggen "
                                     "batches")
def read_penn_action_hierchvid(paths, *, stage: str = "lstm", data_dir: Optional[str] = None,
                               batch_size: Optional[int] = None, seed=None, epochs: Optional[int] = None,
                               **kwargs) -> tf.data.Dataset:
    """Batches of the list file ``paths`` (batch axis first) for ``stage`` ``lstm`` (:func:`lstm_dataset`) or
    ``imggen`` (:func:`imggen_dataset`); other keyword arguments go to those functions."""
    list_path = files.single_path(paths, READER)
    if stage == "lstm":
        return lstm_dataset(list_path, data_dir, batch_size=batch_size or 256, seed=seed, epochs=epochs, **kwargs)
    if stage == "imggen":
        return imggen_dataset(list_path, data_dir, batch_size=batch_size or 8, seed=seed, epochs=epochs, **kwargs)
    raise InputError(f"stage={stage!r}: {READER} serves stage 'lstm' or 'imggen'")
