"""MSPred's per-epoch learning-rate schedulers and the KL weight (beta) scheduler, as the original lib/schedulers.py
and lib/setup_model.py's setup_scheduler/update_scheduler.

02_train.py calls the scheduler *after* each epoch, with the epoch just finished, and the value it sets is the
one used in the next epoch; epoch 0 always runs at the initial value. ``lr_for_epoch(e)`` / ``beta_for_epoch(e)``
give the value used in epoch ``e`` directly (a closed form of the steps 0..e-1), so a resumed run gets them
right without replaying anything. Only ReduceLROnPlateau depends on the validation losses; its state is what the
checkpoints keep (``state_dict``).

Faithful quirks, kept so that the learning rates and betas are the original's epoch by epoch:
* WarmupStepLR is first stepped after epoch 0, so with warm-up epoch 0 runs at lr0 and epoch 1 at 1e-6; the
  warm-up never reaches lr0 (the last warm-up value lr0*(w-1)/w stays until the first decay step).
* BetaScheduler(linear) sets beta0 + (e-1)(beta-beta0)/(w-1) after epoch e <= w: warm-up 0 gives the final beta
  from epoch 1, warm-up 1 divides by zero (refused here at construction, with the key named), and epoch 1 gets a
  value below beta0 (synpick: 1e-5 - 9e-5/22).
"""

from __future__ import annotations

import bisect
import math
from typing import Mapping, Optional, Sequence

PLATEAU_MIN_LR = 1e-8
EXPONENTIAL_TOTAL_STEPS = 100_000


class LRScheduler:
    """No scheduling (the original's fallback for any other ``training.scheduler``): lr0 every epoch."""

    name = "none"

    def __init__(self, init_lr: float):
        self.init_lr = float(init_lr)
        self.curr_lr = self.init_lr

    def lr_for_epoch(self, epoch: int) -> float:
        return self.init_lr

    def step(self, epoch: int, val_loss: Optional[float] = None) -> float:
        """Called after ``epoch`` (with its validation loss); returns the learning rate of epoch ``epoch + 1``."""
        self.curr_lr = self.lr_for_epoch(epoch + 1)
        return self.curr_lr

    def state_dict(self) -> dict:
        return {key: value for key, value in vars(self).items() if not key.startswith("_")}

    def load_state_dict(self, state: Mapping) -> None:
        for key in self.state_dict():
            if key not in state:
                raise ValueError(f"{type(self).__name__} state lacks {key!r} (has {sorted(state)})")
        for key, value in state.items():
            setattr(self, key, value)


class WarmupStepLR(LRScheduler):
    """lib/schedulers.WarmupStepLR: linear warm-up (floored at 1e-6), then ×gamma at each decay epoch."""

    name = "warmup"

    def __init__(self, init_lr: float, warmup_steps: int, decay_steps: Sequence[int], gamma: float):
        super().__init__(init_lr)
        for step in decay_steps:
            if step <= warmup_steps:
                raise ValueError(f"training.lr_decay_steps {list(decay_steps)}: every decay step must be larger "
                                 f"than training.lr_warmup_steps={warmup_steps} (the original asserts this)")
        self.warmup_steps = int(warmup_steps)
        self.decay_steps = [int(step) for step in decay_steps]
        self.gamma = float(gamma)

    def _after_step(self, lr: float, finished_epoch: int) -> float:
        if finished_epoch < self.warmup_steps:
            return max(self.init_lr * (finished_epoch / self.warmup_steps), 1e-6)
        if finished_epoch in self.decay_steps:
            return lr * self.gamma
        return lr

    def lr_for_epoch(self, epoch: int) -> float:
        lr = self.init_lr
        for finished in range(epoch):
            lr = self._after_step(lr, finished)
        return lr


class MultiStepLR(LRScheduler):
    """torch MultiStepLR(milestones, gamma) stepped once per epoch: lr0 · gamma^#(milestones <= e)."""

    name = "multistep"

    def __init__(self, init_lr: float, milestones: Sequence[int], gamma: float):
        super().__init__(init_lr)
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = float(gamma)

    def lr_for_epoch(self, epoch: int) -> float:
        return self.init_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class StepLR(LRScheduler):
    """torch StepLR(step_size = training.patience, gamma): lr0 · gamma^(e // step_size)."""

    name = "step"

    def __init__(self, init_lr: float, step_size: int, gamma: float):
        super().__init__(init_lr)
        if int(step_size) < 1:
            raise ValueError(f"training.patience (the StepLR step size) must be >= 1; got {step_size}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)

    def lr_for_epoch(self, epoch: int) -> float:
        return self.init_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLRSchedule(LRScheduler):
    """lib/schedulers.ExponentialLRSchedule stepped with the epoch: after epoch e the lr is lr0·gamma^(e/100000)
    (unchanged once e reaches total_steps)."""

    name = "exponential"

    def __init__(self, init_lr: float, gamma: float, total_steps: int = EXPONENTIAL_TOTAL_STEPS):
        super().__init__(init_lr)
        self.gamma = float(gamma)
        self.total_steps = int(total_steps)

    def lr_for_epoch(self, epoch: int) -> float:
        if epoch == 0:
            return self.init_lr
        finished = min(epoch - 1, self.total_steps - 1)
        return self.init_lr * self.gamma ** (finished / self.total_steps)


class ReduceLROnPlateau(LRScheduler):
    """torch ReduceLROnPlateau(mode min, patience, factor, min_lr 1e-8, threshold 1e-4 relative, cooldown 0),
    stepped on the validation loss after each epoch. Not a function of the epoch: its state is checkpointed."""

    name = "plateau"

    def __init__(self, init_lr: float, patience: int, factor: float, min_lr: float = PLATEAU_MIN_LR,
                 threshold: float = 1e-4, eps: float = 1e-8):
        super().__init__(init_lr)
        if not 0 < float(factor) < 1:
            raise ValueError(f"training.lr_factor must be in (0, 1) for the plateau scheduler; got {factor}")
        self.patience = int(patience)
        self.factor = float(factor)
        self.min_lr = float(min_lr)
        self.threshold = float(threshold)
        self.eps = float(eps)
        self.best = math.inf
        self.num_bad_epochs = 0

    def lr_for_epoch(self, epoch: int) -> float:
        return self.curr_lr

    def step(self, epoch: int, val_loss: Optional[float] = None) -> float:
        if val_loss is None:
            raise ValueError("the plateau scheduler needs the validation loss of the epoch")
        if val_loss < self.best * (1.0 - self.threshold):
            self.best = float(val_loss)
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.num_bad_epochs > self.patience:
            reduced = max(self.curr_lr * self.factor, self.min_lr)
            if self.curr_lr - reduced > self.eps:
                self.curr_lr = reduced
            self.num_bad_epochs = 0
        return self.curr_lr


def make_lr_scheduler(training_params: Mapping) -> LRScheduler:
    """The scheduler of ``training.scheduler`` (anything unknown: none, as the original)."""
    def value(key):
        if key not in training_params:
            raise ValueError(f"experiment parameters: training.{key} is missing "
                             f"(needed by scheduler {training_params.get('scheduler')!r})")
        return training_params[key]

    kind = training_params.get("scheduler")
    lr = float(value("lr"))
    if kind == "warmup":
        return WarmupStepLR(lr, value("lr_warmup_steps"), value("lr_decay_steps"), value("lr_factor"))
    if kind == "multistep":
        return MultiStepLR(lr, value("lr_decay_steps"), value("lr_factor"))
    if kind == "plateau":
        return ReduceLROnPlateau(lr, value("patience"), value("lr_factor"))
    if kind == "step":
        return StepLR(lr, value("patience"), value("lr_factor"))
    if kind == "exponential":
        return ExponentialLRSchedule(lr, value("lr_factor"))
    return LRScheduler(lr)


class BetaScheduler:
    """lib/schedulers.BetaScheduler: the KL weight per epoch ("linear" as 02_train.py uses; also "step" and
    "multistep" as the original class has them)."""

    def __init__(self, beta_init: float, beta_final: float, warmup_steps: int, warmup_type: str = "linear"):
        if warmup_type not in ("linear", "step", "multistep"):
            raise ValueError(f"beta warm-up type must be linear, step or multistep; got {warmup_type!r}")
        if warmup_type == "linear" and int(warmup_steps) == 1:
            raise ValueError("loss.beta_warmup_steps=1: the original's linear BetaScheduler divides by "
                             "(warmup_steps - 1) = 0 after the first epoch; use 0 or >= 2")
        self.beta_init = float(beta_init)
        self.beta_final = float(beta_final)
        self.warmup_steps = int(warmup_steps)
        self.warmup_type = warmup_type

    def _after_step(self, beta: float, finished: int) -> float:
        if self.warmup_type == "multistep":
            if finished < self.warmup_steps // 2:
                return self.beta_init
            if finished < self.warmup_steps:
                return (self.beta_init + self.beta_final) / 2
            return self.beta_final
        if self.warmup_type == "step":
            return self.beta_final if finished >= self.warmup_steps else beta
        if finished <= self.warmup_steps:
            return self.beta_init + (finished - 1) * (self.beta_final - self.beta_init) / (self.warmup_steps - 1)
        return beta

    def beta_for_epoch(self, epoch: int) -> float:
        """The beta used in epoch ``epoch`` (beta0 in epoch 0)."""
        beta = self.beta_init
        for finished in range(epoch):
            beta = self._after_step(beta, finished)
        return beta


def make_beta_scheduler(loss_params: Mapping) -> BetaScheduler:
    for key in ("beta0", "beta", "beta_warmup_steps"):
        if key not in loss_params:
            raise ValueError(f"experiment parameters: loss.{key} is missing")
    return BetaScheduler(loss_params["beta0"], loss_params["beta"], loss_params["beta_warmup_steps"])
