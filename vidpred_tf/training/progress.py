"""The one-line training progress report: step, steps/s, examples/s, ETA and the losses."""

from __future__ import annotations

import sys
import time
from typing import Callable, Mapping, Optional, TextIO


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:d}:{secs:02d}"


class Progress:
    """Measures throughput between reports and estimates the time left to ``num_steps`` (or a time budget)."""

    def __init__(self, num_steps: int, global_batch_size: int, start_step: int = 0,
                 time_budget_s: Optional[float] = None, stream: TextIO = sys.stdout,
                 clock: Optional[Callable[[], float]] = None):
        self.num_steps = num_steps
        self.global_batch_size = global_batch_size
        self.time_budget_s = time_budget_s
        self.stream = stream
        self.clock = clock or time.monotonic
        self.start_time = self.clock()
        self._last_time = self.start_time
        self._last_step = start_step

    def elapsed(self) -> float:
        return self.clock() - self.start_time

    def report(self, step: int, losses: Mapping[str, float]) -> dict:
        now = self.clock()
        steps = step - self._last_step
        steps_per_s = steps / max(now - self._last_time, 1e-9)
        self._last_time, self._last_step = now, step
        remaining = (self.num_steps - step) / steps_per_s if steps_per_s > 0 else float("inf")
        if self.time_budget_s is not None:
            remaining = min(remaining, max(self.time_budget_s - self.elapsed(), 0.0))
        loss_text = " ".join(f"{name}={value:.5g}" for name, value in losses.items())
        self.stream.write(
            f"step {step}/{self.num_steps}  {steps_per_s:.2f} steps/s  "
            f"{steps_per_s * self.global_batch_size:.1f} examples/s  "
            f"ETA {format_duration(remaining)}  {loss_text}\n")
        self.stream.flush()
        return {"steps_per_sec": steps_per_s, "examples_per_sec": steps_per_s * self.global_batch_size}
