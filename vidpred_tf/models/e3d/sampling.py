"""Scheduled sampling of the E3D-LSTM study (run.py's ``schedule_sampling``), in NumPy on the host.

Once per training iteration ``itr`` (from 1), before the step:

* ``eta -= sampling_changing_rate`` while ``itr < sampling_stop_iter``, else ``eta = 0``;
* ``token[b, j] = uniform[0, 1) < eta`` for ``b < batch_size``, ``j < T - Tin - 1`` (one draw of
  ``random_sample((batch_size, T - Tin - 1))``, made even when eta is 0);
* the mask ``[batch_size, T - Tin - 1, w, w, C0]`` is 1 where the token is True (feed the true frame at step
  ``Tin + j``), 0 elsewhere.

With ``scheduled_sampling=False`` eta is 0, the mask all zeros, and no random number is drawn. The draws come
from ``rng`` (a ``np.random.RandomState``) or, when it is None, from NumPy's global state, as in the original
(so ``np.random.seed(s)`` reproduces its masks). The original feeds the same mask to every tower.

The geometry of the mask is the model's (``E3DConfig.mask_shape``), its batch the per-tower ``--batch_size``:
``SamplingConfig`` holds both beside the schedule.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

import numpy as np

from vidpred_tf.models.e3d.config import E3DConfig

# run.py's flags of the schedule: the fields of SamplingConfig after the model's config and the batch size.
SCHEDULE_FLAGS = ("scheduled_sampling", "sampling_stop_iter", "sampling_start_value", "sampling_changing_rate")


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    """Scheduled sampling of one model: its ``E3DConfig`` (the mask's geometry), the per-tower ``batch_size`` (the
    mask's batch) and run.py's four schedule flags (same names and defaults)."""

    e3d_config: E3DConfig
    batch_size: int
    scheduled_sampling: bool = True
    sampling_stop_iter: int = 50000
    sampling_start_value: float = 1.0
    sampling_changing_rate: float = 0.00002

    def __post_init__(self):
        if int(self.batch_size) <= 0:
            raise ValueError(f"batch_size must be positive; got {self.batch_size}")

    @property
    def mask_shape(self) -> Tuple[int, int, int, int, int]:
        """``[batch_size, T - Tin - 1, w, w, C0]``."""
        return self.e3d_config.mask_shape(self.batch_size)

    @classmethod
    def from_flags(cls, flags, e3d_config: E3DConfig, batch_size: int) -> "SamplingConfig":
        """With the schedule flags of an absl FLAGS object (or namespace) with run.py's names; those it lacks keep
        their defaults."""
        schedule = {name: getattr(flags, name) for name in SCHEDULE_FLAGS if hasattr(flags, name)}
        return cls(e3d_config, batch_size, **schedule)


def schedule_sampling(eta: float, itr: int, config: SamplingConfig,
                      rng: Optional[np.random.RandomState] = None) -> Tuple[float, np.ndarray]:
    """One iteration of the schedule: returns ``(new_eta, mask)`` with ``mask`` float32 ``config.mask_shape``."""
    shape = config.mask_shape
    if not config.scheduled_sampling:
        return 0.0, np.zeros(shape, np.float32)
    if itr < config.sampling_stop_iter:
        eta = eta - config.sampling_changing_rate
    else:
        eta = 0.0
    source = np.random if rng is None else rng
    draws = source.random_sample(shape[:2])
    feed_truth = draws < eta
    mask = np.broadcast_to(feed_truth[:, :, None, None, None], shape).astype(np.float32)
    return eta, mask
