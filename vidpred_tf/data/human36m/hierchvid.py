"""Human3.6M as Villegas et al. 2017 (hierchvid) read it, after ``datasets/hierchvid/human36m_preprocess.py``.

Layout under the data directory (``./datasets/Human3.6M`` in the original); names hold spaces
(``Directions 1.54138969``), so list lines are split on line breaks only::

    S<k>/MyPoseFeatures/D2_Positions/<name>.npz   all_posex, all_posey int32 [N, 32] (crop pixels), box int32 [4]
    S<k>/Videos/<name>/NNNN.png                   128 x 128 BGR crops
    S9_Hourglass/<name>.npz, S11_Hourglass/...    test poses, same keys
    train_list.txt / test_list.txt (.mp4 paths), train_list_pose.txt / test_list_pose.txt (D2_Positions .npz),
    test_list_pose_hg.txt (hourglass .npz)

Entries are resolved with :func:`vidpred_tf.data.hierchvid_files.resolve_entry` (``data_dir`` replaces
``./datasets/Human3.6M``). The action class is the file name's first whitespace token up to its first ``.``,
lower-cased, with ``walkingdog`` -> ``walkdog`` and ``takingphoto`` -> ``photo`` (not remapped by the image test,
as in the original).

Batches (batch axis first; registered as ``human36m_hierchvid``):

* LSTM (``train_list_pose``): ``seq`` float32 [B, seen+fut, 64] = [x0..x31, y0..y31], x divided by the box width
  and y by the box height, then ``2v - 1``; frames ``s, s+4, ...`` (frame skip 4) from ``s ~ U{0..N-4(seen+fut)}``;
  ``mask`` ones [B, seen+fut, 32]; ``action`` int32 [B]. Videos of classes outside :data:`CLASSES` are dropped.
* image generator (``train_list``): ``xt``, ``xtpn`` [B, 128, 128, 3] in [-1, 1] (BGR), ``pt``, ``ptpn``
  [B, 128, 128, 32]; the gap n is drawn from 1..steps-1 (steps 1000); the maps are drawn on a (box width, box
  height) canvas (transposed: quirk of the original) as float32 and resized.
* ``contract_images`` adds ``images`` as for Penn Action (:mod:`vidpred_tf.data.penn_action.hierchvid`).
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

READER = "human36m_hierchvid"
DATASET_FOLDER = "Human3.6M"
NUM_JOINTS = pose_maps.H36M_NUM_JOINTS
CLASSES: Dict[str, int] = {
    "walkdog": 0, "purchases": 1, "waiting": 2, "eating": 3, "sitting": 4, "photo": 5, "discussion": 6,
    "greeting": 7, "walking": 8, "phoning": 9, "posing": 10, "walktogether": 11, "directions": 12, "smoking": 13,
    "sittingdown": 14}
CLASS_ALIASES = {"walkingdog": "walkdog", "takingphoto": "photo"}
LIST_FILES = {"lstm_train": "train_list_pose.txt", "imggen_train": "train_list.txt",
              "lstm_test": "test_list_pose_hg.txt", "imggen_test": "test_list_pose.txt", "test_videos": "test_list.txt"}
SEEN_STEP, FUT_STEP, FSKIP, IMGGEN_STEPS, TEST_FUT_STEP = 10, 32, 4, 1000, 128
POSE_KEYS = ("all_posex", "all_posey", "box")


def default_list(data_dir: str, role: str) -> str:
    """The original's list file for ``role`` (one of :data:`LIST_FILES`) inside ``data_dir``."""
    return os.path.join(os.fspath(data_dir), LIST_FILES[role])


def read_entries(list_path: str, data_dir: Optional[str] = None) -> List[str]:
    """The resolved paths of a Human3.6M list file (whole lines: names hold spaces)."""
    return [files.resolve_entry(entry, data_dir, DATASET_FOLDER) for entry in files.read_list(list_path, False)]


def action_name(path: str, remap: bool = True) -> str:
    """``Directions 1.54138969.npz`` -> ``directions``; ``WalkingDog...`` -> ``walkdog`` when ``remap``."""
    name = os.fspath(path).split("/")[-1].split()[0].split(".")[0].lower()
    return CLASS_ALIASES.get(name, name) if remap else name


def read_poses(path: str) -> Dict[str, np.ndarray]:
    """A D2_Positions / hourglass .npz: ``all_posex``, ``all_posey`` [N, 32] and ``box`` [4]."""
    arrays = files.load_npz(path, POSE_KEYS)
    files.check_rows(path, arrays, ("all_posex", "all_posey"), NUM_JOINTS)
    if np.shape(arrays["box"]) != (4,):
        raise InputError(f"{path}: key 'box' must be [x1, y1, x2, y2]; got shape {np.shape(arrays['box'])}")
    return arrays


def normalised_poses(path: str, arrays: Dict[str, np.ndarray]):
    """(x, y) [N, 32] float64 in [0, 1] of the box: x / (x2 - x1), y / (y2 - y1)."""
    box = arrays["box"]
    width, height = 1.0 * box[2] - box[0], 1.0 * box[3] - box[1]
    if width == 0 or height == 0:
        raise InputError(f"{path}: key 'box' is empty: {np.asarray(box).tolist()}")
    return arrays["all_posex"] / width, arrays["all_posey"] / height


# --------------------------------------------------------------------------------------------------- pose LSTM
def load_lstm_videos(list_path: str, data_dir: Optional[str] = None) -> List[Dict[str, object]]:
    """Normalised poses of every video of ``list_path`` whose class is in :data:`CLASSES`."""
    videos = []
    for path in read_entries(list_path, data_dir):
        action = action_name(path)
        arrays = read_poses(path)
        if action not in CLASSES:
            continue
        posex, posey = normalised_poses(path, arrays)
        videos.append({"x": posex, "y": posey, "action": action, "class": CLASSES[action], "path": path})
    return videos


def lstm_window(video: Dict[str, object], seen_step: int, fut_step: int, fskip: int,
                rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """One training window: frames ``s, s+fskip, ...`` with ``s ~ U{0..N - fskip(seen+fut)}``."""
    length = seen_step + fut_step
    span = fskip * length
    frames = video["x"].shape[0]
    if frames - span + 1 < 1:
        raise InputError(f"{video['path']}: {frames} frames, fewer than the {span} a training window spans "
                         f"(fskip {fskip} x {length} steps)")
    start = int(rng.integers(0, frames - span + 1))
    posex = 2 * video["x"][start:start + span:fskip] - 1.
    posey = 2 * video["y"][start:start + span:fskip] - 1.
    return {"seq": np.concatenate([posex, posey], axis=1).astype(np.float32),
            "mask": np.ones((length, NUM_JOINTS), np.float32)}


def lstm_batches(videos: List[Dict[str, object]], batch_size: int, seen_step: int = SEEN_STEP,
                 fut_step: int = FUT_STEP, fskip: int = FSKIP, rng=None,
                 contract_images: bool = False) -> Iterator[Dict[str, np.ndarray]]:
    """One epoch of LSTM batches over ``videos`` (from :func:`load_lstm_videos`)."""
    rng = files.make_rng(rng)
    for indices in files.epoch_batches(len(videos), batch_size, rng):
        batch = files.stack_samples([lstm_window(videos[i], seen_step, fut_step, fskip, rng) for i in indices])
        batch["action"] = np.asarray([videos[i]["class"] for i in indices], dtype=np.int32)
        if contract_images:
            batch = files.add_contract_images(batch, np.zeros((batch_size, seen_step + fut_step, 1, 1, 1)))
        yield batch


def lstm_dataset(list_path: str, data_dir: Optional[str] = None, *, batch_size: int = 256,
                 seen_step: int = SEEN_STEP, fut_step: int = FUT_STEP, fskip: int = FSKIP, seed=None,
                 epochs: Optional[int] = None, contract_images: bool = False) -> tf.data.Dataset:
    """Batched LSTM training data (see the module docstring); ``epochs=None`` repeats forever."""
    videos = load_lstm_videos(list_path, data_dir)
    if len(videos) < batch_size:
        raise InputError(f"{list_path}: {len(videos)} videos, fewer than one batch of {batch_size}")
    generate = files.epoch_stream(
        lambda rng: lstm_batches(videos, batch_size, seen_step, fut_step, fskip, rng, contract_images), epochs, seed)
    return files.generator_dataset(
        generate, files.lstm_signature(batch_size, seen_step, fut_step, NUM_JOINTS, contract_images))


# --------------------------------------------------------------------------------------------- image generator
def video_paths(video_entry: str) -> Dict[str, str]:
    """``frames`` (the .mp4 path without its extension) and ``poses`` (its D2_Positions .npz) of a video."""
    frames_dir = os.fspath(video_entry).split(".mp4")[0]
    if "/Videos/" not in "/" + frames_dir:
        raise InputError(f"{video_entry}: a Human3.6M video path must lie under S<k>/Videos/")
    head, tail = ("/" + frames_dir).rsplit("/Videos/", 1)
    head = head[1:]
    return {"frames": frames_dir,
            "poses": os.path.join(head, "MyPoseFeatures", "D2_Positions", tail + ".npz") if head else
            os.path.join("MyPoseFeatures", "D2_Positions", tail + ".npz")}


def imggen_sample(video_entry: str, image_size: int = 128, steps: int = IMGGEN_STEPS,
                  rng=None) -> Dict[str, np.ndarray]:
    """One image-generator sample of the video ``video_entry`` (an .mp4 path of ``train_list``)."""
    rng = files.make_rng(rng)
    paths = video_paths(video_entry)
    names = files.list_frames(paths["frames"], ".png")
    arrays = read_poses(paths["poses"])
    gap = files.draw_gap(steps, rng)
    available = min(arrays["all_posey"].shape[0], len(names))
    if available < 1:
        raise InputError(f"{paths['frames']}: no .png frames (run the Human3.6M preprocessing)")
    first, second = files.frame_pair(available, gap, rng)
    shape = pose_maps.h36m_train_map_shape(arrays["box"])
    if min(shape) < 1:
        raise InputError(f"{paths['poses']}: key 'box' is empty: {arrays['box'].tolist()}")
    sample = {}
    for key_img, key_pose, frame in (("xt", "pt", first), ("xtpn", "ptpn", second)):
        joint_map = pose_maps.h36m_joint_map(arrays["all_posex"][frame], arrays["all_posey"][frame], shape,
                                             dtype=np.float32)
        image = files.read_bgr(os.path.join(paths["frames"], names[frame]))
        sample[key_pose] = pose_maps.resize_maps(joint_map, image_size)
        sample[key_img] = files.to_unit_range(pose_maps.resize_maps(image, image_size)).astype(np.float32)
    return sample


def imggen_dataset(list_path: str, data_dir: Optional[str] = None, *, batch_size: int = 8, image_size: int = 128,
                   steps: int = IMGGEN_STEPS, seed=None, epochs: Optional[int] = None,
                   num_workers: Optional[int] = None, contract_images: bool = True) -> tf.data.Dataset:
    """Batched image-generator training data over the .mp4 entries of ``list_path`` (``train_list.txt``)."""
    entries = read_entries(list_path, data_dir)
    if len(entries) < batch_size:
        raise InputError(f"{list_path}: {len(entries)} videos, fewer than one batch of {batch_size}")
    workers = min(batch_size, os.cpu_count() or 1) if num_workers is None else num_workers
    def make_epoch(rng):
        return files.sample_batches(imggen_sample, entries, batch_size, image_size, steps, rng, workers,
                                    contract_images)

    generate = files.epoch_stream(make_epoch, epochs, seed)
    return files.generator_dataset(generate,
                                   files.imggen_signature(batch_size, image_size, NUM_JOINTS, contract_images))


# --------------------------------------------------------------------------------------------------------- tests
def lstm_test_inputs(list_path: str, data_dir: Optional[str] = None, seen_step: int = SEEN_STEP,
                     fskip: int = FSKIP) -> List[Dict[str, object]]:
    """Per test video of ``test_list_pose_hg`` (classes in :data:`CLASSES`): ``seq`` float32 [1, seen, 64] from
    frames ``N//2, N//2 + fskip, ...`` normalised as in training, ``mask`` ones [1, seen, 32], ``action`` and
    ``name`` (the result folder ``NNNNN_<action>``)."""
    inputs = []
    for path in read_entries(list_path, data_dir):
        action = action_name(path)
        arrays = read_poses(path)
        if action not in CLASSES:
            continue
        posex, posey = normalised_poses(path, arrays)
        start = posey.shape[0] // 2
        posex = 2 * posex[start:start + fskip * seen_step:fskip] - 1.
        posey = 2 * posey[start:start + fskip * seen_step:fskip] - 1.
        if posex.shape[0] < seen_step:
            raise InputError(f"{path}: {arrays['all_posex'].shape[0]} frames, too few for {seen_step} steps of "
                             f"{fskip} from the middle")
        inputs.append({"seq": np.concatenate([posex, posey], axis=1).astype(np.float32)[None],
                       "mask": np.ones((1, seen_step, NUM_JOINTS), np.float32), "action": action,
                       "nframes": arrays["all_posex"].shape[0], "name": f"{len(inputs):05d}_{action}",
                       "path": path})
    return inputs


def joints_to_box_pixels(joints: np.ndarray, box: np.ndarray):
    """(x, y) [1, steps, 32] of a Human3.6M ``joints.npy`` in crop pixels: ``round(j / 128 * box side)``, in
    float32 (NumPy 1 rules of the original)."""
    dtype = np.result_type(joints.dtype, np.float32)
    width = np.asarray(box[2] - box[0]).astype(dtype)
    height = np.asarray(box[3] - box[1]).astype(dtype)
    posey = (joints[:, :, NUM_JOINTS:] / dtype.type(128) * height).round()
    posex = (joints[:, :, :NUM_JOINTS] / dtype.type(128) * width).round()
    return posex, posey


def result_folder_name(frames_dir: str) -> str:
    """``S9_Directions_1.54138969`` of ``.../S9/Videos/Directions 1.54138969`` (``S9_Directions.54138969`` when the
    name has no space)."""
    parts = os.fspath(frames_dir).split("/")
    name_parts = parts[-1].split(" ")
    subject = parts[-3] if len(parts) >= 3 else ""
    if len(name_parts) == 2:
        return f"{subject}_{name_parts[0]}_{name_parts[1]}"
    return f"{subject}_{name_parts[0]}"


def imggen_test_videos(list_path: str, pose_results_dir: str, data_dir: Optional[str] = None, *,
                       image_size: int = 128, seen_step: int = SEEN_STEP, fut_step: int = TEST_FUT_STEP,
                       fskip: int = FSKIP) -> Iterator[Dict[str, object]]:
    """Per video of ``test_list_pose`` (D2_Positions .npz entries): ``frames`` [seen+fut, H, W, 3] in [-1, 1] =
    pngs ``N//2, N//2 + fskip, ...`` and ``poses`` [seen+fut, H, W, 32] of the predicted joints
    (``pose_results_dir/NNNNN_<action>/joints.npy``, action not remapped) on a (box height, box width) canvas; zero
    after ``num_frames``; ``folder_name`` as :func:`result_folder_name`."""
    length = seen_step + fut_step
    for index, entry in enumerate(read_entries(list_path, data_dir)):
        if "MyPoseFeatures" not in entry:
            raise InputError(f"{entry}: an image-test entry must be a .../MyPoseFeatures/D2_Positions/*.npz path")
        name = entry.split("/")[-1].split(" pose")[0].split(".npz")[0]
        frames_dir = entry.split("MyPoseFeatures")[0] + "Videos/" + name
        paths = video_paths(frames_dir)
        names = files.list_frames(paths["frames"], ".png")
        action = action_name(entry, remap=False)
        pose_folder = f"{index:05d}_{action}"
        box = read_poses(paths["poses"])["box"]
        start = len(names) // 2
        names = names[start:start + fskip * length:fskip]
        joints = files.load_joints(os.path.join(os.fspath(pose_results_dir), pose_folder, "joints.npy"), NUM_JOINTS,
                             len(names))
        posex, posey = joints_to_box_pixels(joints, box)
        shape = pose_maps.h36m_test_map_shape(box)
        if min(shape) < 1:
            raise InputError(f"{paths['poses']}: key 'box' is empty: {np.asarray(box).tolist()}")
        frames = np.zeros((length, image_size, image_size, 3), np.float32)
        poses = np.zeros((length, image_size, image_size, NUM_JOINTS), np.float32)
        for t, frame_name in enumerate(names):
            image = files.read_bgr(os.path.join(paths["frames"], frame_name))
            poses[t] = pose_maps.resize_maps(pose_maps.h36m_joint_map(posex[0, t], posey[0, t], shape), image_size)
            frames[t] = files.to_unit_range(pose_maps.resize_maps(image, image_size))
        yield {"frames": frames, "poses": poses, "num_frames": len(names), "action": action,
               "folder_name": result_folder_name(frames_dir), "pose_folder": pose_folder, "index": index}


# ------------------------------------------------------------------------------------------------------ registry
@register_reader(READER, description="Human3.6M, hierchvid layout (D2_Positions/*.npz, 128px pngs): LSTM or imggen "
                                     "batches")
def read_human36m_hierchvid(paths, *, stage: str = "lstm", data_dir: Optional[str] = None,
                            batch_size: Optional[int] = None, seed=None, epochs: Optional[int] = None,
                            **kwargs) -> tf.data.Dataset:
    """Batches of the list file ``paths`` (batch axis first) for ``stage`` ``lstm`` (:func:`lstm_dataset`, a
    ``train_list_pose`` list) or ``imggen`` (:func:`imggen_dataset`, a ``train_list`` of .mp4 paths)."""
    list_path = files.single_path(paths, READER)
    if stage == "lstm":
        return lstm_dataset(list_path, data_dir, batch_size=batch_size or 256, seed=seed, epochs=epochs, **kwargs)
    if stage == "imggen":
        return imggen_dataset(list_path, data_dir, batch_size=batch_size or 8, seed=seed, epochs=epochs, **kwargs)
    raise InputError(f"stage={stage!r}: {READER} serves stage 'lstm' or 'imggen'")
