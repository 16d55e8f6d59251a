"""The copy-last baseline of MSPred (the original ``models/VideoPred_CopyLast.py``): every prediction of level h
is the level-h input at the last context step, repeated ``num_preds[h]`` times. It has no parameters.

The original (not reachable from its scripts) took ``forward(inputs, n_context, num_preds, periods)`` with one
tensor per level; here it takes the MSPred call of the family, the frames as ``x`` and the level-1/2 maps
through the extra ``heatmaps`` argument, with the periods given at construction. Level h's targets are the
frames t = context + p_h - 1 + k * p_h (k = 0 .. num_preds[h] - 1) that fall inside the sequence, the same
frames the hierarchical model predicts.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import keras
import numpy as np
from keras import ops

DEFAULT_PERIODS = (1, 4, 8)


def copy_last_target_mask(num_frames: int, context: int, num_preds: int, period: int) -> np.ndarray:
    """bool (num_frames,): True at the first ``num_preds`` frames t >= context with (t - context - p + 1) % p == 0."""
    mask = np.zeros((int(num_frames),), dtype=bool)
    for t in range(int(context), int(num_frames)):
        if (t - context - period + 1) % period == 0 and int(mask.sum()) < num_preds:
            mask[t] = True
    return mask


class CopyLast(keras.Model):
    """``outputs = model(x, context, num_preds, heatmaps=[hmap_1, hmap_2] or None)``; see the module docstring.

    Returns the family's dict: ``preds {h: (B, num_preds[h], H, W, C_h)}`` and ``target_masks {h: bool (T,)}``
    for level 0 and each given heatmap level, and empty ``mu_post``/``logvar_post``/``mu_prior``/
    ``logvar_prior``/``latents`` lists per level (there is no latent, so the KL is 0)."""

    def __init__(self, periods: Sequence[int] = DEFAULT_PERIODS, **kwargs):
        kwargs.setdefault("name", "copy_last")
        super().__init__(**kwargs)
        periods = [int(p) for p in periods]
        if not periods or any(p < 1 for p in periods):
            raise ValueError(f"CopyLast periods must be a non-empty list of ints >= 1; got {list(periods)}")
        self.periods = tuple(periods)
        self.built = True

    def original_variables(self, prefix: str = "") -> Dict:
        """The original has an empty state_dict."""
        return {}

    def call(self, x, context: int = 4, num_preds=10, teacher_force: bool = False, training: bool = False,
             seed=None, eps=None, heatmaps: Optional[Sequence] = None):
        inputs = [x] + list(heatmaps or [])
        if len(inputs) > len(self.periods):
            raise ValueError(f"CopyLast got {len(inputs)} levels (frames + heatmaps) but has periods for "
                             f"{len(self.periods)}: {list(self.periods)}")
        if isinstance(num_preds, (list, tuple)):
            if len(num_preds) < len(inputs):
                raise ValueError(f"num_preds {list(num_preds)} gives no count for each of the {len(inputs)} levels")
            counts = [int(n) for n in num_preds[:len(inputs)]]
        else:
            counts = [int(num_preds)] * len(inputs)
        num_frames = int(x.shape[1])
        context = int(context)
        if context < 1 or context > num_frames:
            raise ValueError(f"context must be in 1..{num_frames} (the frames in x); got {context}")
        out = {"preds": {}, "target_masks": {}}
        for level, (level_input, count) in enumerate(zip(inputs, counts)):
            if int(level_input.shape[1]) != num_frames:
                raise ValueError(f"heatmaps level {level} has {level_input.shape[1]} steps; x has {num_frames}")
            last = ops.expand_dims(level_input[:, context - 1], axis=1)
            out["preds"][level] = ops.repeat(last, count, axis=1)
            out["target_masks"][level] = copy_last_target_mask(num_frames, context, count, self.periods[level])
        for key in ("mu_post", "logvar_post", "mu_prior", "logvar_prior", "latents"):
            out[key] = {level: [] for level in range(len(inputs))}
        return out


def build_copy_last(exp_params: dict) -> CopyLast:
    """``setup_model`` for ``model.model_type == "CopyLast"``: periods from ``model.HierarchLSTM.periods``."""
    model_params = exp_params.get("model", {}) if isinstance(exp_params, dict) else {}
    periods = model_params.get("HierarchLSTM", {}).get("periods", list(DEFAULT_PERIODS))
    if not isinstance(periods, (list, tuple)):
        raise ValueError(f"experiment parameters: model.HierarchLSTM.periods must be a list; got {periods!r}")
    return CopyLast(periods)
