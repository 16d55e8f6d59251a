"""SAVP ``scripts/plot_results.py``: the paper's metric-versus-time figures from evaluate.py result folders.

    python scripts/savp/plot_results.py results_test/bair_action_free \
        --flagfile=flags/savp/plot_results_bair_action_free_metrics_all.flags

``RESULTS_DIR`` holds one folder per method (evaluate.py's output folders). For each ``*_max`` task of the
first method whose metric is in ``--plot_metric_names`` (default per dataset: bair/bair_action_free ``psnr
ssim_finn vgg_csim``, kth ``psnr ssim_scikit vgg_csim``, ucf101 ``psnr ssim_mcnet vgg_csim``, as the original;
evaluate.py writes ``psnr``, ``ssim``, ``mse`` and ``lpips``, so pass ``--plot_metric_names`` for those), one
panel plots every method's mean over examples with standard-error bars against the time step (first future frame
= context_frames + 1), a vertical line at the training sequence length. Written to
``<web_dir>/plots/<plot_fname>`` (``web_dir`` defaults to ``RESULTS_DIR/web``).

Differences from the original, deliberate: the figure is always written (the original only showed it on screen
without ``--save``; ``--save`` is accepted); multi-value flags are repeated (``--method_dirs=a --method_dirs=b``)
instead of space-separated; ``Vega20`` is matplotlib's ``tab20`` (the same colours under today's name).
"""

from __future__ import annotations

import glob
import os
from typing import List, Optional, Sequence

import matplotlib
import numpy as np
from absl import app, flags
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vidpred_tf.errors import InputError
from vidpred_tf.fileio import write_atomically
from vidpred_tf.papers.savp.evaluation import list_method_dirs, load_metrics

flags.DEFINE_string("dataset_name", None, "dataset name (default: the name of results_dir)")
flags.DEFINE_multi_string("method_dirs", None, "directories in results_dir (all of them by default)")
flags.DEFINE_multi_string("method_names", None, "method names for the header")
flags.DEFINE_string("web_dir", None, "default is results_dir/web")
flags.DEFINE_string("plot_fname", "metrics.pdf", "file name of the figure in web_dir/plots")
flags.DEFINE_boolean("usetex", False, "render text with LaTeX")
flags.DEFINE_alias("use_tex", "usetex")
flags.DEFINE_boolean("save", False, "save the figure (always done here; accepted)")
flags.DEFINE_enum("mode", "paper", ["paper", "rebuttal"], "figure layout")
flags.DEFINE_multi_string("plot_metric_names", None, "metric names to plot (default per dataset)")

FLAGS = flags.FLAGS

# Dataset -> (context_frames, training sequence length, default metrics to plot).
DATASET_SETTINGS = {
    "bair": (2, 12, ("psnr", "ssim_finn", "vgg_csim")),
    "bair_action_free": (2, 12, ("psnr", "ssim_finn", "vgg_csim")),
    "kth": (10, 20, ("psnr", "ssim_scikit", "vgg_csim")),
    "ucf101": (4, 8, ("psnr", "ssim_mcnet", "vgg_csim")),
}

# Method folder -> index into the tab20 (formerly Vega20) colour map, or a colour name.
_COLORS = {
    "ours_vae_gan": 0, "ours_gan": 2, "ours_vae": 4, "ours_vae_l1": 4, "ours_vae_l2": 14, "ours_deterministic": 6,
    "ours_deterministic_l1": 6, "ours_deterministic_l2": 10, "sna_l1": 8, "sna_l2": 9, "sv2p_time_variant": 16,
    "sv2p_time_invariant": 16, "svg_lp": 18, "svg_fp": 18, "svg_fp_resized_data_loader": 18, "mathieu": 8,
    "mcnet": 8, "repeat": "k",
}

METHOD_NAMES = {
    "ours_vae_gan": "Ours, SAVP",
    "ours_gan": "Ours, GAN-only",
    "ours_vae": "Ours, VAE-only",
    "ours_vae_l1": r"Ours, VAE-only, $\mathcal{L}_1$",
    "ours_vae_l2": r"Ours, VAE-only, $\mathcal{L}_2$",
    "ours_deterministic": "Ours, deterministic",
    "ours_deterministic_l1": r"Ours, deterministic, $\mathcal{L}_1$",
    "ours_deterministic_l2": r"Ours, deterministic, $\mathcal{L}_2$",
    "sna_l1": r"SNA, $\mathcal{L}_1$ (Ebert et al.)",
    "sna_l2": r"SNA, $\mathcal{L}_2$ (Ebert et al.)",
    "sv2p_time_variant": "SV2P time-variant (Babaeizadeh et al.)",
    "sv2p_time_invariant": "SV2P time-invariant (Babaeizadeh et al.)",
    "mathieu": "Mathieu et al.",
    "mcnet": "MCnet (Villegas et al.)",
    "repeat": "Copy last frame",
}

Y_LABELS = {
    "psnr": "Average PSNR", "ssim": "Average SSIM", "ssim_scikit": "Average SSIM", "ssim_finn": "Average SSIM",
    "ssim_mcnet": "Average SSIM", "vgg_csim": "Average VGG cosine similarity",
    "mse": "Average MSE", "lpips": "Average negated LPIPS",
}


def get_color(method_name: str):
    """The original's colour of a method folder (exact name, else the first known prefix), or None."""
    value = _COLORS.get(method_name)
    if value is None:
        for key, candidate in _COLORS.items():
            if method_name.startswith(key):
                value = candidate
                break
    if value is None or isinstance(value, str):
        return value
    return matplotlib.colormaps["tab20"](value)


def get_method_name(method_dir: str) -> str:
    return METHOD_NAMES.get(method_dir, method_dir)


def task_metric_names(method_dir: str, pattern: str = "*_max") -> List[tuple]:
    """``(task, metric)`` of ``<method_dir>/<pattern>/metrics/*.csv``, sorted by file name."""
    found = []
    for path in sorted(glob.glob("%s/%s/metrics/*.csv" % (glob.escape(method_dir), pattern))):
        head, tail = os.path.split(path)
        found.append((head.split(os.sep)[-2], os.path.splitext(tail)[0]))
    return found


def plot_results(results_dir: str, method_dirs: Optional[Sequence[str]] = None,
                 method_names: Optional[Sequence[str]] = None, dataset_name: Optional[str] = None,
                 web_dir: Optional[str] = None, plot_fname: str = "metrics.pdf", mode: str = "paper",
                 plot_metric_names: Optional[Sequence[str]] = None, usetex: bool = False) -> str:
    """Draw the figure and write it; returns its path."""
    web_dir = web_dir or os.path.join(results_dir, "web")
    method_dirs = list(method_dirs) if method_dirs else list_method_dirs(results_dir)
    if not method_dirs:
        raise InputError(f"results_dir {results_dir}: no method folders")
    if method_names:
        method_names = list(method_names)
        if len(method_names) != len(method_dirs):
            raise InputError(f"--method_names: {len(method_names)} names for {len(method_dirs)} --method_dirs")
    else:
        method_names = [get_method_name(name) for name in method_dirs]
    if usetex:
        method_names = [name.replace("kl_weight", r"$\lambda_{\textsc{kl}}$") for name in method_names]
    paths = [os.path.join(results_dir, name) for name in method_dirs]
    dataset_name = dataset_name or os.path.split(os.path.normpath(results_dir))[1]
    if dataset_name not in DATASET_SETTINGS:
        raise InputError(f"--dataset_name {dataset_name!r}: unknown (known: {sorted(DATASET_SETTINGS)})")
    context_frames, training_length, default_metrics = DATASET_SETTINGS[dataset_name]
    metric_names = list(plot_metric_names or default_metrics)

    tasks = [(task, metric) for task, metric in task_metric_names(paths[0])
             if task.endswith("max") and metric in metric_names]
    if not tasks:
        raise InputError(f"{paths[0]}: no *_max/metrics/<metric>.csv for the metrics {metric_names}")
    with matplotlib.rc_context({"text.usetex": True, "font.family": "serif"} if usetex else {}):
        figsize = (4 * len(metric_names), 5) if mode == "paper" else (4, 3 * len(metric_names))
        figure = Figure(figsize=figsize)
        FigureCanvasAgg(figure)
        for i_task, (task, metric_name) in enumerate(tasks):
            axes = (figure.add_subplot(1, len(metric_names), i_task + 1) if mode == "paper"
                    else figure.add_subplot(len(metric_names), 1, i_task + 1))
            metric = None
            for name, path in zip(method_names, paths):
                prefix = os.path.join(path, task, "metrics", metric_name)
                if not os.path.isfile(prefix + ".csv"):
                    print("Skipping", prefix)
                    continue
                metric = load_metrics(prefix)
                mean = metric.mean(axis=0)
                standard_error = metric.std(axis=0) / np.sqrt(len(metric))
                kwargs = {}
                color = get_color(os.path.basename(path))
                if color is not None:
                    kwargs["color"] = color
                axes.errorbar(np.arange(len(mean)) + context_frames + 1, mean, yerr=standard_error, linewidth=2,
                              label=name, **kwargs)
            axes.grid(axis="y")
            axes.axvline(x=training_length, linewidth=1, color="k")
            fontsize = 12 if mode == "rebuttal" else 15
            legend_fontsize = 10 if mode == "rebuttal" else 15
            if mode == "paper":
                axes.set_xlabel("Time Step", fontsize=fontsize)
            axes.set_ylabel(Y_LABELS.get(metric_name, metric_name), fontsize=fontsize)
            if metric is not None:
                axes.set_xlim((context_frames + 1, metric.shape[1] + context_frames))
            axes.tick_params(labelsize=10)
            if mode == "paper" and i_task == 1:
                short = len(method_names) <= 4 and sum(len(name) for name in method_names) < 90
                ncol = len(method_names) if short else (len(method_names) + 1) // 2
                axes.legend(bbox_to_anchor=(0.5, -0.12), loc="upper center", ncol=ncol, fontsize=legend_fontsize)
            elif mode == "rebuttal":
                if i_task == 0:
                    axes.legend(bbox_to_anchor=(0.4, -0.12), loc="upper center", fontsize=legend_fontsize)
                axes.set_ylim(bottom=0.8)
        figure.tight_layout(rect=(0, 0.1, 1, 1))
        plots_dir = os.path.join(web_dir, "plots")
        os.makedirs(plots_dir, exist_ok=True)
        path = os.path.join(plots_dir, plot_fname)
        print("Saving to", path)
        extension = os.path.splitext(plot_fname)[1].lstrip(".") or "pdf"
        write_atomically(path, lambda temp_path: figure.savefig(temp_path, format=extension, bbox_inches="tight"))
    return path


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("expected one argument, the results_dir (got %d)" % (len(argv) - 1))
    plot_results(argv[1], FLAGS.method_dirs, FLAGS.method_names, FLAGS.dataset_name, FLAGS.web_dir,
                 FLAGS.plot_fname, FLAGS.mode, FLAGS.plot_metric_names, FLAGS.usetex)
