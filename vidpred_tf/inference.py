"""Load any checkpoint of the package and predict the future of any video: the engine of ``vidpred predict``.

A paper's adapter (``vidpred_tf/models/<paper>/inference.py``) wraps a loaded model in a :class:`Predictor` and
registers a detector and a loader with :func:`register_loader`; :func:`load_predictor` asks the adapters listed
in :data:`ADAPTER_MODULES`, in order, which one recognises a checkpoint. Adapters of models trained by this
package recognise the manifest ``vidpred_model.json`` that the training commands write beside their checkpoints
(:func:`write_manifest`): paper, model name, the model's configuration, frame size, channels, context and horizon.

Videos come from mp4/avi/gif/... files (ffmpeg), folders of frames or ``.npy`` arrays (:func:`load_video`), are
fitted to the model's frame size and channels (:func:`fit_frames`), predicted (:func:`predict_video`) and written
as GIF, MP4 and PNG frames with the predicted frames marked (:func:`write_prediction_outputs`).
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import importlib
import json
import os
import pathlib
import re
import shutil
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from vidpred_tf.errors import InputError, is_no_space, no_space_error  # InputError's old home: re-exported
from vidpred_tf.fileio import write_atomically, write_json

MANIFEST_NAME = "vidpred_model.json"
MANIFEST_VERSION = 1

# Imported lazily by load_predictor; a module not written yet (a paper still being ported) is skipped.
ADAPTER_MODULES = (
    "vidpred_tf.models.baseline.inference",
    "vidpred_tf.models.e3d.inference",
    "vidpred_tf.models.mspred.inference",
)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".gif", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

# Frame colours of the written videos (RGB): context frames green, predicted frames red, ground truth gray.
CONTEXT_COLOR = (0, 200, 0)
PREDICTION_COLOR = (230, 0, 0)
TRUTH_COLOR = (128, 128, 128)

# ITU-R BT.601 luma weights, the RGB -> gray conversion of OpenCV and PIL.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class Predictor(abc.ABC):
    """One loaded checkpoint that predicts future frames from context frames.

    Attributes an adapter sets: ``paper`` ("e3d", "mspred", "baseline", ...), ``model_name``,
    ``context_frames`` (the number the model was trained with), ``default_horizon``, ``image_size`` (H, W),
    ``channels`` (1 or 3), ``stochastic`` (different seeds give different samples), ``checkpoint`` (the path
    loaded).
    """

    paper: str = ""
    model_name: str = ""
    context_frames: int = 1
    default_horizon: int = 1
    image_size: Tuple[int, int] = (64, 64)
    channels: int = 1
    stochastic: bool = False
    checkpoint: str = ""

    @abc.abstractmethod
    def predict(self, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
        """``context`` float32 (B, Tc, H, W, C) in [0, 1] -> predicted frames float32 (B, horizon, H, W, C)."""

    @property
    def keras_model(self):
        """The Keras model that holds the checkpoint's weights (what ``vidpred_tf.presets.export`` saves), or
        ``None``. Found as the adapter's ``_model`` (baseline, e3d) or ``model`` (mspred) unless set explicitly."""
        explicit = self.__dict__.get("_keras_model")
        if explicit is not None:
            return explicit
        model = getattr(self, "_model", None)
        return getattr(self, "model", None) if model is None else model

    @keras_model.setter
    def keras_model(self, model) -> None:
        self.__dict__["_keras_model"] = model

    def describe(self) -> dict:
        """What the predictor is, as JSON-ready data."""
        return {"paper": self.paper, "model_name": self.model_name, "checkpoint": str(self.checkpoint),
                "context_frames": int(self.context_frames), "default_horizon": int(self.default_horizon),
                "image_size": [int(v) for v in self.image_size], "channels": int(self.channels),
                "stochastic": bool(self.stochastic)}


@dataclasses.dataclass(frozen=True)
class LoaderEntry:
    name: str
    detect: Callable[[pathlib.Path], bool]
    load: Callable[[pathlib.Path], Predictor]
    models: Tuple[str, ...] = ()


_LOADERS: Dict[str, LoaderEntry] = {}


def register_loader(name: str, detect: Callable[[pathlib.Path], bool], load: Callable[[pathlib.Path], Predictor],
                    models: Sequence[str] = ()) -> None:
    """Register an adapter: ``detect(path)`` says whether ``load(path)`` can load it. ``models`` (optional) names
    the models it serves, for ``vidpred list``. Registering a name again replaces the entry (module reloads)."""
    _LOADERS[name] = LoaderEntry(name, detect, load, tuple(models))


def import_adapters() -> Dict[str, LoaderEntry]:
    """Import every module of :data:`ADAPTER_MODULES` that exists; returns the registered loaders."""
    for module in ADAPTER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            # An adapter of a paper not ported yet is skipped; a missing dependency inside one is a real error.
            if err.name != module:
                raise
    return dict(_LOADERS)


def load_predictor(path) -> Predictor:
    """The predictor of a checkpoint file or prefix, a directory of checkpoints, or a preset (``preset:NAME``,
    ``preset:NAME@VERSION``: :mod:`vidpred_tf.presets`); tries the detectors of the registered adapters in order.
    ``InputError`` when the path does not exist, the preset is unknown or no adapter knows it."""
    from vidpred_tf.presets import is_preset_spec, resolve_preset

    path = resolve_preset(path) if is_preset_spec(path) else pathlib.Path(os.fspath(path))
    exists = path.exists() or pathlib.Path(str(path) + ".index").exists()
    if not exists:
        raise InputError(f"checkpoint {path} does not exist")
    loaders = import_adapters()
    for entry in loaders.values():
        if entry.detect(path):
            return entry.load(path)
    raise InputError(
        f"checkpoint {path}: no adapter recognises it (tried {', '.join(loaders) or 'none'}); checkpoints of this "
        f"package have a {MANIFEST_NAME} beside them, written by vidpred demo and the paper scripts")


# ------------------------------------------------------------------------------------------------- manifest
def write_manifest(directory, *, paper: str, model_name: str, config: dict, image_size: Sequence[int],
                   channels: int, context_frames: int, horizon: int, stochastic: bool = False,
                   checkpoint_format: str = "trainer", extra: Optional[dict] = None) -> str:
    """Write ``directory/vidpred_model.json``, what an adapter needs to rebuild the model of the checkpoints
    there: ``checkpoint_format`` is "trainer" (``tf.train.Checkpoint`` of ``vidpred_tf.training``) or
    "keras_weights" (``.weights.h5``). Returns the path."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    height, width = (int(image_size), int(image_size)) if np.isscalar(image_size) else map(int, image_size)
    manifest = {
        "format_version": MANIFEST_VERSION, "paper": paper, "model_name": model_name,
        "config": json.loads(json.dumps(config)), "image_size": [height, width], "channels": int(channels),
        "context_frames": int(context_frames), "horizon": int(horizon), "stochastic": bool(stochastic),
        "checkpoint_format": checkpoint_format,
    }
    if extra:
        manifest.update(extra)
    path = os.path.join(directory, MANIFEST_NAME)
    write_json(path, manifest)
    return path


def manifest_path_for(path) -> pathlib.Path:
    """Where the manifest of a checkpoint directory, file or prefix lives."""
    path = pathlib.Path(os.fspath(path))
    return path / MANIFEST_NAME if path.is_dir() else path.parent / MANIFEST_NAME


def read_manifest(path) -> Optional[dict]:
    """The manifest beside ``path`` (checkpoint directory, file or prefix), or ``None`` when there is none.
    ``InputError`` names the file when it is not a valid manifest."""
    manifest_path = manifest_path_for(path)
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"{manifest_path}: not a readable JSON manifest ({err})") from err
    required = ("paper", "model_name", "config", "image_size", "channels", "context_frames", "horizon")
    missing = [key for key in required if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise InputError(f"{manifest_path}: manifest lacks {', '.join(missing)}")
    return manifest


def manifest_paper(path) -> Optional[str]:
    """The ``paper`` of the manifest beside ``path`` (``None`` without one): what adapters' detectors test."""
    manifest = read_manifest(path)
    return None if manifest is None else str(manifest["paper"])


def resolve_checkpoint(path) -> str:
    """The checkpoint to restore for ``path``: the newest checkpoint of a directory, a ``.weights.h5`` file, or
    a checkpoint prefix (``ckpt-100`` for ``ckpt-100.index``). ``InputError`` when there is none."""
    import tensorflow as tf

    path = pathlib.Path(os.fspath(path))
    if path.is_dir():
        latest = tf.train.latest_checkpoint(str(path))
        if latest is None:
            weights = sorted(path.glob("*.weights.h5"))
            if len(weights) == 1:
                return str(weights[0])
            raise InputError(f"checkpoint directory {path} holds no checkpoint (no 'checkpoint' index file"
                             f"{' and several .weights.h5 files' if weights else ''})")
        return latest
    if str(path).endswith(".weights.h5"):
        if not path.is_file():
            raise InputError(f"weights file {path} does not exist")
        return str(path)
    if str(path).endswith(".index"):
        path = pathlib.Path(str(path)[:-len(".index")])
    if not pathlib.Path(str(path) + ".index").is_file():
        raise InputError(f"checkpoint {path}: no {path}.index (give a checkpoint directory, a prefix such as "
                         f"ckpt-100, or a .weights.h5 file)")
    return str(path)


def restore_weights(model, checkpoint: str) -> None:
    """Load ``checkpoint`` (trainer checkpoint prefix or ``.weights.h5``) into ``model``; ``InputError`` naming
    the file when it does not fit the model or holds NaN/inf weights."""
    from vidpred_tf.checkpoint_check import check_model_checkpoint
    from vidpred_tf.training.checkpoint import restore_model_weights

    try:
        if checkpoint.endswith(".weights.h5"):
            model.load_weights(checkpoint)
        else:
            # Missing or misshapen variables, a truncated file or no checkpoint at all: one line naming the
            # file, before TensorFlow restores anything (and warns about every unmatched value).
            check_model_checkpoint(model, checkpoint)
            restore_model_weights(model, checkpoint)
    except InputError:
        raise
    except (ValueError, OSError) as err:
        raise InputError(f"checkpoint {checkpoint} does not fit the model of its manifest: "
                         f"{str(err).splitlines()[0]}") from err
    from vidpred_tf.training.checkpoint import describe_non_finite, non_finite_variables

    bad = non_finite_variables(model.weights)
    if bad:
        what = describe_non_finite(bad, len(model.weights))
        raise InputError(f"checkpoint {checkpoint} holds non-finite weights ({what}): the training that wrote it "
                         f"diverged; use an earlier checkpoint or train again with a smaller learning rate")


# ---------------------------------------------------------------------------------------------- video input
def _natural_key(name: str):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _read_image(path: pathlib.Path) -> np.ndarray:
    import cv2

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
    from vidpred_tf.viz import read_video

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
    import cv2

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


# -------------------------------------------------------------------------------------------------- predict
def run_predictor(predictor: Predictor, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
    """``predictor.predict`` with its input and output checked; predictions are clipped to [0, 1]."""
    context = np.asarray(context, dtype=np.float32)
    height, width = predictor.image_size
    expected = (height, width, predictor.channels)
    if context.ndim != 5 or tuple(context.shape[2:]) != expected:
        raise InputError(f"{predictor.paper}/{predictor.model_name} needs context [B, T, {height}, {width}, "
                         f"{predictor.channels}]; got shape {context.shape}")
    if horizon < 1:
        raise InputError(f"--horizon must be at least 1; got {horizon}")
    predicted = np.asarray(predictor.predict(context, int(horizon), seed=int(seed)), dtype=np.float32)
    wanted = (context.shape[0], horizon) + expected
    if predicted.shape != wanted:
        raise RuntimeError(f"{predictor.paper}/{predictor.model_name}: predict returned shape {predicted.shape}; "
                           f"expected {wanted}")
    if not np.all(np.isfinite(predicted)):
        raise RuntimeError(f"{predictor.paper}/{predictor.model_name}: predictions contain NaN or inf")
    return np.clip(predicted, 0.0, 1.0)


@dataclasses.dataclass
class VideoPrediction:
    """``context`` [Tc, H, W, C]; ``predictions`` [S, horizon, H, W, C]; ``truth`` [Tt, H, W, C] (the input's
    frames after the context, Tt <= horizon; None when the input ends with the context); ``seeds`` [S]."""

    context: np.ndarray
    predictions: np.ndarray
    truth: Optional[np.ndarray]
    seeds: List[int]
    predictor: dict
    input_frames: int

    @property
    def horizon(self) -> int:
        return int(self.predictions.shape[1])


def predict_video(predictor: Predictor, frames: np.ndarray, *, context: Optional[int] = None,
                  horizon: Optional[int] = None, samples: int = 1, seed: int = 0, start: int = 0,
                  frame_step: int = 1, resize: str = "crop", source: str = "input") -> VideoPrediction:
    """Predict ``horizon`` frames after ``context`` frames of ``frames`` ([T, H, W, C] in [0, 1], any size).

    Frames ``start, start + frame_step, ...`` are used; the first ``context`` (default: the model's) are the
    context, the following ones (up to ``horizon``) are kept as ground truth. ``samples`` > 1 draws that many
    predictions with seeds ``seed, seed + 1, ...`` and needs a stochastic model. ``source`` names the input in
    errors.
    """
    context = predictor.context_frames if context is None else int(context)
    horizon = predictor.default_horizon if horizon is None else int(horizon)
    if context < 1:
        raise InputError(f"--context must be at least 1; got {context}")
    if horizon < 1:
        raise InputError(f"--horizon must be at least 1; got {horizon}")
    if samples < 1:
        raise InputError(f"--samples must be at least 1; got {samples}")
    if start < 0 or frame_step < 1:
        raise InputError(f"--start must be >= 0 and --frame_step >= 1; got {start} and {frame_step}")
    if samples > 1 and not predictor.stochastic:
        raise InputError(f"--samples {samples}: {predictor.paper}/{predictor.model_name} is deterministic (every "
                         f"sample would be the same); use --samples 1")
    frames = np.asarray(frames, dtype=np.float32)
    used = frames[start::frame_step]
    if used.shape[0] < context:
        raise InputError(f"{source} has {frames.shape[0]} frames ({used.shape[0]} after --start {start} and "
                         f"--frame_step {frame_step}); {predictor.paper}/{predictor.model_name} needs --context "
                         f"{context} context frames")
    used = used[:context + horizon]
    fitted = fit_frames(used, predictor.image_size, predictor.channels, resize)
    context_frames = fitted[:context]
    truth = fitted[context:] if fitted.shape[0] > context else None
    seeds = [seed + index for index in range(samples)]
    predictions = np.stack([run_predictor(predictor, context_frames[None], horizon, s)[0] for s in seeds])
    return VideoPrediction(context_frames, predictions, truth, seeds, predictor.describe(), int(frames.shape[0]))


# --------------------------------------------------------------------------------------------------- output
def _framed(frames: np.ndarray, color, border: int) -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` with a ``border``-pixel frame of ``color`` around every image."""
    padded = np.pad(frames, ((0, 0), (border, border), (border, border), (0, 0)))
    padded[:, :border] = color
    padded[:, -border:] = color
    padded[:, :, :border] = color
    padded[:, :, -border:] = color
    return padded


def _display_uint8(frames: np.ndarray, scale: int) -> np.ndarray:
    frames = np.clip(np.round(np.asarray(frames, np.float32) * 255.0), 0, 255).astype(np.uint8)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    return frames


def display_scale(image_size: Sequence[int], target: int = 128) -> int:
    """Integer upscaling that makes small frames (Moving MNIST 64, tests 16) visible in a GIF."""
    return max(1, target // max(1, min(int(image_size[0]), int(image_size[1]))))


def marked_frames(result: VideoPrediction, border: int = 2, scale: int = 1) -> np.ndarray:
    """uint8 ``[Tc + horizon, rows * H', S * W', 3]``: per time step, the samples side by side; each column is
    the model's row (context framed green, then the predictions framed red) under the ground truth (framed
    gray) when the input covers the whole horizon."""
    context = _display_uint8(result.context, scale)
    truth_row = None
    if result.truth is not None and result.truth.shape[0] == result.horizon:
        truth_row = _framed(np.concatenate([context, _display_uint8(result.truth, scale)]), TRUTH_COLOR, border)
    columns = []
    for sample in result.predictions:
        row = np.concatenate([_framed(context, CONTEXT_COLOR, border),
                              _framed(_display_uint8(sample, scale), PREDICTION_COLOR, border)])
        columns.append(row if truth_row is None else np.concatenate([truth_row, row], axis=1))
    return np.concatenate(columns, axis=2)


def _frame_metrics(result: VideoPrediction) -> Optional[dict]:
    """Per-step MSE / PSNR (and SSIM, tf.image, when frames are at least 11x11) of every sample against the
    ground truth frames the input has."""
    if result.truth is None:
        return None
    from vidpred_tf import metrics

    steps = result.truth.shape[0]
    names = ["mse", "mae", "psnr"] + (["ssim_tf"] if min(result.truth.shape[1:3]) >= 11 else [])
    truth = np.broadcast_to(result.truth[None], (result.predictions.shape[0],) + result.truth.shape)
    values = metrics.frame_metrics(truth, result.predictions[:, :steps], names=names)
    return {name: {"per_sample_per_step": [[_finite(v) for v in row] for row in np.asarray(values[name])],
                   "mean_per_step": [_finite(v) for v in np.asarray(values[name]).mean(axis=0)]}
            for name in names}


def _finite(value) -> Optional[float]:
    value = float(value)
    return value if np.isfinite(value) else None


def remove_stale_stages(output_dir, prefix: str) -> List[str]:
    """Remove the staging folders ``<prefix><pid>-*`` of ``output_dir`` whose process no longer runs (a run killed
    mid-write), and those of the older unnumbered form; returns what was removed."""
    from vidpred_tf.fileio import process_alive

    removed = []
    output_dir = pathlib.Path(os.fspath(output_dir))
    if not output_dir.is_dir():
        return removed
    for path in output_dir.iterdir():
        if not path.name.startswith(prefix) or not path.is_dir():
            continue
        pid = path.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and "-" in path.name[len(prefix):] and process_alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    return removed


@contextlib.contextmanager
def staged_output_dir(output_dir, prefix: str):
    """Yields ``(output_dir, stage)``: the output folder (created if missing; ``InputError`` if it is a file or
    cannot be made) and a hidden staging folder inside it, named ``<prefix>*``, for files that the caller
    moves into place once all of them exist. The stage is always removed; on an error, so is an output
    folder this call created, so a failed run leaves what was there before."""
    output_dir = pathlib.Path(os.fspath(output_dir))
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(f"--output_dir {output_dir} is a file, not a directory")
    created = not output_dir.exists()
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--output_dir {output_dir}: cannot create it ({err.strerror or err})") from err
    remove_stale_stages(output_dir, prefix)
    try:
        # The stage's name carries this process's id, so that a later run can tell a stage left by a killed run
        # (its process is gone) from one that another running process is filling.
        stage = pathlib.Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=output_dir))
    except OSError as err:
        if created:
            shutil.rmtree(output_dir, ignore_errors=True)
        if is_no_space(err):
            raise no_space_error(output_dir, err) from err
        raise InputError(f"--output_dir {output_dir}: cannot write into it ({err.strerror or err})") from err
    try:
        yield output_dir, stage
    except BaseException as err:
        if created:
            shutil.rmtree(output_dir, ignore_errors=True)
        if isinstance(err, Exception) and is_no_space(err):
            raise no_space_error(output_dir, err) from err  # 'no space left on device writing DIR'
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_prediction_outputs(result: VideoPrediction, output_dir, *, fps: float = 4.0, border: int = 2,
                             scale: Optional[int] = None, extra: Optional[dict] = None) -> dict:
    """Write the prediction into ``output_dir`` (each file atomically) and return ``{what: path}``:

    * ``prediction.gif`` / ``prediction.mp4``: context then predictions, predicted frames framed red, context
      framed green, the ground truth above when the input covers the horizon; samples side by side;
    * ``frames/context_NNN.png``, ``frames/truth_NNN.png``, ``frames/sample_SS/pred_NNN.png``: the frames at the
      model's resolution (NNN: the frame's number in the used sequence, from 1);
    * ``prediction_strip.png``: every time step of the marked video side by side;
    * ``prediction.npy``: float32 [S, horizon, H, W, C]; ``prediction.json``: what was run, the files and,
      with ground truth, per-step metrics.
    """
    # Everything is written into a hidden staging folder first and moved into place only when all of it
    # exists, so a failure half-way (ffmpeg, a full disk) leaves the previous outputs as they were, and frames
    # of an earlier, longer prediction never mix with these.
    with staged_output_dir(output_dir, ".prediction-") as (output_dir, stage):
        staged = _write_prediction_files(result, stage, fps=fps, border=border, scale=scale, extra=extra,
                                         final_dir=output_dir)
        for key in ("gif", "mp4", "strip_png", "npy"):
            os.replace(staged[key], output_dir / pathlib.Path(staged[key]).name)
        old_frames = output_dir / "frames"
        if old_frames.exists():
            os.replace(old_frames, stage / "frames_replaced")
        os.replace(staged["frames_dir"], old_frames)
        os.replace(staged["json"], output_dir / "prediction.json")  # last: its presence says the set is whole
    return {key: str(output_dir / pathlib.Path(path).name) for key, path in staged.items()}


def _write_prediction_files(result: VideoPrediction, output_dir: pathlib.Path, *, fps: float, border: int,
                            scale: Optional[int], extra: Optional[dict], final_dir: pathlib.Path) -> dict:
    """The files of :func:`write_prediction_outputs`, written into ``output_dir``; ``prediction.json`` names
    them at their places in ``final_dir``."""
    from vidpred_tf import viz

    frames_dir = output_dir / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    scale = display_scale(result.context.shape[1:3]) if scale is None else int(scale)
    marked = marked_frames(result, border=border, scale=scale)
    files = {"gif": str(output_dir / "prediction.gif"), "mp4": str(output_dir / "prediction.mp4"),
             "strip_png": str(output_dir / "prediction_strip.png"), "npy": str(output_dir / "prediction.npy"),
             "json": str(output_dir / "prediction.json"), "frames_dir": str(frames_dir)}
    viz.write_gif(files["gif"], marked, fps=fps)
    viz.write_mp4(files["mp4"], marked, fps=fps)
    viz.save_png(files["strip_png"], np.concatenate(list(marked), axis=1))
    num_context = result.context.shape[0]
    for index, frame in enumerate(result.context):
        viz.save_png(frames_dir / f"context_{index + 1:03d}.png", frame)
    if result.truth is not None:
        for index, frame in enumerate(result.truth):
            viz.save_png(frames_dir / f"truth_{num_context + index + 1:03d}.png", frame)
    for sample_index, sample in enumerate(result.predictions):
        sample_dir = frames_dir / f"sample_{sample_index:02d}"
        sample_dir.mkdir(exist_ok=True)
        for index, frame in enumerate(sample):
            viz.save_png(sample_dir / f"pred_{num_context + index + 1:03d}.png", frame)

    def write_npy(temp_path):
        with open(temp_path, "wb") as handle:
            np.save(handle, result.predictions.astype(np.float32))

    write_atomically(files["npy"], write_npy)
    summary = {
        "predictor": result.predictor, "context_frames": int(num_context), "horizon": result.horizon,
        "samples": int(result.predictions.shape[0]), "seeds": result.seeds, "input_frames": result.input_frames,
        "truth_frames": 0 if result.truth is None else int(result.truth.shape[0]),
        "frame_colors": {"context": "green", "prediction": "red", "ground_truth": "gray"},
        "metrics_vs_truth": _frame_metrics(result),
        "files": {key: str(final_dir / pathlib.Path(path).name) for key, path in files.items()},
    }
    if extra:
        summary.update(extra)
    write_json(files["json"], summary)
    return files
