"""MSPred evaluation (the original ``03_evaluate.py`` and ``lib/metrics.py``): best-of-N metrics per level.

Protocol (spec section 6): the test split at ``eval.context`` / ``eval.num_preds``, the loader shuffled, the model
in eval mode (prior latents). Every batch is predicted N = ``n_samples_per_seq`` times; for **each metric
independently** and each sequence the sample with the best frame-sum is kept (lowest for mse, mae, lpips, mpjpe;
highest otherwise; a NaN frame-sum wins, as torch's arg-min/arg-max do). Means over (sequence, frame) and the
framewise means ignore NaNs.

Outputs, as the original writes them:

* ``results/results_<ckpt>/metrics_<h>.json``: ``mean_<m>`` (rounded to 5 decimals), ``framewise_<m>`` (lists
  rounded to 5 decimals) and, for segmentation, ``classwise_segmentation_accuracy`` / ``classwise_iou`` (float
  lists, not rounded). NaN is written as ``NaN`` (Python's json default, as the original).
* ``results/plots_<ckpt>/results_<last word of the metric>_level_<h>.png``: framewise plots against the predicted
  frame numbers.

Faithful quirks kept by default (each has an option to fix it): LPIPS gets the [0, 1] frames as if they were in
[-1, 1], so its LPIPS numbers are not the standard ones (``lpips_rescale``); ``classwise_segmentation_accuracy`` is
per-class precision, its confusion matrix being transposed (``classwise_accuracy_as_recall``); the per-frame mean
IoU is NaN whenever a class is absent from both maps (``iou_ignore_absent_classes``). The classwise segmentation
lists average over all N samples (the original's best-of-N selection never touches them).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.data.batch import IMAGES
from vidpred_tf.fileio import write_json
from vidpred_tf.metrics import keypoints as keypoint_metrics
from vidpred_tf.metrics.best_of_n import best_of_n
from vidpred_tf.metrics.frame import mae as frame_mae
from vidpred_tf.metrics.frame import mse as frame_mse
from vidpred_tf.metrics.frame import psnr_piqa, ssim_piqa
from vidpred_tf.metrics.segmentation import segmentation_stats
from vidpred_tf.models.mspred.params import model_num_preds, sequence_length, uses_aux_outputs
from vidpred_tf.papers.mspred import figures as mspred_figures
from vidpred_tf.papers.mspred.checkpoints import load_model_for_evaluation
from vidpred_tf.papers.mspred.data import load_mspred_dataset, make_tf_dataset
from vidpred_tf.viz.grid import write_comparison_gif

# The original CONFIG.METRIC_SETS and each dataset's METRICS_LEVEL_{0,1,2}.
METRIC_SETS: Dict[str, List[str]] = {
    "video_prediction": ["mse", "mae", "psnr", "ssim", "lpips"],
    "keypoint": ["mpjpe", "pdj@0.1", "pdj@0.2", "pdj@0.3", "pdj@0.4", "pdj@0.5",
                 "pck@0.1", "pck@0.2", "pck@0.3", "pck@0.4", "pck@0.5"],
    "segmentation": ["segmentation_accuracy", "iou"],
    "blob": ["mse", "mae"],
    "single_keypoint_metric": ["mpjpe"],
}
LEVEL_METRIC_SETS: Dict[str, Sequence[str]] = {
    "moving_mnist": ("video_prediction", "blob", "blob"),
    "custom_moving_mnist": ("video_prediction", "blob", "blob"),
    "kth": ("video_prediction", "keypoint", "single_keypoint_metric"),
    "synpick": ("video_prediction", "segmentation", "single_keypoint_metric"),
}
LOWER_IS_BETTER = ("mse", "mae", "lpips", "mpjpe")
SEGMENTATION_METRICS = ("segmentation_accuracy", "iou")


def level_metrics(dataset_name: str) -> List[List[str]]:
    """The metric names of levels 0, 1 and 2 for a dataset (``METRICS_LEVEL_*`` of the original)."""
    if dataset_name not in LEVEL_METRIC_SETS:
        raise ValueError(f"dataset.dataset_name {dataset_name!r} has no evaluation metrics; known datasets: "
                         f"{sorted(LEVEL_METRIC_SETS)}")
    return [list(METRIC_SETS[name]) for name in LEVEL_METRIC_SETS[dataset_name]]


def check_metric_name(name: str) -> None:
    known = ("mse", "mae", "psnr", "ssim", "lpips", "mpjpe") + SEGMENTATION_METRICS
    if name in known:
        return
    if name.startswith(("pdj@", "pck@")):
        keypoint_metrics.parse_factor(name)
        return
    raise ValueError(f"unknown metric {name!r}; known: {list(known)} and pdj@<f>, pck@<f>")


def higher_is_better(name: str) -> bool:
    """Ranking direction of an MSPred metric (the original's ``LOWER_BETTER``)."""
    check_metric_name(name)
    return name not in LOWER_IS_BETTER


@dataclasses.dataclass
class MetricOptions:
    """How the metrics are computed. ``lpips``: a :class:`vidpred_tf.metrics.lpips.LPIPS` (None skips the LPIPS
    metric). The three flags fix the original's quirks (all False = faithful; see the module docstring)."""

    lpips: Optional[object] = None
    lpips_rescale: bool = False
    classwise_accuracy_as_recall: bool = False
    iou_ignore_absent_classes: bool = False


def _frames_shape_check(preds: np.ndarray, targets: np.ndarray, name: str) -> None:
    if preds.ndim != 5 or preds.shape != targets.shape:
        raise ValueError(f"{name}: predictions and targets must both be (B, F, H, W, C) of one shape; got "
                         f"{preds.shape} and {targets.shape}")


def compute_metric(name: str, preds, targets, options: Optional[MetricOptions] = None) -> Dict[str, np.ndarray]:
    """One metric on ``(B, F, H, W, C)`` predictions and targets: ``{"values": (B, F)}``, plus ``"classwise":
    (B, F, C)`` for the segmentation metrics."""
    options = options or MetricOptions()
    preds = np.asarray(preds, dtype=np.float32)
    targets = np.asarray(targets, dtype=np.float32)
    _frames_shape_check(preds, targets, name)
    if name == "mse":
        return {"values": frame_mse(preds, targets).astype(np.float32)}
    if name == "mae":
        return {"values": frame_mae(preds, targets).astype(np.float32)}
    if name == "psnr":
        return {"values": psnr_piqa(preds, targets).astype(np.float32)}
    if name == "ssim":
        return {"values": ssim_piqa(preds, targets).astype(np.float32)}
    if name == "lpips":
        if options.lpips is None:
            raise ValueError("metric 'lpips' needs an LPIPS network (MetricOptions.lpips); none was given")
        # The original hands lpips its [0, 1] frames unchanged while lpips expects [-1, 1].
        input_range = "[0,1]" if options.lpips_rescale else "[-1,1]"
        return {"values": np.asarray(options.lpips(preds, targets, input_range=input_range), dtype=np.float32)}
    if name == "mpjpe":
        return {"values": keypoint_metrics.mpjpe(preds, targets)}
    if name.startswith("pdj@"):
        return {"values": keypoint_metrics.pdj(preds, targets, keypoint_metrics.parse_factor(name))}
    if name.startswith("pck@"):
        return {"values": keypoint_metrics.pck(preds, targets, keypoint_metrics.parse_factor(name))}
    if name in SEGMENTATION_METRICS:
        stats = segmentation_stats(preds, targets)
        if name == "segmentation_accuracy":
            classwise = stats["recall"] if options.classwise_accuracy_as_recall else stats["precision"]
            return {"values": stats["accuracy"], "classwise": classwise}
        values = stats["mean_iou_present"] if options.iou_ignore_absent_classes else stats["mean_iou"]
        return {"values": values, "classwise": stats["iou"]}
    check_metric_name(name)
    raise ValueError(f"metric {name!r} is not computed on frames")


def _safe_mean(values: np.ndarray, axis=None):
    """The original ``Metric.aggregate``: NaNs count as 0 in the sum and not at all in the count."""
    nan = np.isnan(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(nan, 0.0, values).sum(axis=axis) / (~nan).sum(axis=axis)).astype(np.float32)


class LevelMetricTracker:
    """The original ``MetricTracker`` of one level: per batch, the N samples of each metric are reduced to the
    best per sequence; ``results`` aggregates over everything seen."""

    def __init__(self, metric_names: Iterable[str], options: Optional[MetricOptions] = None):
        self.metric_names = list(metric_names)
        for name in self.metric_names:
            check_metric_name(name)
        self.options = options or MetricOptions()
        self._values: Dict[str, List[np.ndarray]] = {name: [] for name in self.metric_names}
        self._classwise: Dict[str, List[np.ndarray]] = {name: [] for name in self.metric_names
                                                        if name in SEGMENTATION_METRICS}

    def add_batch(self, sample_preds: Sequence, targets) -> None:
        """``sample_preds``: the N predictions ``(B, F, H, W, C)`` of one batch; ``targets`` the matching
        ``(B, F, H, W, C)`` ground truth."""
        if not len(sample_preds):
            raise ValueError("add_batch: no samples given")
        for name in self.metric_names:
            per_sample = [compute_metric(name, preds, targets, self.options) for preds in sample_preds]
            values = np.stack([result["values"] for result in per_sample])  # (N, B, F)
            best = best_of_n(values, higher_is_better(name)) if len(per_sample) > 1 else values[0]
            self._values[name].append(best.astype(np.float32))
            if name in self._classwise:
                self._classwise[name].extend(result["classwise"] for result in per_sample)

    @property
    def num_sequences(self) -> int:
        first = self._values[self.metric_names[0]] if self.metric_names else []
        return int(sum(batch.shape[0] for batch in first))

    def results(self) -> Dict[str, object]:
        """Unrounded ``{mean_<m>: float, framewise_<m>: (F,) array, classwise_<m>: (C,) array}``."""
        results: Dict[str, object] = {}
        for name in self.metric_names:
            if not self._values[name]:
                raise ValueError(f"no values accumulated for metric {name!r}")
            values = np.concatenate(self._values[name], axis=0)
            if name == "segmentation_accuracy":
                # The original averages accuracies plainly (they are never NaN).
                results[f"mean_{name}"] = float(values.mean(dtype=np.float32))
                results[f"framewise_{name}"] = values.mean(axis=0, dtype=np.float32)
            else:
                results[f"mean_{name}"] = float(_safe_mean(values))
                results[f"framewise_{name}"] = _safe_mean(values, axis=0)
            if name in self._classwise:
                classwise = _safe_mean(np.concatenate(self._classwise[name], axis=0), axis=(0, 1))
                results[f"classwise_{name}"] = np.where(np.isnan(classwise), 0.0, classwise).astype(np.float32)
        return results


def results_to_json(results: Mapping[str, object]) -> Dict[str, object]:
    """The original ``save_results``: means rounded to 5 decimals, framewise lists rounded element by element,
    anything else (classwise) as a plain float list."""
    payload: Dict[str, object] = {}
    for key, value in results.items():
        if "framewise" in key:
            payload[key] = [round(float(v), 5) for v in np.asarray(value).tolist()]
        elif "mean" in key:
            payload[key] = round(float(value), 5)
        else:
            payload[key] = [float(v) for v in np.asarray(value).tolist()]
    return payload


def frame_numbers(mask, num_preds: int, context: int) -> np.ndarray:
    """The original ``mask_to_fnums(mask[context:], n_preds, context)``: the predicted frame numbers."""
    mask = np.asarray(mask, dtype=bool)
    return np.arange(context, len(mask))[mask[context:]][:num_preds].astype(int)


def plot_name(metric_key: str, level: int) -> str:
    """``framewise_segmentation_accuracy`` at level 1 -> ``results_accuracy_level_1.png`` (the original keeps
    the last ``_``-separated word)."""
    return f"results_{metric_key.split('_')[-1]}_level_{level}.png"


def save_level_results(results: Mapping[str, object], json_path, plots_dir, level: int,
                       numbers: Sequence[int]) -> Dict[str, str]:
    """Write ``metrics_<h>.json`` and the framewise plots of one level; returns ``{what: path}``."""
    write_json(json_path, results_to_json(results), indent=None)
    written = {"json": os.fspath(json_path)}
    for key, value in results.items():
        if "framewise" not in key:
            continue
        path = os.path.join(os.fspath(plots_dir), plot_name(key, level))
        name = key.split("_")[-1] + f"_level_{level}"
        rounded = [round(float(v), 5) for v in np.asarray(value).tolist()]
        mspred_figures.plot_framewise_metric(path, rounded, numbers, title=name)
        written[key] = path
    return written


ModelFn = Callable[..., Mapping]


def evaluate_batches(model_fn: ModelFn, batches: Iterable[Mapping], context: int, num_preds,
                     metrics_per_level: Sequence[Sequence[str]], n_samples: int = 1,
                     options: Optional[MetricOptions] = None, levels: Optional[int] = None,
                     progress: Optional[Callable[[int], None]] = None):
    """The evaluation loop of 03_evaluate.py on any model-like callable.

    ``model_fn(frames, sample_index=s, batch_index=i)`` returns the model's output dict (``preds`` {h: array
    (B, n_h, H, W, C)}, ``target_masks`` {h: bool (T,)}); it is called ``n_samples`` times per batch.
    ``batches`` yield dicts with ``images`` (B, T, H, W, C) and, for levels 1/2, ``heatmap_1`` / ``heatmap_2``.
    Only levels ``< levels`` are evaluated (default: every level the model predicts).

    Returns ``(trackers {h: LevelMetricTracker}, frame_numbers {h: array})``.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples_per_seq must be >= 1; got {n_samples}")
    trackers: Dict[int, LevelMetricTracker] = {}
    numbers: Dict[int, np.ndarray] = {}
    per_level = num_preds if isinstance(num_preds, (list, tuple)) else [num_preds]
    for batch_index, batch in enumerate(batches):
        frames = np.asarray(batch[IMAGES], dtype=np.float32)
        targets = [frames] + [np.asarray(batch[key], dtype=np.float32) for key in ("heatmap_1", "heatmap_2")
                              if key in batch]
        sample_preds: Dict[int, List[np.ndarray]] = {}
        masks = {}
        for sample in range(n_samples):
            outputs = model_fn(frames, sample_index=sample, batch_index=batch_index)
            for level, preds in outputs["preds"].items():
                level = int(level)
                if levels is not None and level >= levels:
                    continue
                sample_preds.setdefault(level, []).append(np.asarray(preds, dtype=np.float32))
                masks[level] = np.asarray(outputs["target_masks"][level], dtype=bool)
        for level, preds in sorted(sample_preds.items()):
            if level >= len(targets):
                raise ValueError(f"the model predicts level {level} but the batch has no target for it "
                                 "(heatmap_1/heatmap_2 missing)")
            if level not in trackers:
                if level >= len(metrics_per_level):
                    raise ValueError(f"no metrics given for level {level}")
                trackers[level] = LevelMetricTracker(metrics_per_level[level], options)
            level_targets = targets[level][:, masks[level]]
            trackers[level].add_batch(preds, level_targets)
            numbers[level] = frame_numbers(masks[level], per_level[min(level, len(per_level) - 1)], context)
        if progress is not None:
            progress(batch_index)
    if not trackers:
        raise ValueError("evaluation saw no batches: the test split is empty")
    return trackers, numbers


# ------------------------------------------------------------------------------------------- experiment level
def results_dirs(exp_dir, checkpoint: str) -> Dict[str, str]:
    """``results/``, ``results/results_<basename(ckpt)>/`` and ``results/plots_<ckpt>/`` (+ gifs, images,
    gif_resources) of an experiment, as 03/04/05 name them (created if missing)."""
    results = os.path.join(os.fspath(exp_dir), "results")
    dirs = {
        "results": results,
        "metrics": os.path.join(results, f"results_{os.path.basename(checkpoint)}"),
        "plots": os.path.join(results, f"plots_{checkpoint}"),
    }
    dirs.update(gifs=os.path.join(dirs["plots"], "gifs"), images=os.path.join(dirs["plots"], "images"),
                gif_resources=os.path.join(dirs["plots"], "gif_resources"))
    for key in ("metrics", "gifs", "images"):
        os.makedirs(dirs[key], exist_ok=True)
    return dirs


def make_model_fn(model, context: int, num_preds, training: bool, seed: int) -> ModelFn:
    """Wrap an MSPred-family Keras model: stateless latents from ``[seed, batch_index * 1000003 + sample]``.

    The forward pass runs as one ``tf.function`` (the seed is a tensor argument, so every batch and sample
    reuses the trace; eager execution of the unrolled model is many times slower). The target masks are
    trace-time Python values: they come from one eager call per sequence length. Callables that are not Keras
    models (stand-ins) are called directly.
    """
    def forward(frames, draw):
        return model(frames, context=context, num_preds=num_preds, teacher_force=False, training=training,
                     seed=draw)

    compiled = tf.function(lambda frames, draw: dict(forward(frames, draw)["preds"]), autograph=False)
    masks_by_length: Dict[int, Dict[int, np.ndarray]] = {}

    def model_fn(frames, sample_index: int = 0, batch_index: int = 0):
        draw = tf.constant([seed, (batch_index * 1000003 + sample_index) % (2 ** 31 - 1)], dtype=tf.int32)
        frames = tf.convert_to_tensor(frames)
        if not isinstance(model, keras.Model):
            outputs = forward(frames, draw)
            preds, masks = outputs["preds"], outputs["target_masks"]
        else:
            length = int(frames.shape[1])
            if length not in masks_by_length:
                masks_by_length[length] = dict(forward(frames, draw)["target_masks"])
            preds, masks = compiled(frames, draw), masks_by_length[length]
        return {"preds": {int(h): np.asarray(p) for h, p in preds.items()},
                "target_masks": {int(h): np.asarray(m) for h, m in masks.items()}}

    return model_fn


def evaluate_experiment(exp_dir, checkpoint: str, n_samples_per_seq: int = 1, seed: int = 13,
                        datasets_root=None, options: Optional[MetricOptions] = None, log=print,
                        dataset=None, model=None, exp_params=None) -> Dict[int, Dict[str, str]]:
    """Run 03_evaluate.py on an experiment directory; returns ``{level: {what: written path}}``.

    ``dataset``, ``model`` and ``exp_params`` replace the test split / the loaded checkpoint (tests, notebooks);
    by default they come from :func:`vidpred_tf.papers.mspred.checkpoints.load_model_for_evaluation` and
    :func:`vidpred_tf.papers.mspred.data.load_mspred_dataset`.
    """
    options = options or MetricOptions()
    if model is None or exp_params is None:
        model, exp_params, _ = load_model_for_evaluation(exp_dir, checkpoint)
    aux_outputs = uses_aux_outputs(exp_params)
    num_preds, num_frames = model_num_preds(exp_params, "eval"), sequence_length(exp_params, "eval")
    context = int(exp_params["eval"]["context"])
    dataset_name = exp_params["dataset"]["dataset_name"]
    metrics_per_level = level_metrics(dataset_name)
    if "lpips" in metrics_per_level[0] and options.lpips is None:
        log("LPIPS skipped: no LPIPS weights given (--lpips_weights; convert them with "
            "python -m vidpred_tf.convert.lpips)")
        metrics_per_level[0] = [name for name in metrics_per_level[0] if name != "lpips"]
    if dataset is None:
        dataset = load_mspred_dataset(exp_params["dataset"], "test", num_frames, datasets_root)
    log(f"  --> Number of test sequences: {len(dataset)}")
    batches = make_tf_dataset(dataset, int(exp_params["eval"]["batch_size"]), shuffle=True, seed=seed,
                              drop_remainder=False).as_numpy_iterator()
    model_fn = make_model_fn(model, context, num_preds, training=False, seed=seed)
    trackers, numbers = evaluate_batches(model_fn, batches, context, num_preds, metrics_per_level,
                                         n_samples=n_samples_per_seq, options=options,
                                         levels=3 if aux_outputs else 1)
    # The result folders are made only now: bad input (checkpoint, data) leaves no empty results/ behind.
    dirs = results_dirs(exp_dir, checkpoint)
    written = {}
    for level, tracker in sorted(trackers.items()):
        results = tracker.results()
        for key, value in results.items():
            if key.startswith("mean_"):
                log(f"  level {level} {key}:  {round(float(value), 5)}")
        json_path = os.path.join(dirs["metrics"], f"metrics_{level}.json")
        written[level] = save_level_results(results, json_path, dirs["plots"], level, numbers[level])
    return written


# ------------------------------------------------------------------------------------------- 04 / 05: figures
def figure_batch_outputs(model_fn: ModelFn, batch: Mapping, context: int, num_preds, aux_outputs: bool,
                         batch_index: int = 0):
    """One forward pass for the figures: ``(gt_frames (T,H,W,C), preds {h: (n_h,...)}, targets {h: (n_h,...)},
    numbers {h: frame numbers})`` of the first sequence of ``batch``."""
    frames = np.asarray(batch[IMAGES], dtype=np.float32)
    outputs = model_fn(frames, sample_index=0, batch_index=batch_index)
    targets = [frames] + ([np.asarray(batch[key], dtype=np.float32) for key in ("heatmap_1", "heatmap_2")]
                          if aux_outputs else [])
    per_level = num_preds if isinstance(num_preds, (list, tuple)) else [num_preds]
    levels = sorted(int(h) for h in outputs["preds"]) if aux_outputs else [0]
    preds, level_targets, numbers = {}, {}, {}
    for level in levels:
        mask = np.asarray(outputs["target_masks"][level], dtype=bool)
        preds[level] = np.asarray(outputs["preds"][level])[0]
        level_targets[level] = targets[level][0, mask]
        numbers[level] = frame_numbers(mask, per_level[min(level, len(per_level) - 1)], context)
    return frames[0], preds, level_targets, numbers


def generate_figures(exp_dir, checkpoint: str, num_imgs: int = 5, seed: int = 13, datasets_root=None,
                     training: bool = True, write_gifs: bool = True, log=print, dataset=None, model=None,
                     exp_params=None) -> List[str]:
    """04_generate_figs.py: for the first ``num_imgs`` shuffled test batches, the first sequence's
    ``images/img_<i>.png`` and ``img_<i>_gt.png`` and their per-level frames in
    ``gif_resources/seq_<i>[_gt]/hier_<h>/``; with ``write_gifs`` also ``gifs/seq_<i>.gif`` (ground truth
    above the prediction; a port addition). ``training=True`` is the original's behaviour (it calls
    ``.train()`` after ``.eval()``, so the figures use posterior latents that see the future frames).
    Returns the written image paths.
    """
    if num_imgs <= 0:
        raise ValueError(f"'--num_imgs' must be > 0. Given value was {num_imgs}")
    if model is None or exp_params is None:
        model, exp_params, _ = load_model_for_evaluation(exp_dir, checkpoint)
    dirs = results_dirs(exp_dir, checkpoint)
    os.makedirs(dirs["gif_resources"], exist_ok=True)
    aux_outputs = uses_aux_outputs(exp_params)
    num_preds, num_frames = model_num_preds(exp_params, "eval"), sequence_length(exp_params, "eval")
    context = int(exp_params["eval"]["context"])
    dataset_name = exp_params["dataset"]["dataset_name"]
    if dataset is None:
        dataset = load_mspred_dataset(exp_params["dataset"], "test", num_frames, datasets_root)
    batches = make_tf_dataset(dataset, int(exp_params["eval"]["batch_size"]), shuffle=True, seed=seed,
                              drop_remainder=False).as_numpy_iterator()
    model_fn = make_model_fn(model, context, num_preds, training=training, seed=seed)
    written = []
    for i in range(num_imgs):
        try:
            batch = next(batches)
        except StopIteration:
            raise ValueError(f"--num_imgs={num_imgs}: the test split has only {i} batches") from None
        gt_frames, preds, targets, numbers = figure_batch_outputs(model_fn, batch, context, num_preds, aux_outputs,
                                                                  batch_index=i)
        image_path = os.path.join(dirs["images"], f"img_{i + 1}.png")
        if not aux_outputs:
            sequence = np.concatenate([gt_frames[:context], preds[0]], axis=0)
            mspred_figures.sequence_figure(image_path, sequence, context, num_cols=8)
            written.append(image_path)
        else:
            for suffix, maps in (("", preds), ("_gt", targets)):
                path = os.path.join(dirs["images"], f"img_{i + 1}{suffix}.png")
                mspred_figures.hierarchical_figure(
                    path, gt_frames, maps, numbers, context, mspred_figures.dataset_struct_types(dataset_name),
                    frames_dir=os.path.join(dirs["gif_resources"], f"seq_{i + 1}{suffix}"))
                written.append(path)
        if write_gifs:
            shown = context + len(preds[0])
            predicted = np.concatenate([gt_frames[:context], preds[0]], axis=0)
            write_comparison_gif(os.path.join(dirs["gifs"], f"seq_{i + 1}.gif"), gt_frames[:shown], predicted,
                                 context_length=context)
        log(f"  figure {i + 1}/{num_imgs} written")
    return written


def assemble_figures(exp_dir, checkpoint: str, exp_params: Mapping, log=print) -> List[str]:
    """05_assemble_figs.py: from ``gif_resources``, ``gifs/combined_gif_<i>.gif`` and
    ``images/combined_img_<i>.png`` (the 6 x 8 grid) for every saved sequence. Returns the written paths."""
    dirs = results_dirs(exp_dir, checkpoint)
    resources = dirs["gif_resources"]
    if not os.path.isdir(resources):
        raise FileNotFoundError(f"Resources to build figs. do not exist in {resources} (run 04_generate_figs.py)")
    entries = os.listdir(resources)
    if not entries:
        raise ValueError(f"Resources path {resources} is empty (run 04_generate_figs.py)")
    context = int(exp_params["eval"]["context"])
    periods = exp_params["model"]["HierarchLSTM"]["periods"]
    dataset_name = exp_params["dataset"]["dataset_name"]
    written = []
    for i in range(len(entries) // 2):
        predicted = mspred_figures.frames_by_level(os.path.join(resources, f"seq_{i + 1}"))
        ground_truth = mspred_figures.frames_by_level(os.path.join(resources, f"seq_{i + 1}_gt"))
        sequences = {level: (ground_truth[level], predicted[level]) for level in range(3)}
        # Checked before anything is written (the original failed on the grid after writing the GIF).
        mspred_figures.check_grid_sequences(sequences, dataset_name, context)
        gif_path = os.path.join(dirs["gifs"], f"combined_gif_{i + 1}.gif")
        mspred_figures.write_hierarchical_gif(gif_path, sequences, context, periods, pad=2, interval_ms=100)
        image_path = os.path.join(dirs["images"], f"combined_img_{i + 1}.png")
        mspred_figures.combined_grid_figure(image_path, sequences, dataset_name, context)
        written += [gif_path, image_path]
        log(f"  combined figure {i + 1} written")
    return written


# ------------------------------------------------------------------------------------------- 04: processed metrics
MOVING_CLASS_ID = 22
BACKGROUND_CLASS_ID = 0
STATIC_CLASS_IDS = tuple(range(1, 22))


def process_segmentation(values: Sequence[float], key: str) -> Dict[str, float]:
    """A classwise list reduced to ``<key>_moving`` (class 22, the gripper), ``<key>_background`` (0) and
    ``<key>_static`` (the mean over the 21 object classes 1..21)."""
    if len(values) <= MOVING_CLASS_ID:
        raise ValueError(f"{key}: a classwise list needs {MOVING_CLASS_ID + 1} classes (SynpickVP); got "
                         f"{len(values)}")
    return {f"{key}_moving": values[MOVING_CLASS_ID], f"{key}_background": values[BACKGROUND_CLASS_ID],
            f"{key}_static": float(np.mean([values[i] for i in STATIC_CLASS_IDS]))}


def process_metrics(data: Mapping[str, object]) -> Dict[str, object]:
    """04_process_metrics.py's ``process_data``: the mean keys, pck/pdj only at @0.2, classwise lists reduced by
    :func:`process_segmentation`, and ``AR<factors>`` / ``AP<factors>`` = the mean of the mean_pdj / mean_pck
    values (e.g. ``AR0.1:0.2:0.3:0.4:0.5``). Framewise lists are dropped."""
    processed: Dict[str, object] = {}
    for key, value in data.items():
        if "classwise" in key:
            processed.update(process_segmentation(value, key))
        elif "framewise" in key:
            continue
        elif "pck" in key or "pdj" in key:
            if key.split("@")[-1] == "0.2":
                processed[key] = value
        else:
            processed[key] = value
    for prefix, kind in (("AR", "mean_pdj"), ("AP", "mean_pck")):
        by_factor = {key.split("@")[-1]: value for key, value in data.items() if kind in key}
        if by_factor:
            processed[prefix + ":".join(by_factor)] = float(np.mean(list(by_factor.values())))
    return processed


def process_metrics_dir(exp_dir, checkpoint_name: str, log=print) -> List[str]:
    """Write ``processed_<file>`` beside every ``*.json`` of ``results/results_<ckpt>/`` that is not itself a
    processed file; returns the written paths."""
    results_path = os.path.join(os.fspath(exp_dir), "results", f"results_{checkpoint_name}")
    if not os.path.isdir(results_path):
        raise FileNotFoundError(f"Results path {results_path} does not exist (run 03_evaluate.py with "
                                f"--checkpoint {checkpoint_name} first)")
    written = []
    for name in sorted(os.listdir(results_path)):
        if name[-5:] != ".json" or "processed_" in name:
            continue
        log(f"Processing file {name}...")
        path = os.path.join(results_path, name)
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON: {err}") from err
        out_path = os.path.join(results_path, f"processed_{name}")
        write_json(out_path, process_metrics(data), indent=None)
        written.append(out_path)
    return written
