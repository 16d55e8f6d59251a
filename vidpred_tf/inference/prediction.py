"""Predicting the future of one video with a loaded :class:`~vidpred_tf.inference.registry.Predictor`
(:func:`predict_video`), and writing it out as GIF, MP4, PNG frames, ``.npy`` and JSON with the predicted frames
marked (:func:`write_prediction_outputs`)."""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import List, Optional, Sequence

import numpy as np

from vidpred_tf import metrics, viz
from vidpred_tf.errors import InputError
from vidpred_tf.fileio import staged_output_dir, write_atomically, write_json
from vidpred_tf.inference.registry import Predictor
from vidpred_tf.inference.video_input import fit_frames

# Frame colours of the written videos (RGB): context frames green, predicted frames red, ground truth gray.
CONTEXT_COLOR = (0, 200, 0)
PREDICTION_COLOR = (230, 0, 0)
TRUTH_COLOR = (128, 128, 128)


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
