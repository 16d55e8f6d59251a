"""Videos in: mp4/avi/gif/... files (ffmpeg), folders of frames, ``.npy`` arrays (:func:`load_video`), fitted to a
model's frame size and channels (:func:`fit_frames`)."""

from __future__ import annotations

import os
import pathlib
import re
from typing import Sequence

import cv2
import numpy as np

from vidpred_tf.errors import InputError
from vidpred_tf.viz import read_video

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

# ITU-R BT.601 luma weights, the RGB -> gray conversion of OpenCV and PIL.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _natural_key(name: str):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _read_image(path: pathlib.Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"cannot read image {path}")
    if image.dtype == np.uint16:
        image = image.astype(np.float32) / 65535.0
    elif image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    else:
        raise InputError(f"image {path} has pixel type {image.dtype}; expected 8 or 16 bits")
    if image.ndim == 2:
        return image[..., None]
    if image.shape[-1] == 3:
        return image[..., ::-1]  # OpenCV reads BGR
    if image.shape[-1] == 4:
        return image[..., 2::-1]  # BGRA -> RGB, alpha dropped
    raise InputError(f"image {path} has {image.shape[-1]} channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)")


def _load_frame_folder(folder: pathlib.Path) -> np.ndarray:
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
                   key=lambda p: _natural_key(p.name))
    if not files:
        raise InputError(f"folder {folder} holds no frames ({', '.join(IMAGE_EXTENSIONS)} files)")
    frames = [_read_image(p) for p in files]
    first = frames[0].shape[:2]
    for path, frame in zip(files, frames):
        if frame.shape[:2] != first:
            raise InputError(f"frames of {folder} differ in size: {files[0].name} is {first[1]}x{first[0]}, "
                             f"{path.name} is {frame.shape[1]}x{frame.shape[0]}")
    if any(frame.shape[-1] == 3 for frame in frames):
        frames = [np.repeat(f, 3, axis=-1) if f.shape[-1] == 1 else f for f in frames]
    return np.stack(frames).astype(np.float32)


def _load_npy(path: pathlib.Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read {path} as a .npy array: {err}") from err
    if array.ndim == 5 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise InputError(f"{path}: expected frames [T, H, W], [T, H, W, C] or [1, T, H, W, C]; got shape "
                         f"{array.shape}")
    if array.shape[-1] not in (1, 3):
        raise InputError(f"{path}: frames have {array.shape[-1]} channels (shape {array.shape}); expected 1 "
                         f"(gray) or 3 (RGB)")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"{path}: dtype {array.dtype}; expected uint8 in [0, 255] or float in [0, 1]")
    if array.size and not np.all(np.isfinite(array)):
        raise InputError(f"{path}: frames contain NaN or inf")
    low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
    if low < -1e-3 or high > 1.0 + 1e-3:
        raise InputError(f"{path}: float frames must lie in [0, 1]; values span [{low:g}, {high:g}]")
    return np.clip(array.astype(np.float32), 0.0, 1.0)


def load_video(path) -> np.ndarray:
    """Every frame of a video file (mp4, avi, gif... through ffmpeg), a folder of image frames (natural order of
    the file names) or an ``.npy`` array, as float32 ``[T, H, W, C]`` in [0, 1] with C 1 or 3.

    ``InputError`` names the file for a missing or unreadable input and for a wrong channel count.
    """

    path = pathlib.Path(os.fspath(path))
    if not path.exists():
        raise InputError(f"input {path} does not exist")
    if path.is_dir():
        frames = _load_frame_folder(path)
    elif path.suffix.lower() == ".npy":
        frames = _load_npy(path)
    elif path.suffix.lower() in IMAGE_EXTENSIONS:
        raise InputError(f"input {path} is a single image; give a video, a folder of frames or an .npy array")
    else:
        try:
            frames = read_video(path).astype(np.float32) / 255.0
        except RuntimeError as err:
            detail = [line for line in str(err).splitlines() if line.strip()]
            reason = detail[-1].strip() if detail else str(err)
            raise InputError(f"cannot read video {path}: ffmpeg says: {reason}") from None
    if frames.shape[0] == 0 or min(frames.shape[1:3]) == 0:
        raise InputError(f"input {path} holds no frames (shape {frames.shape})")
    return frames


def _resize(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    shrinking = frames.shape[1] >= height and frames.shape[2] >= width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = [cv2.resize(frame, (width, height), interpolation=interpolation) for frame in frames]
    out = np.stack(resized).astype(np.float32)
    if out.ndim == 3:  # OpenCV drops a single channel axis
        out = out[..., None]
    return out


def fit_frames(frames: np.ndarray, image_size: Sequence[int], channels: int, resize: str = "crop") -> np.ndarray:
    """``[T, H, W, C]`` frames in [0, 1] -> ``[T, *image_size, channels]`` float32 as a model expects.

    ``resize``: "crop" cuts the largest centred window of the model's aspect ratio first (no distortion),
    "stretch" resizes the whole frame. Gray frames are repeated to RGB; RGB frames become gray by the BT.601
    luma weights.
    """
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3):
        raise InputError(f"frames must be [T, H, W, C] with C 1 or 3; got shape {frames.shape}")
    if channels not in (1, 3):
        raise ValueError(f"a model must take 1 or 3 channels; got {channels}")
    if resize not in ("crop", "stretch"):
        raise InputError(f"--resize={resize!r}: choose crop or stretch")
    height, width = int(image_size[0]), int(image_size[1])
    if resize == "crop":
        source_h, source_w = frames.shape[1:3]
        if source_w * height > source_h * width:  # too wide
            keep = max(1, round(source_h * width / height))
            left = (source_w - keep) // 2
            frames = frames[:, :, left:left + keep]
        elif source_w * height < source_h * width:  # too tall
            keep = max(1, round(source_w * height / width))
            top = (source_h - keep) // 2
            frames = frames[:, top:top + keep]
    if frames.shape[1:3] != (height, width):
        frames = _resize(frames, height, width)
    if frames.shape[-1] == 1 and channels == 3:
        frames = np.repeat(frames, 3, axis=-1)
    elif frames.shape[-1] == 3 and channels == 1:
        frames = (frames @ _LUMA)[..., None]
    return np.clip(frames, 0.0, 1.0).astype(np.float32)
