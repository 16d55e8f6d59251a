"""Aggregation of per-frame metric values: curves over time steps and best/avg/worst over stochastic samples.

Shapes: ``[N, T]`` is one value per video and time step; ``[S, N, T]`` adds S stochastic samples per video.
Everything here is NumPy (TF tensors are accepted and converted).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from vidpred_tf.metrics import best_of_n
from vidpred_tf.metrics.frame import higher_is_better as _metric_higher_is_better


def _as_array(values, expected_rank: int, what: str, name: str = "values") -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != expected_rank:
        raise ValueError(f"{name}: expected {what}; got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name}: expected {what} with no empty axis; got shape {array.shape}")
    return array


def per_timestep_mean(values) -> np.ndarray:
    """``[N, T]`` -> ``[T]``: the mean over videos at each time step (an inf value, e.g. PSNR, stays inf)."""
    return _as_array(values, 2, "[N, T]").mean(axis=0)


def best_worst_indices(values, higher_is_better: bool) -> Tuple[np.ndarray, np.ndarray]:
    """For ``[S, N, T]`` values, the index of the best and of the worst sample of each video, both ``[N]``.

    The ranking is ``best_of_n``'s (the sum over time, which ranks as SAVP's mean over time does; a tie goes
    to the lowest sample index); this is the SAVP-named view of it.
    """
    array = _as_array(values, 3, "[S, N, T]")
    return (best_of_n.best_sample_indices(array, higher_is_better),
            best_of_n.worst_sample_indices(array, higher_is_better))


def best_avg_worst(values, higher_is_better: bool) -> Dict[str, np.ndarray]:
    """``[S, N, T]`` -> ``dict(best=[N, T], avg=[N, T], worst=[N, T])``.

    For each video the best (worst) entry is the whole time curve of its best (worst) sample
    (``best_worst_indices``); ``avg`` is the mean over the S samples at each time step. Note that SAVP stores
    these under the names max/avg/min, where "max" is the largest value, i.e. the worst sample for mse.
    """
    array = _as_array(values, 3, "[S, N, T]")
    best_index, worst_index = best_worst_indices(array, higher_is_better)
    return {
        "best": best_of_n.take_samples(array, best_index),
        "avg": array.mean(axis=0),
        "worst": best_of_n.take_samples(array, worst_index),
    }


def _json_float(value: float) -> Optional[float]:
    value = float(value)
    return value if math.isfinite(value) else None


def _curve_summary(values: np.ndarray) -> dict:
    return {
        "per_timestep": [_json_float(v) for v in values.mean(axis=0)],
        "mean": _json_float(values.mean()),
    }


def summarize(metrics: Mapping[str, object],
              higher_is_better: Optional[Union[Callable[[str], bool], Mapping[str, bool]]] = None) -> dict:
    """A JSON-serialisable summary of ``{metric name: [N, T] or [S, N, T] values}``.

    ``[N, T]`` gives ``{"per_timestep": [T floats], "mean": float, "num_videos": N}``; ``[S, N, T]`` gives
    ``{"best": {...}, "avg": {...}, "worst": {...}, "num_samples": S, "num_videos": N}`` with one such curve
    summary per entry of :func:`best_avg_worst`. ``mean`` is over all videos and time steps.

    ``higher_is_better`` says how to rank samples of metrics outside ``METRICS`` (a mapping or a function of the
    name); by default :func:`vidpred_tf.metrics.frame.higher_is_better` is used. Non-finite numbers (the PSNR of
    identical frames is +inf) are written as ``None`` so that the result is strict JSON.
    """
    summary = {}
    for name, values in metrics.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 2:
            _as_array(array, 2, "[N, T]", name)
            summary[name] = dict(_curve_summary(array), num_videos=int(array.shape[0]))
        elif array.ndim == 3:
            _as_array(array, 3, "[S, N, T]", name)
            if higher_is_better is None:
                larger_is_better = _metric_higher_is_better(name)
            elif isinstance(higher_is_better, Mapping):
                if name not in higher_is_better:
                    raise ValueError(f"summarize: higher_is_better has no entry for metric {name!r}")
                larger_is_better = bool(higher_is_better[name])
            else:
                larger_is_better = bool(higher_is_better(name))
            entry = {kind: _curve_summary(curves)
                     for kind, curves in best_avg_worst(array, larger_is_better).items()}
            entry.update(num_samples=int(array.shape[0]), num_videos=int(array.shape[1]))
            summary[name] = entry
        else:
            raise ValueError(f"{name}: expected [N, T] or [S, N, T] values; got shape {array.shape}")
    return summary
