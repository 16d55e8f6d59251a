"""Task.post_update_losses (scalars read inside the step after the updates) and Task.on_step_end (the host callback
that sees them): the feedback a GAN schedule like hierchvid's sticky updateD/updateG flags needs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.training import OptimizerSpec, Task, Trainer, TrainerConfig, make_strategy


class _Players(keras.layers.Layer):
    def build(self, input_shape=None):
        self.d = self.add_weight(shape=(), initializer=keras.initializers.Constant(1.0), name="d")
        self.g = self.add_weight(shape=(), initializer=keras.initializers.Constant(2.0), name="g")

    def call(self, inputs):
        return inputs


class _FeedbackTask(Task):
    """d_loss = d*g, g_loss = g*d with SGD(1); post-update values of d and g; the generator runs only while the
    host-side flag (saved in checkpoints) is on, and the flag turns off once d is negative after an update."""

    def __init__(self, sequential=True, staged=False, clash=False):
        self.sequential_updates = sequential
        self.staged_updates = staged
        self.clash = clash
        self.generator_on = tf.Variable(True, trainable=False, name="generator_on")
        self.seen = []

    def build_model(self):
        inputs = keras.Input((1,))
        self.players = _Players()
        return keras.Model(inputs, self.players(inputs))

    def build_optimizers(self, model):
        return [OptimizerSpec("discriminator", keras.optimizers.SGD(1.0), lambda: [self.players.d], "d_loss"),
                OptimizerSpec("generator", keras.optimizers.SGD(1.0), lambda: [self.players.g], "g_loss",
                              active_on=lambda step: bool(self.generator_on.numpy()))]

    def train_losses(self, model, batch, step, seed):
        d, g = self.players.d, self.players.g
        return {"d_loss": d * g, "g_loss": g * d, "d_before": tf.identity(d)}

    def post_update_losses(self, model, batch, step, seed):
        if self.clash:
            return {"d_loss": tf.identity(self.players.d)}
        return {"d_after": tf.identity(self.players.d), "g_after": tf.identity(self.players.g)}

    def on_step_end(self, step, losses):
        self.seen.append((step, dict(losses)))
        if losses["d_after"] < 0:
            self.generator_on.assign(False)

    def checkpoint_objects(self):
        return {"generator_on": self.generator_on}

    def predict(self, model, batch, seed):
        return batch["images"]


def _data(context):
    return tf.data.Dataset.from_tensors({"images": np.ones((1, 1, 1, 1, 1), np.float32)}).repeat()


def _trainer(task, tmp_path, steps, checkpoint_every=0, strategy=None):
    return Trainer(task, TrainerConfig(model_dir=str(tmp_path), num_steps=steps, global_batch_size=1,
                                       checkpoint_every=checkpoint_every, log_every=0),
                   strategy or make_strategy("one_device"))


def test_post_update_losses_read_the_updated_variables_and_reach_the_host(tmp_path):
    task = _FeedbackTask()
    result = _trainer(task, tmp_path, steps=1).fit(_data)
    # Sequential: D: d -= g -> -1; G sees the updated d: g -= d -> 3.
    assert (float(task.players.d.numpy()), float(task.players.g.numpy())) == (-1.0, 3.0)
    assert result.losses["d_before"] == -1.0  # the G stage's forward (the last one) already read the new d
    assert result.losses["d_after"] == -1.0 and result.losses["g_after"] == 3.0
    assert [step for step, _ in task.seen] == [1]
    assert task.seen[0][1]["d_after"] == -1.0 and task.seen[0][1]["d_loss"] == -2.0


@pytest.mark.parametrize("sequential, staged", [(False, False), (False, True)])
def test_post_update_losses_in_the_joint_and_staged_modes(tmp_path, sequential, staged):
    task = _FeedbackTask(sequential=sequential, staged=staged)
    result = _trainer(task, tmp_path, steps=1).fit(_data)
    assert result.losses["d_after"] == float(task.players.d.numpy())
    assert result.losses["g_after"] == float(task.players.g.numpy())


def test_the_host_flag_switches_an_optimizer_off_and_is_restored_on_resume(tmp_path):
    task = _FeedbackTask()
    _trainer(task, tmp_path, steps=2, checkpoint_every=1).fit(_data)
    # Step 1 turned the flag off (d = -1), so step 2 ran D only: d -= g (3) -> -4, g stays 3.
    assert not bool(task.generator_on.numpy())
    assert (float(task.players.d.numpy()), float(task.players.g.numpy())) == (-4.0, 3.0)
    resumed = _FeedbackTask()
    trainer = _trainer(resumed, tmp_path, steps=3, checkpoint_every=1)
    trainer.fit(_data)
    # The restored flag (off) keeps G out of step 3: d -= 3 -> -7, g stays 3.
    assert [step for step, _ in resumed.seen] == [3]
    assert not bool(resumed.generator_on.numpy())
    assert (float(resumed.players.d.numpy()), float(resumed.players.g.numpy())) == (-7.0, 3.0)


def test_a_post_update_name_that_is_also_a_loss_name_is_refused(tmp_path):
    # A KeyError, wrapped by AutoGraph when the step is staged.
    with pytest.raises(Exception, match=r"post_update_losses\(\) returned \[.d_loss.\]"):
        _trainer(_FeedbackTask(clash=True), tmp_path, steps=1).fit(_data)


def test_tasks_without_the_hooks_are_unchanged(tmp_path):
    class Plain(_FeedbackTask):
        post_update_losses = Task.post_update_losses
        on_step_end = Task.on_step_end

    task = Plain()
    result = _trainer(task, tmp_path, steps=1).fit(_data)
    assert set(result.losses) == {"d_loss", "g_loss", "d_before"} and task.seen == []


def test_post_update_losses_are_averaged_over_replicas(tmp_path, mirrored_two_cpus):
    task = _FeedbackTask()
    trainer = Trainer(task, TrainerConfig(model_dir=str(tmp_path), num_steps=1, global_batch_size=2,
                                          checkpoint_every=0, log_every=0), mirrored_two_cpus)
    result = trainer.fit(lambda context: tf.data.Dataset.from_tensors(
        {"images": np.ones((1, 1, 1, 1, 1), np.float32)}).repeat())
    assert result.losses["d_after"] == pytest.approx(float(task.players.d.numpy()))
    assert task.seen[0][1]["g_after"] == pytest.approx(float(task.players.g.numpy()))
