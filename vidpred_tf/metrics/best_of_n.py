"""Best-of-N evaluation of stochastic models: keep, per sequence, the sample that scores best on a metric.

Stochastic video predictors (SVG, SAVP, MSPred, ...) are evaluated by drawing N samples per test sequence and
reporting the best one. The protocol implemented here is MSPred's and SVG's: for each metric independently and for
each sequence, the sample whose **sum over the predicted frames** is best (lowest for errors such as mse, highest
for scores such as psnr) is kept with its whole per-frame curve. Means then ignore NaN values (undefined frames,
e.g. a keypoint metric with no valid keypoint).

Shapes: ``values`` is ``[N, B, T]`` (N samples, B sequences, T predicted frames), NumPy or anything
``np.asarray`` takes. NaN handling of the ranking (``nan_policy``):

* ``"propagate"`` (default; what ``torch.argmin``/``argmax`` over the frame sums do in the original): a NaN frame
  makes that sample's sum NaN, and a NaN sum wins the ranking (the first such sample), whichever way is better.
* ``"omit"``: samples are ranked by the mean over their non-NaN frames; a sample with no finite frame ranks last.
  Without NaNs both policies pick the same sample (the sum and the mean over T rank alike).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Dict, List, Mapping, Optional, Union

import numpy as np

NAN_POLICIES = ("propagate", "omit")


def _samples_array(values, name: str = "values") -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 3:
        raise ValueError(f"{name}: expected per-sample values [N, B, T]; got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name}: expected [N, B, T] values with no empty axis; got shape {array.shape}")
    return array


def _ranking_scores(array: np.ndarray, nan_policy: str) -> np.ndarray:
    """``[N, B]`` scores whose argmin/argmax is the sample to keep (see the module docstring)."""
    if nan_policy == "propagate":
        return array.sum(axis=2)
    if nan_policy == "omit":
        finite_count = np.sum(~np.isnan(array), axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nansum(array, axis=2) / finite_count
    raise ValueError(f"nan_policy must be one of {list(NAN_POLICIES)}; got {nan_policy!r}")


def _pick(scores: np.ndarray, lowest: bool, nan_policy: str) -> np.ndarray:
    if nan_policy == "omit":
        # NaN scores (no finite frame) must lose: replace them by the worst possible value.
        scores = np.where(np.isnan(scores), np.inf if lowest else -np.inf, scores)
    return scores.argmin(axis=0) if lowest else scores.argmax(axis=0)


def best_sample_indices(values, higher_is_better: bool, nan_policy: str = "propagate") -> np.ndarray:
    """``[N, B, T]`` -> ``[B]``: the index of the best sample of each sequence (ties go to the lowest index)."""
    array = _samples_array(values)
    return _pick(_ranking_scores(array, nan_policy), lowest=not higher_is_better, nan_policy=nan_policy)


def worst_sample_indices(values, higher_is_better: bool, nan_policy: str = "propagate") -> np.ndarray:
    """``[N, B, T]`` -> ``[B]``: the index of the worst sample of each sequence (ties go to the lowest index)."""
    array = _samples_array(values)
    return _pick(_ranking_scores(array, nan_policy), lowest=higher_is_better, nan_policy=nan_policy)


def take_samples(values, indices) -> np.ndarray:
    """``[N, B, T]`` values and ``[B]`` sample indices -> ``[B, T]``: each sequence's curve from its sample."""
    array = _samples_array(values)
    indices = np.asarray(indices)
    if indices.shape != (array.shape[1],):
        raise ValueError(f"take_samples: need one sample index per sequence, shape ({array.shape[1]},); "
                         f"got shape {indices.shape}")
    if indices.size and (indices.min() < 0 or indices.max() >= array.shape[0]):
        raise ValueError(f"take_samples: sample indices must be in [0, {array.shape[0]}); got {indices.tolist()}")
    return array[indices, np.arange(array.shape[1])]


def best_of_n(values, higher_is_better: bool, nan_policy: str = "propagate") -> np.ndarray:
    """``[N, B, T]`` -> ``[B, T]``: per sequence, the whole curve of the sample with the best frame-sum."""
    return take_samples(values, best_sample_indices(values, higher_is_better, nan_policy))


def worst_of_n(values, higher_is_better: bool, nan_policy: str = "propagate") -> np.ndarray:
    """``[N, B, T]`` -> ``[B, T]``: per sequence, the whole curve of the sample with the worst frame-sum."""
    return take_samples(values, worst_sample_indices(values, higher_is_better, nan_policy))


def nan_mean(values) -> float:
    """The mean over all non-NaN entries (NaN if there is none)."""
    array = np.asarray(values, dtype=np.float64)
    count = np.sum(~np.isnan(array))
    return float(np.nansum(array) / count) if count else math.nan


def nan_framewise_mean(values) -> np.ndarray:
    """``[B, T]`` -> ``[T]``: the mean over sequences of each frame, ignoring NaNs (NaN where a frame has none)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"nan_framewise_mean: expected [B, T] values; got shape {array.shape}")
    count = np.sum(~np.isnan(array), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(array, axis=0) / count


def _json_float(value: float) -> Optional[float]:
    value = float(value)
    return value if math.isfinite(value) else None


def _curve(values: np.ndarray) -> dict:
    return {"mean": _json_float(nan_mean(values)),
            "per_timestep": [_json_float(v) for v in nan_framewise_mean(values)]}


def summarize_best_of_n(values, higher_is_better: bool, nan_policy: str = "propagate") -> dict:
    """Best-, average- and worst-of-N summaries of ``[N, B, T]`` values, JSON-ready.

    ``{"best": {"mean", "per_timestep"}, "avg": {...}, "worst": {...}, "num_samples": N, "num_sequences": B}``.
    ``avg`` averages the N samples of each frame (ignoring NaNs) before the means over sequences. All means
    ignore NaNs; non-finite results are written as ``None``.
    """
    array = _samples_array(values)
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(array), axis=0)
        average = np.where(counts > 0, np.nansum(array, axis=0) / np.maximum(counts, 1), np.nan)
    return {
        "best": _curve(best_of_n(array, higher_is_better, nan_policy)),
        "avg": _curve(average),
        "worst": _curve(worst_of_n(array, higher_is_better, nan_policy)),
        "num_samples": int(array.shape[0]),
        "num_sequences": int(array.shape[1]),
    }


HigherIsBetter = Union[Mapping[str, bool], Callable[[str], bool]]


@dataclasses.dataclass
class BestOfNTracker:
    """Streams best-of-N selection over batches: ``add`` one batch's ``[N, B, T]`` values per metric, then read
    the kept ``[num_sequences, T]`` values, their NaN-ignoring means, or full best/avg/worst summaries.

    ``higher_is_better`` maps a metric name to its ranking direction (a mapping or a function of the name).
    """

    higher_is_better: HigherIsBetter
    nan_policy: str = "propagate"
    _batches: Dict[str, List[np.ndarray]] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.nan_policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy must be one of {list(NAN_POLICIES)}; got {self.nan_policy!r}")

    def direction(self, name: str) -> bool:
        if isinstance(self.higher_is_better, Mapping):
            if name not in self.higher_is_better:
                raise ValueError(f"BestOfNTracker: no ranking direction for metric {name!r}; known: "
                                 f"{sorted(self.higher_is_better)}")
            return bool(self.higher_is_better[name])
        return bool(self.higher_is_better(name))

    def add(self, name: str, values) -> None:
        """Add one batch of ``[N, B, T]`` samples of metric ``name``; T must match earlier batches."""
        array = _samples_array(values, name)
        previous = self._batches.setdefault(name, [])
        if previous and previous[0].shape[2] != array.shape[2]:
            raise ValueError(f"{name}: batches must have the same number of frames; got {array.shape[2]} after "
                             f"{previous[0].shape[2]}")
        previous.append(array)

    @property
    def names(self) -> List[str]:
        return list(self._batches)

    def best(self, name: str) -> np.ndarray:
        """``[num_sequences, T]``: the best-of-N curve of every sequence seen so far."""
        if name not in self._batches:
            raise KeyError(f"BestOfNTracker: no values for metric {name!r}; have {self.names}")
        direction = self.direction(name)
        return np.concatenate([best_of_n(batch, direction, self.nan_policy) for batch in self._batches[name]])

    def mean(self, name: str) -> float:
        return nan_mean(self.best(name))

    def framewise(self, name: str) -> np.ndarray:
        return nan_framewise_mean(self.best(name))

    def summary(self) -> dict:
        """``{name: summarize_best_of_n(...)}`` over all sequences (batches joined along B)."""
        result = {}
        for name, batches in self._batches.items():
            joined = np.concatenate(batches, axis=1)
            result[name] = summarize_best_of_n(joined, self.direction(name), self.nan_policy)
        return result
