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
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    """The run.py flags that drive scheduled sampling and the mask geometry."""

    batch_size: int = 8
    total_length: int = 20
    input_length: int = 10
    img_width: int = 64
    patch_size: int = 1
    img_channel: int = 1
    scheduled_sampling: bool = True
    sampling_stop_iter: int = 50000
    sampling_start_value: float = 1.0
    sampling_changing_rate: float = 0.00002

    @property
    def mask_shape(self) -> Tuple[int, int, int, int, int]:
        w = self.img_width // self.patch_size
        return (self.batch_size, self.total_length - self.input_length - 1, w, w,
                self.patch_size ** 2 * self.img_channel)

    @classmethod
    def from_flags(cls, flags) -> "SamplingConfig":
        """From an absl FLAGS object (or namespace) with run.py's flag names."""
        return cls(**{f.name: getattr(flags, f.name) for f in dataclasses.fields(cls) if hasattr(flags, f.name)})


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


def zero_mask(config: SamplingConfig) -> np.ndarray:
    """The all-zero mask of the original's test mode (always feed the prediction)."""
    return np.zeros(config.mask_shape, np.float32)
