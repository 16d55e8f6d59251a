"""Metric-versus-time-step line plots saved as PNG.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, so importing or calling this module never
touches pyplot or the user's chosen matplotlib backend (a Jupyter session keeps its inline backend).
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vidpred_tf.viz.video import write_atomically


def plot_metric_curves(path, curves: Mapping[str, object], metric_name: str, first_step: int = 1,
                       ylabel: Optional[str] = None, title: Optional[str] = None,
                       figsize=(6.4, 4.0), dpi: int = 100) -> None:
    """Write a PNG line plot of ``{label: [T] values}`` against time steps ``first_step .. first_step + T - 1``.

    ``first_step`` is the number of the first plotted frame, e.g. ``context_length + 1`` when the curves hold
    the predicted frames only. Curves may differ in length. The y axis is labelled ``ylabel`` (default:
    ``metric_name``).
    """
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise ValueError(f"plot_metric_curves: path must end with .png; got {path}")
    if not curves:
        raise ValueError(f"plot_metric_curves({path}): no curves given")
    arrays = {}
    for label, values in curves.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"plot_metric_curves({path}): curve {label!r} must be a non-empty [T] array; "
                             f"got shape {array.shape}")
        arrays[label] = array

    figure = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    for label, array in arrays.items():
        steps = np.arange(first_step, first_step + array.size)
        axes.plot(steps, array, marker="o", markersize=3, label=str(label))
    axes.set_xlabel("time step")
    axes.set_ylabel(ylabel if ylabel is not None else metric_name)
    axes.set_title(title if title is not None else metric_name)
    axes.grid(True, alpha=0.3)
    # Integer ticks only: time steps are frame numbers.
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.legend()
    figure.tight_layout()

    write_atomically(path, lambda temp_path: figure.savefig(temp_path, format="png", dpi=dpi))
