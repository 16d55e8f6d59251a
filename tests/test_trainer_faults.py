"""The trainer under faults: diverging updates, damaged checkpoints, changed flags, interrupted evaluations,
checkpoints by time (fake clock)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.training import (
    CheckpointDamagedError,
    Evaluation,
    NonFiniteLossError,
    NonFiniteWeightsError,
    OptimizerSpec,
    Task,
    Trainer,
    TrainerConfig,
    make_strategy,
)


def _data():
    return lambda ctx: tf.data.Dataset.from_tensors({"images": np.ones((2, 1, 1, 1, 1), np.float32)}).repeat()


class _LinearTask(Task):
    """``w * x`` under SGD(learning_rate); from step ``blow_up_at`` on the gradient is multiplied by 1e30 while the
    loss stays ``w * x``: the update diverges (inf weights) one step before any loss does."""

    def __init__(self, learning_rate=0.1, blow_up_at=None):
        self.learning_rate = learning_rate
        self.blow_up_at = blow_up_at

    def build_model(self):
        model = keras.Sequential([keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
        model.build((None, 1, 1, 1, 1))
        return model

    def build_optimizers(self, model):
        return [OptimizerSpec("model", keras.optimizers.SGD(self.learning_rate), lambda: model.trainable_variables,
                              "loss")]

    def train_losses(self, model, batch, step, seed):
        value = tf.reduce_mean(model(batch["images"]))
        if self.blow_up_at is None:
            return {"loss": value}
        scale = tf.where(step >= self.blow_up_at, tf.constant(1e30), tf.constant(1.0))
        # Value: w*x; gradient: scale * x.
        return {"loss": tf.stop_gradient(value) + (value - tf.stop_gradient(value)) * scale}

    def predict(self, model, batch, seed):
        return model(batch["images"])


def _trainer(model_dir, task=None, clock=None, **config):
    settings = dict(model_dir=str(model_dir), num_steps=4, global_batch_size=2, checkpoint_every=1, log_every=0)
    settings.update(config)
    return Trainer(task or _LinearTask(), TrainerConfig(**settings), make_strategy("one_device"), clock=clock)


def _all_finite(prefix):
    reader = tf.train.load_checkpoint(prefix)
    names = [n for n in reader.get_variable_to_shape_map() if "_CHECKPOINTABLE_OBJECT_GRAPH" not in n]
    return all(np.all(np.isfinite(reader.get_tensor(n))) for n in names
               if np.issubdtype(np.asarray(reader.get_tensor(n)).dtype, np.floating))


def test_a_diverged_update_is_never_checkpointed_and_the_error_names_a_finite_checkpoint(tmp_path):
    # lr 1e10: step 1 moves w to 1 - 1e10 (finite); step 2's gradient 1e30 makes it -inf, its loss still finite.
    trainer = _trainer(tmp_path, _LinearTask(learning_rate=1e10, blow_up_at=1))
    with pytest.raises(NonFiniteWeightsError) as caught:
        trainer.fit(_data())
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("weights became non-finite at step 2 (1 of ")
    assert message.endswith("Last good checkpoint: " + os.path.join(str(tmp_path), "ckpt-1"))
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-1")
    assert _all_finite(os.path.join(str(tmp_path), "ckpt-1"))
    assert isinstance(caught.value, NonFiniteLossError)  # callers that catch the loss guard catch this too


def test_checkpoint_every_s_checkpoints_by_the_clock(tmp_path):
    now = [0.0]

    def advance(trainer, step, losses):
        now[0] += 25.0

    trainer = _trainer(tmp_path, clock=lambda: now[0], num_steps=7, checkpoint_every=0, checkpoint_every_s=60.0)
    result = trainer.fit(_data(), hooks=[advance])
    # 25 s per step: 75 s have passed at the end of step 4 and again at step 7.
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["ckpt-4", "ckpt-7"]
    assert result.step == 7 and result.checkpoint.endswith("ckpt-7")
    with pytest.raises(ValueError, match="checkpoint_every_s must be positive"):
        TrainerConfig(model_dir=str(tmp_path), num_steps=1, global_batch_size=1, checkpoint_every_s=0)


def test_a_damaged_newest_checkpoint_is_refused_by_name_and_the_previous_one_resumes(tmp_path, capsys):
    _trainer(tmp_path, num_steps=4, checkpoint_every=2).fit(_data())
    data_file = os.path.join(str(tmp_path), "ckpt-4.data-00000-of-00001")
    with open(data_file, "r+b") as handle:
        handle.truncate(os.path.getsize(data_file) // 2)
    capsys.readouterr()
    trainer = _trainer(tmp_path, num_steps=4, checkpoint_every=2)
    result = trainer.fit(_data())
    out = capsys.readouterr().out
    assert f"Checkpoint {os.path.join(str(tmp_path), 'ckpt-4')} is damaged (" in out
    assert f"Resuming from {os.path.join(str(tmp_path), 'ckpt-2')}, the newest checkpoint that reads whole" in out
    assert f"Resumed from {os.path.join(str(tmp_path), 'ckpt-2')} at step 2" in out
    assert result.step == 4 and _all_finite(result.checkpoint)
    # Every checkpoint damaged: one error naming them.
    os.remove(os.path.join(str(tmp_path), "ckpt-2.index"))
    for name in os.listdir(tmp_path):
        if name.startswith("ckpt-4.data"):
            with open(os.path.join(str(tmp_path), name), "r+b") as handle:
                handle.truncate(3)
    with pytest.raises(CheckpointDamagedError, match=r"no checkpoint of .* reads whole: .*ckpt-4: .*ckpt-2: "):
        _trainer(tmp_path, num_steps=6, checkpoint_every=2).fit(_data())


def test_a_learning_rate_changed_on_resume_is_used_and_said(tmp_path, capsys):
    _trainer(tmp_path, _LinearTask(learning_rate=0.1), num_steps=2).fit(_data())
    capsys.readouterr()
    # Same value: the restored one stays, nothing is said.
    same = _trainer(tmp_path, _LinearTask(learning_rate=0.1), num_steps=3)
    same.fit(_data())
    assert "Learning rate" not in capsys.readouterr().out
    changed = _trainer(tmp_path, _LinearTask(learning_rate=0.5), num_steps=4)
    before = float(changed.model.weights[0].numpy().ravel()[0])
    changed.fit(_data())
    out = capsys.readouterr().out
    assert "Learning rate of optimizer 'model' changed since the run started: 0.1 -> 0.5; training on with 0.5" in out
    assert changed.learning_rate() == pytest.approx(0.5)
    # Resumed at step 3 (w = 1 - 3 * 0.1 * 1): one step of 0.5 * gradient 1.
    assert float(changed.model.weights[0].numpy().ravel()[0]) == pytest.approx(0.7 - 0.5, abs=1e-6)
    assert before == pytest.approx(1.0)


def test_an_evaluation_interrupted_by_a_kill_is_redone_on_resume(tmp_path, capsys):
    calls = []

    def killed_during_step_2(trainer, step):
        calls.append(step)
        if step == 2:
            raise KeyboardInterrupt  # stands for the SIGKILL: the pass never finishes

    with pytest.raises(KeyboardInterrupt):
        _trainer(tmp_path, num_steps=4, checkpoint_every=2).fit(
            _data(), evaluations=[Evaluation("test", 2, killed_during_step_2)])
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-2")
    capsys.readouterr()

    def evaluate(trainer, step):
        calls.append(step)

    _trainer(tmp_path, num_steps=4, checkpoint_every=2).fit(_data(), evaluations=[Evaluation("test", 2, evaluate)])
    assert calls == [2, 2, 4]
    out = capsys.readouterr().out
    assert "Evaluation 'test' of step 2 did not finish before the run stopped: running it again" in out
    # Recorded: a further resume of the finished run redoes nothing.
    _trainer(tmp_path, num_steps=4, checkpoint_every=2).fit(_data(), evaluations=[Evaluation("test", 2, evaluate)])
    assert calls == [2, 2, 4]
