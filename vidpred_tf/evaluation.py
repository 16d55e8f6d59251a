"""Evaluate checkpoints of any paper on any registered dataset: the engine of ``vidpred evaluate``.

Videos come from a reader of :mod:`vidpred_tf.data.registry`, are fitted to each model's frame size and channels
(:func:`vidpred_tf.inference.fit_frames`), predicted from their first ``context`` frames, and every metric is
computed per predicted frame. Stochastic models draw ``samples`` predictions per video (seeds ``seed + s``) and
report the best, average and worst of them (:mod:`vidpred_tf.metrics.best_of_n`: per video and metric, the
sample with the best sum over the predicted frames). Outputs (:func:`write_evaluation`): ``metrics_per_step.csv``
(one row per checkpoint, statistic and predicted frame, one column per metric), ``<metric>.png`` (one curve per
checkpoint and statistic) and ``summary.json`` (conventions, seed, samples, device, means, curves).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import platform
import re
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from vidpred_tf.convert.i3d import load_i3d
from vidpred_tf.data.registry import get_reader, list_readers
from vidpred_tf.data.tfrecord import error_naming_file
from vidpred_tf.errors import InputError
from vidpred_tf.fileio import staged_output_dir, write_atomically, write_json
from vidpred_tf.inference import Predictor, fit_frames, run_predictor
from vidpred_tf.metrics import conventions, frame
from vidpred_tf.metrics.best_of_n import best_of_n, summarize_best_of_n, worst_of_n
from vidpred_tf.metrics.conventions import higher_is_better
from vidpred_tf.metrics.fvd import MIN_FRAMES, fvd
from vidpred_tf.metrics.lpips import LPIPS
from vidpred_tf.viz import plot_metric_curves

COPY_LAST = "copy_last"


def _metric_table() -> Dict[str, Callable]:
    return {
        "mse": frame.mse,
        "mae": frame.mae,
        "psnr": frame.psnr,
        "ssim_tf": frame.ssim_tf,
        "ssim_skimage": lambda a, b: frame.ssim_skimage(a, b, data_range=1.0),
        "ssim_finn": conventions.ssim_finn,
        "mse_openstl_frame_sum": lambda a, b: conventions.mse(a, b, "openstl_frame_sum"),
        "mae_openstl_frame_sum": lambda a, b: conventions.mae(a, b, "openstl_frame_sum"),
    }


# What each metric name means, written into summary.json so that a table says which convention it used.
CONVENTIONS = {
    "mse": "mean squared error per pixel (mean over H, W, C of one frame), frames in [0, 1]",
    "mae": "mean absolute error per pixel (mean over H, W, C of one frame), frames in [0, 1]",
    "psnr": "10 log10(1 / mse) per frame, data range 1.0 (frames in [0, 1])",
    "ssim_tf": "tf.image.ssim: 11x11 Gaussian window (sigma 1.5), population covariance, data range 1.0",
    "ssim_skimage": "skimage.metrics.structural_similarity defaults: 7x7 uniform window, sample covariance, "
                    "borders cropped by 3, data range 1.0",
    "ssim_finn": "SAVP's plotted SSIM (Finn et al.): scikit-image <= 0.15 Gaussian SSIM, 13-tap sigma 1.5, "
                 "population covariance, data range 1.0",
    "mse_openstl_frame_sum": "OpenSTL's MSE: squared error summed over H, W, C of one frame, frames in [0, 1]",
    "mae_openstl_frame_sum": "OpenSTL's MAE: absolute error summed over H, W, C of one frame, frames in [0, 1]",
    "lpips": "LPIPS v0.1 distance per frame (lower is better), frames given in [0, 1] (input_range='[0,1]'); gray "
             "frames tiled to RGB",
    "fvd": "Frechet Video Distance of I3D (Kinetics-400) logits over whole videos (context + predictions), "
           "resized to 224 and scaled to [-1, 1]; one number per checkpoint and statistic 'all samples'",
}
DEFAULT_METRICS = ("mse", "mae", "psnr", "ssim_tf", "ssim_skimage", "ssim_finn", "mse_openstl_frame_sum")
# Smallest frame side each SSIM needs (its window).
_MIN_FRAME = {"ssim_tf": 11, "ssim_skimage": 7, "ssim_finn": 11}


def known_metrics() -> List[str]:
    return list(_metric_table())


def check_metrics(names: Sequence[str]) -> List[str]:
    """The metric names, checked against :func:`known_metrics`; ``InputError`` names an unknown one."""
    known = known_metrics()
    names = [name.strip() for name in names if name.strip()]
    for name in names:
        if name not in known:
            raise InputError(f"--metrics: unknown metric {name!r}; known: {', '.join(known)} (LPIPS and FVD "
                             f"come with --lpips_weights and --i3d_weights)")
    if not names:
        raise InputError("--metrics names no metric")
    return names


def _parse_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_dataset_args(items: Sequence[str]) -> dict:
    """``["split=test", "num_sequences=64"]`` -> ``{"split": "test", "num_sequences": 64}`` (values as JSON when
    they parse, else strings)."""
    parsed = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--dataset_arg {item!r}: expected KEY=VALUE")
        parsed[key.strip()] = _parse_value(value)
    return parsed


def load_dataset_videos(dataset: str, data: Optional[str] = None, dataset_args: Optional[dict] = None,
                        num_videos: int = 64) -> np.ndarray:
    """The first ``num_videos`` videos of the registered reader ``dataset`` as float32 ``[N, T, H, W, C]``.

    ``data`` is the reader's first argument (files, a path) when it takes one; ``dataset_args`` its keyword
    arguments. Readers that batch as their original did are unbatched first.
    """


    try:
        reader = get_reader(dataset)
    except KeyError:
        raise InputError(f"--dataset={dataset!r} is not a registered dataset; known: "
                         f"{', '.join(list_readers())}") from None
    args = [data] if data else []
    try:
        examples = reader(*args, **(dataset_args or {}))
    except TypeError as err:
        raise InputError(f"--dataset={dataset}: the reader does not take these arguments ({err}); give its "
                         f"path with --data and its options with --dataset_arg KEY=VALUE") from err
    except (FileNotFoundError, ValueError) as err:
        raise InputError(f"--dataset={dataset}: {err}") from err
    images_spec = examples.element_spec["images"]
    if images_spec.shape.rank == 5:
        examples = examples.unbatch()
    videos = []
    try:
        for example in examples.take(num_videos).as_numpy_iterator():
            videos.append(np.asarray(example["images"], np.float32))
    except tf.errors.OpError as err:
        if dataset == "tfrecord" and data and isinstance(err, (tf.errors.DataLossError,
                                                                tf.errors.InvalidArgumentError)):
            # tf.data does not say which file is damaged ("truncated record at 6269088"): find it.
            try:
                better = error_naming_file(err, data)
            except (OSError, ValueError, tf.errors.OpError):
                better = err
            if better is not err:
                raise InputError(f"--dataset={dataset}: {better}") from err
        # A reader's Python error surfaces wrapped in TensorFlow's op error; its own message is the useful line.
        causes = re.findall(r"^\w*Error: (.+)$", err.message, re.MULTILINE)
        reason = causes[-1] if causes else err.message.strip().splitlines()[0]
        raise InputError(f"--dataset={dataset}: reading the data failed: {reason}") from err
    if not videos:
        raise InputError(f"--dataset={dataset}: the dataset holds no video")
    shapes = {video.shape for video in videos}
    if len(shapes) != 1:
        raise InputError(f"--dataset={dataset}: videos differ in shape ({sorted(shapes)[:3]}...)")
    return np.stack(videos)


class CopyLastFrame(Predictor):
    """The copy-last-frame reference: every predicted frame repeats the last context frame."""

    paper = "reference"
    model_name = COPY_LAST
    stochastic = False

    def __init__(self, image_size, channels: int, context_frames: int, horizon: int):
        self.image_size = tuple(image_size)
        self.channels = channels
        self.context_frames = context_frames
        self.default_horizon = horizon
        self.checkpoint = ""

    def predict(self, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
        return np.repeat(context[:, -1:], horizon, axis=1)


@dataclasses.dataclass
class CheckpointResult:
    """Per-frame values of one checkpoint: ``values[metric]`` is ``[S, N, horizon]``."""

    label: str
    predictor: dict
    values: Dict[str, np.ndarray]
    samples: int
    fvd: Optional[Dict[str, float]] = None


@dataclasses.dataclass
class EvaluationResult:
    dataset: dict
    context_frames: int
    horizon: int
    seed: int
    samples_requested: int
    metrics: List[str]
    checkpoints: List[CheckpointResult]
    seconds: float


def statistics(values: np.ndarray, name: str) -> Dict[str, np.ndarray]:
    """``[S, N, T]`` -> ``{statistic: [N, T]}``: ``mean`` for one sample; ``best``, ``avg``, ``worst`` of N
    (:mod:`vidpred_tf.metrics.best_of_n`) for several."""

    if values.shape[0] == 1:
        return {"mean": values[0]}
    larger = higher_is_better(name)
    return {"best": best_of_n(values, larger), "avg": values.mean(axis=0), "worst": worst_of_n(values, larger)}


def evaluate_predictors(predictors: Mapping[str, Predictor], videos: np.ndarray, *, context: Optional[int] = None,
                        horizon: Optional[int] = None, samples: int = 1, seed: int = 0,
                        metrics: Sequence[str] = DEFAULT_METRICS, batch_size: int = 16, lpips=None,
                        i3d_model=None, dataset: Optional[dict] = None,
                        progress: Optional[Callable[[str], None]] = None) -> EvaluationResult:
    """Predict ``videos`` ``[N, T, H, W, C]`` (in [0, 1]) with every predictor and compute the metrics per frame.

    ``context`` / ``horizon`` default to the first predictor's; ``samples`` predictions per video with seeds
    ``seed + s`` for stochastic predictors (deterministic ones are run once). ``lpips`` (a
    :class:`vidpred_tf.metrics.LPIPS`) adds ``lpips``; ``i3d_model`` (weights path or network) adds FVD.
    """
    if not predictors:
        raise InputError("no checkpoint to evaluate")
    started = time.time()
    first = next(iter(predictors.values()))
    context = first.context_frames if context is None else int(context)
    horizon = first.default_horizon if horizon is None else int(horizon)
    if context < 1 or horizon < 1 or samples < 1 or batch_size < 1:
        raise InputError(f"--context {context}, --horizon {horizon}, --samples {samples} and --batch_size "
                         f"{batch_size} must all be at least 1")
    videos = np.asarray(videos, np.float32)
    where = (dataset or {}).get("name", "the dataset")
    if videos.shape[1] < context + horizon:
        raise InputError(f"{where} has videos of {videos.shape[1]} frames; --context {context} + --horizon "
                         f"{horizon} needs {context + horizon}")
    videos = videos[:, :context + horizon]
    if i3d_model is not None:
        if context + horizon < MIN_FRAMES:
            raise InputError(f"--i3d_weights: FVD needs videos of at least {MIN_FRAMES} frames; --context "
                             f"{context} + --horizon {horizon} gives {context + horizon}")
        if len(videos) < 2:
            raise InputError(f"--i3d_weights: FVD needs at least 2 videos (a covariance); got {len(videos)}")
        if isinstance(i3d_model, (str, bytes)) or hasattr(i3d_model, "__fspath__"):
            i3d_model = load_i3d_weights(i3d_model)
    metrics = check_metrics(metrics)
    table = _metric_table()
    results = []
    for label, predictor in predictors.items():
        height, width = predictor.image_size
        for name in metrics:
            if name in _MIN_FRAME and min(height, width) < _MIN_FRAME[name]:
                raise InputError(f"metric {name} needs frames of at least {_MIN_FRAME[name]}x{_MIN_FRAME[name]}; "
                                 f"{label} predicts {height}x{width}")
        fitted = np.stack([fit_frames(video, predictor.image_size, predictor.channels, "stretch")
                           for video in videos])
        truth = fitted[:, context:]
        runs = samples if predictor.stochastic else 1
        per_sample: Dict[str, List[np.ndarray]] = {name: [] for name in metrics}
        if lpips is not None:
            per_sample["lpips"] = []
        predicted_videos = []
        for sample in range(runs):
            if progress:
                progress(f"{label}: sample {sample + 1}/{runs} of {len(fitted)} videos")
            predicted = np.concatenate([
                run_predictor(predictor, fitted[start:start + batch_size, :context], horizon, seed + sample)
                for start in range(0, len(fitted), batch_size)])
            for name in metrics:
                per_sample[name].append(np.asarray(table[name](truth, predicted), np.float64))
            if lpips is not None:
                per_sample["lpips"].append(np.asarray(lpips(truth, predicted, input_range="[0,1]"), np.float64))
            if i3d_model is not None:
                predicted_videos.append(predicted)
        values = {name: np.stack(arrays) for name, arrays in per_sample.items()}
        fvd_values = None
        if i3d_model is not None:
            real = fitted
            fvd_values = {f"sample_{s:02d}": fvd(real, np.concatenate([fitted[:, :context], p], axis=1), i3d_model)
                          for s, p in enumerate(predicted_videos)}
        results.append(CheckpointResult(label, predictor.describe(), values, runs, fvd_values))
    names = list(metrics) + (["lpips"] if lpips is not None else [])
    return EvaluationResult(dataset or {}, context, horizon, seed, samples, names, results, time.time() - started)


def load_lpips_weights(net: str, path):
    """The LPIPS metric of ``path``; ``InputError`` naming ``--lpips_weights`` when it is missing or wrong."""

    if not os.path.isfile(os.fspath(path)):
        raise InputError(f"--lpips_weights {path} does not exist (convert the original weights with python -m "
                         f"vidpred_tf.convert.lpips)")
    try:
        return LPIPS(net, weights=os.fspath(path))
    except (ValueError, OSError, KeyError) as err:
        raise InputError(f"--lpips_weights {path}: {str(err).splitlines()[0]}") from err


def load_i3d_weights(path):
    """The I3D network of ``path`` for FVD; ``InputError`` naming ``--i3d_weights`` when it is missing or wrong."""
    if not os.path.exists(os.fspath(path)):
        raise InputError(f"--i3d_weights {path} does not exist (convert the TF-Hub module with python -m "
                         f"vidpred_tf.convert.i3d)")
    try:
        return load_i3d(os.fspath(path))
    except (ValueError, OSError, KeyError) as err:
        raise InputError(f"--i3d_weights {path}: {str(err).splitlines()[0]}") from err


def device_description() -> dict:
    """The devices TensorFlow ran on, for the summary."""

    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append(details.get("device_name", gpu.name))
    return {"logical_devices": [d.name for d in tf.config.list_logical_devices()], "gpus": gpus,
            "cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "tensorflow": tf.__version__}


def _json_float(value) -> Optional[float]:
    value = float(value)
    return value if np.isfinite(value) else None


def csv_rows(result: EvaluationResult) -> List[dict]:
    """One row per checkpoint, statistic and predicted frame: ``checkpoint, statistic, step, frame`` and one
    column per metric (the mean over videos; empty for an undefined value such as the PSNR of equal frames)."""
    rows = []
    for checkpoint in result.checkpoints:
        curves = {name: {stat: values.mean(axis=0) for stat, values in statistics(checkpoint.values[name],
                                                                                   name).items()}
                  for name in result.metrics}
        for stat in curves[result.metrics[0]]:
            for step in range(result.horizon):
                row = {"checkpoint": checkpoint.label, "statistic": stat, "step": step + 1,
                       "frame": result.context_frames + step + 1}
                for name in result.metrics:
                    value = _json_float(curves[name][stat][step])
                    row[name] = "" if value is None else f"{value:.8g}"
                rows.append(row)
    return rows


def summary(result: EvaluationResult, files: Optional[dict] = None) -> dict:
    """The JSON summary: conventions, seed, samples, device, and per checkpoint and metric the means and
    per-step curves (``[N, T]`` -> mean/per_timestep; several samples -> best/avg/worst)."""

    checkpoints = []
    for checkpoint in result.checkpoints:
        entry = {"label": checkpoint.label, "predictor": checkpoint.predictor, "samples": checkpoint.samples,
                 "metrics": {}}
        for name in result.metrics:
            values = checkpoint.values[name]
            if values.shape[0] == 1:
                entry["metrics"][name] = {"mean": _json_float(values.mean()),
                                          "per_timestep": [_json_float(v) for v in values[0].mean(axis=0)],
                                          "num_videos": int(values.shape[1])}
            else:
                entry["metrics"][name] = summarize_best_of_n(values, higher_is_better(name))
        if checkpoint.fvd is not None:
            entry["fvd"] = {key: _json_float(value) for key, value in checkpoint.fvd.items()}
        checkpoints.append(entry)
    conventions = {name: CONVENTIONS["lpips" if name == "lpips" else name] for name in result.metrics}
    if any(c.fvd is not None for c in result.checkpoints):
        conventions["fvd"] = CONVENTIONS["fvd"]
    return {
        "dataset": result.dataset,
        "num_videos": int(result.checkpoints[0].values[result.metrics[0]].shape[1]),
        "context_frames": result.context_frames,
        "horizon": result.horizon,
        "first_predicted_frame": result.context_frames + 1,
        "seed": result.seed,
        "samples_requested": result.samples_requested,
        "sample_seeds": [result.seed + s for s in range(result.samples_requested)],
        "best_of_n_protocol": "per video and metric, the sample with the best sum over the predicted frames "
                              "(MSPred/SVG); avg = mean over samples; worst likewise",
        "metrics": result.metrics,
        "conventions": conventions,
        "device": device_description(),
        "seconds": result.seconds,
        "checkpoints": checkpoints,
        "files": files or {},
    }


def write_evaluation(result: EvaluationResult, output_dir) -> dict:
    """Write ``metrics_per_step.csv``, one ``<metric>.png`` per metric and ``summary.json`` into ``output_dir``
    (atomically); returns ``{"csv": path, "plots": {metric: path}, "summary": path}``."""
    # Written into a hidden staging folder, then moved into place (the summary last): an error half-way leaves
    # no mix of new and old files.
    with staged_output_dir(output_dir, ".evaluation-") as (final_dir, stage):
        final_dir, stage = os.fspath(final_dir), os.fspath(stage)
        staged = _write_evaluation_files(result, stage, final_dir)
        moves = [staged["csv"], *staged["plots"].values(), staged["summary"]]
        for path in moves:
            os.replace(path, os.path.join(final_dir, os.path.basename(path)))
    return _relocated(staged, final_dir)


def _relocated(files: dict, directory: str) -> dict:
    def move(path):
        return os.path.join(directory, os.path.basename(path))

    return {"csv": move(files["csv"]), "plots": {name: move(path) for name, path in files["plots"].items()},
            "summary": move(files["summary"])}


def _write_evaluation_files(result: EvaluationResult, output_dir: str, final_dir: str) -> dict:
    files = {"csv": os.path.join(output_dir, "metrics_per_step.csv"), "plots": {},
             "summary": os.path.join(output_dir, "summary.json")}
    rows = csv_rows(result)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=["checkpoint", "statistic", "step", "frame"] + result.metrics,
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)

    def write_csv(temp_path):
        with open(temp_path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text.getvalue())

    write_atomically(files["csv"], write_csv)
    for name in result.metrics:
        curves = {}
        for checkpoint in result.checkpoints:
            for stat, values in statistics(checkpoint.values[name], name).items():
                label = (checkpoint.label if stat == "mean"
                         else f"{checkpoint.label} ({stat} of {checkpoint.samples})")
                curve = values.mean(axis=0)
                # An undefined value (PSNR of identical frames) would break the line; leave such curves out.
                if np.all(np.isfinite(curve)):
                    curves[label] = curve
        if curves:
            path = os.path.join(output_dir, f"{name}.png")
            plot_metric_curves(path, curves, metric_name=name, first_step=result.context_frames + 1,
                               title=f"{name} per predicted frame")
            files["plots"][name] = path
    write_json(files["summary"], summary(result, _relocated(files, final_dir)))
    return files
