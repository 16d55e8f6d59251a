"""MSPred per-epoch LR schedulers and the KL beta scheduler against hand-computed values (spec 5, item 15; the
original's quirks included), and the optimisers 02_train.py picks (the torch-exact optimisers themselves:
tests/test_torch_optimizers.py)."""

import json
import math

import pytest

from vidpred_tf.models.mspred.schedulers import (
    BetaScheduler,
    ExponentialLRSchedule,
    LRScheduler,
    MultiStepLR,
    ReduceLROnPlateau,
    StepLR,
    WarmupStepLR,
    make_beta_scheduler,
    make_lr_scheduler,
)
from vidpred_tf.models.mspred.task import make_mspred_optimizer
from vidpred_tf.training import TorchAdam, TorchSGD


def test_warmup_step_lr_acceptance_item_15():
    scheduler = WarmupStepLR(1e-4, warmup_steps=0, decay_steps=[250], gamma=0.5)
    assert all(scheduler.lr_for_epoch(e) == 1e-4 for e in (0, 1, 100, 250))
    assert scheduler.lr_for_epoch(251) == pytest.approx(5e-5)
    assert scheduler.lr_for_epoch(400) == pytest.approx(5e-5)


def test_warmup_quirk_q6_epoch_one_runs_at_1e_minus_6_and_never_reaches_lr0():
    scheduler = WarmupStepLR(1e-3, warmup_steps=10, decay_steps=[50, 100], gamma=0.1)
    assert scheduler.lr_for_epoch(0) == 1e-3
    assert scheduler.lr_for_epoch(1) == 1e-6  # max(1e-3 * 0 / 10, 1e-6) after epoch 0
    assert scheduler.lr_for_epoch(2) == pytest.approx(1e-4)
    assert scheduler.lr_for_epoch(10) == pytest.approx(9e-4)  # last warm-up value, kept until the decay
    assert scheduler.lr_for_epoch(50) == pytest.approx(9e-4)
    assert scheduler.lr_for_epoch(51) == pytest.approx(9e-5)
    assert scheduler.lr_for_epoch(101) == pytest.approx(9e-6)


def test_stepping_matches_closed_form_and_state_round_trips_through_json():
    scheduler = WarmupStepLR(1e-3, warmup_steps=3, decay_steps=[5], gamma=0.5)
    for epoch in range(8):
        assert scheduler.step(epoch) == pytest.approx(scheduler.lr_for_epoch(epoch + 1))
    state = json.loads(json.dumps(scheduler.state_dict()))
    assert set(state) == {"init_lr", "warmup_steps", "decay_steps", "gamma", "curr_lr"}
    fresh = WarmupStepLR(1e-3, warmup_steps=3, decay_steps=[5], gamma=0.5)
    fresh.load_state_dict(state)
    assert fresh.curr_lr == scheduler.curr_lr
    with pytest.raises(ValueError, match="lr_decay_steps"):
        WarmupStepLR(1e-3, warmup_steps=10, decay_steps=[5], gamma=0.1)


def test_other_schedulers_against_torch_semantics():
    multistep = MultiStepLR(1.0, [2, 4], 0.1)
    assert [multistep.lr_for_epoch(e) for e in range(6)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    step = StepLR(1.0, step_size=3, gamma=0.5)
    assert [step.lr_for_epoch(e) for e in range(7)] == pytest.approx([1, 1, 1, .5, .5, .5, .25])
    exponential = ExponentialLRSchedule(1.0, gamma=0.5)
    assert exponential.lr_for_epoch(0) == 1.0 and exponential.lr_for_epoch(1) == 1.0
    assert exponential.lr_for_epoch(3) == pytest.approx(0.5 ** (2 / 100_000))
    plateau = ReduceLROnPlateau(1.0, patience=1, factor=0.5)
    lrs = [plateau.step(e, loss) for e, loss in enumerate([1.0, 1.0, 1.0, 0.5, 0.5, 0.5])]
    # bad epochs: 1 (ok), 2 (> patience: halve, reset), then 0.5 improves, then 1, 2 -> halve again
    assert lrs == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.5, 0.25])
    assert type(make_lr_scheduler({"scheduler": "cosine", "lr": 0.3})) is LRScheduler
    assert make_lr_scheduler({"scheduler": "cosine", "lr": 0.3}).lr_for_epoch(9) == 0.3
    with pytest.raises(ValueError, match="training.patience"):
        make_lr_scheduler({"scheduler": "plateau", "lr": 1e-3, "lr_factor": 0.5})


def test_beta_scheduler_quirks_q7():
    synpick = make_beta_scheduler({"beta0": 1e-5, "beta": 1e-4, "beta_warmup_steps": 23})
    assert synpick.beta_for_epoch(0) == 1e-5
    assert synpick.beta_for_epoch(1) == pytest.approx(1e-5 - 9e-5 / 22)  # below beta0
    assert synpick.beta_for_epoch(1) < 1e-5
    assert synpick.beta_for_epoch(2) == pytest.approx(1e-5)
    assert synpick.beta_for_epoch(24) == pytest.approx(1e-4)
    assert synpick.beta_for_epoch(100) == pytest.approx(1e-4)
    no_warmup = BetaScheduler(1e-5, 1e-4, 0)
    assert no_warmup.beta_for_epoch(0) == 1e-5 and no_warmup.beta_for_epoch(1) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="beta_warmup_steps=1"):
        BetaScheduler(1e-5, 1e-4, 1)
    assert not math.isnan(BetaScheduler(0.0, 1.0, 4, "multistep").beta_for_epoch(3))
    assert BetaScheduler(0.0, 1.0, 4, "multistep").beta_for_epoch(3) == 0.5


# ------------------------------------------------------------------ torch-exact optimisers (02_train.py's update rule)
def test_mspred_optimizers_are_the_originals_setup_optimizer():
    adam = make_mspred_optimizer({"optimizer": "adam"}, 1e-4)
    assert isinstance(adam, TorchAdam) and adam.decoupled_weight_decay == 0.0
    assert (adam.beta_1, adam.beta_2, adam.epsilon) == (0.9, 0.999, 1e-8)
    adamw = make_mspred_optimizer({"optimizer": "adamw"}, 1e-4)
    assert isinstance(adamw, TorchAdam) and adamw.decoupled_weight_decay == 1e-2  # torch.optim.AdamW default
    sgd = make_mspred_optimizer({"optimizer": "sgd", "momentum": 0.9, "nesterov": True}, 1e-2)
    assert isinstance(sgd, TorchSGD) and (sgd.momentum, sgd.nesterov, sgd.l2_weight_decay) == (0.9, True, 5e-4)
