"""SAVP's evaluation protocol (``scripts/evaluate.py`` and ``BaseVideoPredictionModel.eval_outputs_and_metrics_fn``)
on NumPy arrays, batch-major.

Metrics, on the **future frames only** (``images[:, -F:]`` vs ``gen_images[:, -F:]``, F = T - context_frames),
one value per frame ``[B, F]``, from :mod:`vidpred_tf.metrics`:

* ``psnr``: ``tf.image.psnr(max_val=1)`` (:func:`vidpred_tf.metrics.psnr`);
* ``mse``: mean over H, W, C of the squared error (:func:`vidpred_tf.metrics.mse`);
* ``ssim``: ``tf.image.ssim(max_val=1)`` (:func:`vidpred_tf.metrics.ssim_tf`);
* ``lpips``: LPIPS v0.1 AlexNet-lin on [0, 1] frames (gray tiled to RGB), **negated** (higher = better), as the
  original reported it. Needs converted weights (:class:`vidpred_tf.metrics.LPIPS`); without an LPIPS the metric
  and the diversity are left out.

Best / avg / worst of N (:class:`EvalAccumulator`): N samples per batch (fresh randomness each); per example, the
sample with the largest (``max``) and the smallest (``min``) **time-averaged** metric is kept with its whole
``[F]`` curve and its images; a later sample replaces it only if strictly larger (smaller), so ties keep the
earliest. ``avg`` is the mean over the N samples of the curves and of the images. Note (quirk Q8): ``max`` is the
*best* sample for psnr, ssim and lpips but the *worst* for mse. ``diversity`` is the sum over samples 1..10 of
the LPIPS distance between consecutive samples' future frames, divided by 10 (``[B, F]``). Deterministic models
(and the non-trainable ones) run once: min = avg = max = that sample, and there is no diversity.

Result keys are the original's (batch-major): ``eval_images``, ``eval_<metric>/<subtask>``,
``eval_gen_images_<metric>/<subtask>`` (or ``eval_gen_images`` for deterministic models), ``eval_diversity``.

Files (:func:`save_prediction_eval_results`), under ``<output_dir>/``:
``prediction_eval_<metric>_<subtask>/inputs/context_image_%05d_%02d.png`` (example, time),
``.../outputs/gen_image_%05d_%02d.png`` (the chosen sample's future frames), ``.../metrics/<metric>.csv``, and
``prediction_eval_diversity/metrics/diversity.csv``. CSVs are tab-separated with the header
``sample_ind 0 ... F-1 mean`` and one row per example (Python ``str`` of the float32 values), written for the
first batch and appended for the next ones. PNGs are ``(x * 255).astype(uint8)`` (truncation, quirk Q13; values
are clipped to [0, 255] first, where the original's cast wrapped around), BGR through cv2, gray tiled to 3
channels.
"""

from __future__ import annotations

import csv
import io
import os
import re
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import cv2
import numpy as np

from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.fileio import write_atomically
from vidpred_tf.metrics.best_of_n import best_sample_indices, take_samples
from vidpred_tf.metrics.frame import mse as _mse
from vidpred_tf.metrics.frame import psnr as _psnr
from vidpred_tf.metrics.frame import ssim_tf as _ssim_tf
from vidpred_tf.viz.plots import plot_metric_curves
from vidpred_tf.viz.video import write_gif

METRIC_NAMES = ("psnr", "mse", "ssim", "lpips")
SUBTASKS = ("max", "avg", "min")
NUM_SAMPLES_FOR_DIVERSITY = 10
# The metrics of the final printed table (under ``max``), as evaluate.py printed them.
TABLE_METRICS = ("psnr", "ssim", "lpips")

MetricFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


# ------------------------------------------------------------------------------------------------ metrics
def metric_fns(lpips=None) -> Dict[str, MetricFn]:
    """``{name: fn(target, pred) -> per-frame values}`` in the original's order; ``lpips`` is a callable
    ``lpips(a, b, input_range='[0,1]') -> distance`` (a :class:`vidpred_tf.metrics.LPIPS`), reported negated."""
    fns: Dict[str, MetricFn] = {
        "psnr": lambda a, b: _psnr(a, b, data_range=1.0),
        "mse": _mse,
        "ssim": lambda a, b: _ssim_tf(a, b, data_range=1.0),
    }
    if lpips is not None:
        fns["lpips"] = lambda a, b: -np.asarray(lpips(a, b, input_range="[0,1]"))
    return fns


def _float32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def _check_pair(images: np.ndarray, gen_images: np.ndarray, context_frames: int) -> int:
    if images.ndim != 5 or gen_images.ndim != 5:
        raise InputError(f"evaluation: images and gen_images must be [B, T, H, W, C]; got {images.shape} and "
                         f"{gen_images.shape}")
    future_length = images.shape[1] - context_frames
    if future_length < 1 or gen_images.shape[1] < future_length:
        raise InputError(f"evaluation: {images.shape[1]} frames with context_frames={context_frames} leave no "
                         f"future frames to compare with gen_images of shape {gen_images.shape}")
    if images.shape[0] != gen_images.shape[0] or images.shape[2:] != gen_images.shape[2:]:
        raise InputError(f"evaluation: images {images.shape} and gen_images {gen_images.shape} do not match")
    return future_length


def future_metrics(images, gen_images, context_frames: int, fns: Mapping[str, MetricFn]) -> Dict[str, np.ndarray]:
    """Every metric on the future frames: ``images [B, T, ...]``, ``gen_images [B, T-1, ...]`` -> ``{name: [B, F]}``."""
    images, gen_images = _float32(images), _float32(gen_images)
    future_length = _check_pair(images, gen_images, context_frames)
    target, pred = images[:, -future_length:], gen_images[:, -future_length:]
    return {name: _float32(fn(target, pred)) for name, fn in fns.items()}


# --------------------------------------------------------------------------------------- best/avg/worst of N
class EvalAccumulator:
    """The original's ``tf.foldl`` over samples, one sample at a time (the N samples are never held together).

    ``images`` ``[B, T, H, W, C]`` is the batch; :meth:`add` takes each sample's ``gen_images [B, T-1, ...]``;
    :meth:`results` gives the result dict (see the module docstring). ``diversity_distance(a, b)`` is the LPIPS
    *distance* per frame (``None``: no diversity).
    """

    def __init__(self, images, context_frames: int, fns: Mapping[str, MetricFn], num_samples: int,
                 diversity_distance: Optional[MetricFn] = None,
                 num_samples_for_diversity: int = NUM_SAMPLES_FOR_DIVERSITY):
        if num_samples < 1:
            raise InputError(f"--num_stochastic_samples must be at least 1; got {num_samples}")
        self.images = _float32(images)
        self.context_frames = int(context_frames)
        self.fns = dict(fns)
        self.num_samples = int(num_samples)
        self.num_samples_for_diversity = int(num_samples_for_diversity)
        self.diversity_distance = diversity_distance
        self.count = 0
        self.metrics: Dict[str, Dict[str, np.ndarray]] = {}
        self.gen_images: Dict[str, Dict[str, np.ndarray]] = {}
        self.diversity: Optional[np.ndarray] = None
        self._last_pred: Optional[np.ndarray] = None

    def add(self, gen_images) -> None:
        gen_images = _float32(gen_images)
        values = future_metrics(self.images, gen_images, self.context_frames, self.fns)
        future_length = self.images.shape[1] - self.context_frames
        pred = gen_images[:, -future_length:]
        for name, metric in values.items():
            if name not in self.metrics:
                batch = metric.shape[0]
                self.metrics[name] = {"min": np.full_like(metric, np.inf), "sum": np.zeros_like(metric),
                                      "max": np.full_like(metric, -np.inf)}
                self.gen_images[name] = {key: np.zeros_like(gen_images) for key in ("min", "sum", "max")}
                assert batch == gen_images.shape[0]
            kept, images = self.metrics[name], self.gen_images[name]
            mean = metric.mean(axis=1)
            for key, better in (("min", mean < kept["min"].mean(axis=1)), ("max", mean > kept["max"].mean(axis=1))):
                kept[key] = np.where(better[:, None], metric, kept[key])
                images[key] = np.where(better[:, None, None, None, None], gen_images, images[key])
            kept["sum"] = kept["sum"] + metric
            images["sum"] = images["sum"] + gen_images
        if self.diversity_distance is not None:
            if self.diversity is None:
                self.diversity = np.zeros((pred.shape[0], future_length), np.float32)
            if 0 < self.count <= self.num_samples_for_diversity:
                self.diversity = self.diversity + _float32(self.diversity_distance(self._last_pred, pred))
        self._last_pred = pred
        self.count += 1

    def results(self) -> Dict[str, np.ndarray]:
        if self.count != self.num_samples:
            raise RuntimeError(f"EvalAccumulator: {self.count} samples added, {self.num_samples} expected")
        results: Dict[str, np.ndarray] = {"eval_images": self.images}
        for name in self.fns:
            kept, images = self.metrics[name], self.gen_images[name]
            results["eval_gen_images_%s/min" % name] = images["min"]
            results["eval_gen_images_%s/avg" % name] = images["sum"] / np.float32(self.num_samples)
            results["eval_gen_images_%s/max" % name] = images["max"]
            results["eval_%s/min" % name] = kept["min"]
            results["eval_%s/avg" % name] = kept["sum"] / np.float32(self.num_samples)
            results["eval_%s/max" % name] = kept["max"]
        if self.diversity is not None:
            results["eval_diversity"] = self.diversity / np.float32(self.num_samples_for_diversity)
        return results


def deterministic_results(images, gen_images, context_frames: int,
                          fns: Mapping[str, MetricFn]) -> Dict[str, np.ndarray]:
    """A deterministic model's results: the one sample under min, avg and max; ``eval_gen_images``."""
    values = future_metrics(images, gen_images, context_frames, fns)
    results: Dict[str, np.ndarray] = {"eval_images": _float32(images)}
    for name, metric in values.items():
        for subtask in ("min", "avg", "max"):
            results["eval_%s/%s" % (name, subtask)] = metric
    results["eval_gen_images"] = _float32(gen_images)
    return results


def eval_outputs_and_metrics(images, sample_fn: Callable[[int], np.ndarray], context_frames: int,
                             fns: Mapping[str, MetricFn], num_samples: int, deterministic: bool,
                             diversity_distance: Optional[MetricFn] = None,
                             num_samples_for_diversity: int = NUM_SAMPLES_FOR_DIVERSITY) -> Dict[str, np.ndarray]:
    """One batch: ``sample_fn(i)`` gives sample ``i``'s ``gen_images [B, T-1, ...]`` (called once for a
    deterministic model, ``num_samples`` times otherwise)."""
    if deterministic:
        return deterministic_results(images, sample_fn(0), context_frames, fns)
    accumulator = EvalAccumulator(images, context_frames, fns, num_samples, diversity_distance,
                                  num_samples_for_diversity)
    for index in range(num_samples):
        accumulator.add(sample_fn(index))
    return accumulator.results()


def select_by_time_mean(values, subtask: str) -> np.ndarray:
    """Reference selection on all samples at once, ``[N, B, F]`` -> ``[B, F]``: ``max``/``min`` keep the sample
    with the largest/smallest time-averaged value (first on ties), ``avg`` the mean (what
    :class:`EvalAccumulator` computes one sample at a time; :mod:`vidpred_tf.metrics.best_of_n` ranks)."""
    array = np.asarray(values, dtype=np.float64)
    if subtask == "avg":
        return array.mean(axis=0)
    if subtask not in ("max", "min"):
        raise InputError(f"--eval_substasks: unknown subtask {subtask!r} (known: {list(SUBTASKS)})")
    return take_samples(array, best_sample_indices(array, higher_is_better=subtask == "max"))


# ------------------------------------------------------------------------------------------------ files
def to_uint8(image) -> np.ndarray:
    """``(x * 255).astype(uint8)``: truncation as the original (clipped to [0, 255] first)."""
    return np.clip(np.asarray(image, np.float32) * np.float32(255.0), 0, 255).astype(np.uint8)


def png_pixels(image) -> np.ndarray:
    """The uint8 array cv2 writes for one ``[H, W, C]`` frame in [0, 1]: gray tiled to 3 channels, RGB -> BGR."""
    pixels = to_uint8(image)
    if pixels.shape[-1] == 1:
        return np.tile(pixels, (1, 1, 3))
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)


def write_png(path: str, image) -> None:
    """One frame as PNG (atomically), as the original's ``save_image_sequence`` wrote it."""
    pixels = png_pixels(image)

    def write(temp_path: str) -> None:
        if not cv2.imwrite(temp_path, pixels):
            raise OSError(f"cv2 could not write {path}")

    write_atomically(path, write)


def save_image_sequences(prefix: str, images, sample_start_ind: int = 0, time_start_ind: int = 0) -> None:
    """``<prefix>_%05d_%02d.png`` (example ``sample_start_ind + i``, time ``time_start_ind + t``)."""
    head = os.path.dirname(prefix)
    if head:
        os.makedirs(head, exist_ok=True)
    for i, sequence in enumerate(images):
        for t, image in enumerate(sequence):
            write_png("%s_%05d_%02d.png" % (prefix, sample_start_ind + i, time_start_ind + t), image)


def _csv_rows(metrics: np.ndarray, sample_start_ind: int, header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", quotechar="|", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    if header:
        writer.writerow([str(item) for item in ["sample_ind"] + list(range(metrics.shape[1])) + ["mean"]])
    for i, row in enumerate(metrics):
        writer.writerow([str(item) for item in [sample_start_ind + i] + list(row) + [np.mean(row)]])
    return buffer.getvalue()


def save_metrics(prefix: str, metrics, sample_start_ind: int = 0) -> str:
    """``<prefix>.csv``: written anew (with the header) when ``sample_start_ind`` is 0, else appended.
    ``metrics`` is ``[B, F]`` float32; returns the file name."""
    metrics = _float32(metrics)
    if metrics.ndim != 2:
        raise ValueError(f"save_metrics({prefix}): expected [B, F] values; got shape {metrics.shape}")
    head = os.path.dirname(prefix)
    if head:
        os.makedirs(head, exist_ok=True)
    path = "%s.csv" % prefix
    previous = ""
    if sample_start_ind != 0 and os.path.exists(path):
        with open(path, newline="", encoding="utf-8") as handle:
            previous = handle.read()
    text = previous + _csv_rows(metrics, sample_start_ind, header=sample_start_ind == 0)

    def write(temp_path: str) -> None:
        with open(temp_path, "w", newline="", encoding="utf-8") as handle:
            handle.write(text)

    write_atomically(path, write)
    return path


def load_metrics(prefix: str) -> np.ndarray:
    """``<prefix>.csv`` -> ``[B, F]`` float32 (header, index column and mean column dropped)."""
    path = "%s.csv" % prefix
    if not os.path.isfile(path):
        raise InputError(f"metrics file {path} does not exist")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quotechar="|"))
    try:
        return np.array(rows)[1:, 1:-1].astype(np.float32)
    except ValueError as error:
        raise InputError(f"metrics file {path} is not a SAVP metrics table ({error})") from error


def result_metric_names(results: Mapping[str, np.ndarray], subtask: str) -> List[str]:
    """The metric names of ``eval_<metric>/<subtask>`` keys, in the results' order."""
    names = []
    for key in results:
        match = re.fullmatch(r"eval_(\w+)/%s" % re.escape(subtask), key)
        if match and not key.startswith("eval_gen_images_"):
            names.append(match.group(1))
    return names


def save_prediction_eval_results(task_dir: str, results: Mapping[str, np.ndarray], context_frames: int,
                                 sequence_length: int, sample_start_ind: int = 0, only_metrics: bool = False,
                                 subtasks: Optional[Sequence[str]] = None) -> None:
    """One batch's files (``task_dir`` is ``<output_dir>/prediction_eval``); ``results['images']`` (or
    ``eval_images``) is the batch ``[B, T, ...]``."""
    future_length = sequence_length - context_frames
    images = results["images"] if "images" in results else results["eval_images"]
    context_images = np.asarray(images)[:, :context_frames]
    if "eval_diversity" in results:
        save_metrics(os.path.join(task_dir + "_diversity", "metrics", "diversity"), results["eval_diversity"],
                     sample_start_ind=sample_start_ind)
    for subtask in subtasks or ["max"]:
        for name in result_metric_names(results, subtask):
            subtask_dir = task_dir + "_%s_%s" % (name, subtask)
            gen_images = results.get("eval_gen_images_%s/%s" % (name, subtask), results.get("eval_gen_images"))
            save_metrics(os.path.join(subtask_dir, "metrics", name), results["eval_%s/%s" % (name, subtask)],
                         sample_start_ind=sample_start_ind)
            if only_metrics:
                continue
            save_image_sequences(os.path.join(subtask_dir, "inputs", "context_image"), context_images,
                                 sample_start_ind=sample_start_ind)
            save_image_sequences(os.path.join(subtask_dir, "outputs", "gen_image"),
                                 np.asarray(gen_images)[:, -future_length:], sample_start_ind=sample_start_ind)


# ------------------------------------------------------------------------------------------- generate.py
def png_name_pattern(future_length: int) -> str:
    """``gen_image_%05d_%02d_%0Nd.png`` with N = max(2, number of digits of ``future_length - 1``)."""
    return "gen_image_%%05d_%%02d_%%0%dd.png" % max(2, len(str(future_length - 1)))


def save_generated(output_gif_dir: Optional[str], output_png_dir: Optional[str], images, gen_images,
                   context_frames: int, sample_ind: int, stochastic_sample_ind: int,
                   gif_length: Optional[int] = None, fps: int = 4) -> None:
    """One sample of a batch: ``images [B, T, ...]`` (the inputs) and ``gen_images [B, T-1, ...]`` in [0, 1].
    ``None`` for a folder skips that kind of file."""
    future_length = np.asarray(images).shape[1] - context_frames
    gen_images = np.asarray(gen_images)[:, -future_length:]
    pattern = png_name_pattern(future_length)
    for i, gen_sequence in enumerate(gen_images):
        index = sample_ind + i
        if output_gif_dir is not None:
            context = to_uint8(np.asarray(images[i][:context_frames]))
            frames = np.concatenate([context, to_uint8(gen_sequence)], axis=0)
            if gif_length:
                frames = frames[:gif_length]
            write_gif(os.path.join(output_gif_dir, "gen_image_%05d_%02d.gif" % (index, stochastic_sample_ind)),
                      frames, fps=fps)
        if output_png_dir is not None:
            for t, frame in enumerate(gen_sequence):
                write_png(os.path.join(output_png_dir, pattern % (index, stochastic_sample_ind, t)), frame)


# ------------------------------------------------------------------------------------------------ summary
def summary_table(output_dir: str, metric_names: Sequence[str] = TABLE_METRICS, subtask: str = "max") -> str:
    """evaluate.py's final table: per metric, mean (std) over examples at each time step, then overall."""
    lines = []
    for name in metric_names:
        task_name = "prediction_eval_%s_%s" % (name, subtask)
        prefix = os.path.join(output_dir, task_name, "metrics", name)
        if not os.path.exists(prefix + ".csv"):
            continue
        metric = load_metrics(prefix)
        row = "{:>10} {:>10.4f} ({:>7.4f})"
        lines += ["=" * 31, "%s %s" % (task_name, name), "-" * 31, "{:>10} {:>20}".format("time step", name)]
        for t, (mean, std) in enumerate(zip(metric.mean(axis=0), metric.std(axis=0))):
            lines.append(row.format(t, mean, std))
        lines += [row.format("mean (std)", metric.mean(), metric.std()), "=" * 31]
    return "\n".join(lines)


def plot_results_dir(output_dir: str, context_frames: int, metric_names: Iterable[str] = METRIC_NAMES,
                     subtasks: Sequence[str] = SUBTASKS) -> List[str]:
    """One PNG per metric, ``<output_dir>/plots/<metric>.png``: the per-time-step mean of each subtask's CSV
    against the frame number (first future frame = ``context_frames + 1``). Returns the files written."""
    written = []
    for name in metric_names:
        curves = {}
        for subtask in subtasks:
            prefix = os.path.join(output_dir, "prediction_eval_%s_%s" % (name, subtask), "metrics", name)
            if os.path.exists(prefix + ".csv"):
                curves[subtask] = load_metrics(prefix).mean(axis=0)
        if not curves:
            continue
        os.makedirs(os.path.join(output_dir, "plots"), exist_ok=True)
        path = os.path.join(output_dir, "plots", "%s.png" % name)
        label = "%s (negated distance)" % name if name == "lpips" else name
        plot_metric_curves(path, curves, name, first_step=context_frames + 1, ylabel="average " + label)
        written.append(path)
    return written


def list_method_dirs(results_dir: str) -> List[str]:
    """The folders of ``results_dir`` except ``web*``: ground_truth and repeat first, then the rest sorted."""
    if not os.path.isdir(results_dir):
        raise MissingInputError(f"results_dir {results_dir} does not exist")
    names = [name for name in os.listdir(results_dir)
             if os.path.isdir(os.path.join(results_dir, name)) and not name.startswith("web")]
    first = [name for name in ("ground_truth", "repeat") if name in names]
    return first + sorted(name for name in names if name not in first)
