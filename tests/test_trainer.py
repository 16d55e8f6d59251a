"""The one trainer: resume after SIGKILL, replica invariance, multi-worker chief-only writes, NaN guard."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig
from vidpred_tf.models.baseline.task import NextFrameTask
from vidpred_tf.training import (
    AdamEpsInsideSqrt,
    NonFiniteLossError,
    OptimizerSpec,
    Task,
    Trainer,
    TrainerConfig,
    make_strategy,
)

TINY_TRAIN = os.path.join(os.path.dirname(__file__), "tiny_train.py")


def _run_tiny(*args, env=None, check=True):
    process = subprocess.run([sys.executable, TINY_TRAIN, *args], capture_output=True, text=True,
                             env={**os.environ, **(env or {})}, timeout=300)
    if check and process.returncode != 0:
        raise AssertionError(f"tiny_train failed ({process.returncode}):\n{process.stdout}\n{process.stderr}")
    return process


def _checkpoint_values(path):
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if "_CHECKPOINTABLE_OBJECT_GRAPH" not in name}


def test_resume_after_sigkill_reproduces_uninterrupted_run(tmp_path):
    straight, interrupted = str(tmp_path / "straight"), str(tmp_path / "interrupted")
    _run_tiny("--model_dir", straight, "--num_steps", "8", "--checkpoint_every", "4")
    killed = _run_tiny("--model_dir", interrupted, "--num_steps", "8", "--checkpoint_every", "4",
                       "--kill_at_step", "6", check=False)
    assert killed.returncode == -9, killed.stderr
    assert tf.train.latest_checkpoint(interrupted).endswith("ckpt-4")
    resumed = _run_tiny("--model_dir", interrupted, "--num_steps", "8", "--checkpoint_every", "4")
    assert "Resumed from" in resumed.stdout and "at step 4" in resumed.stdout

    expected = _checkpoint_values(os.path.join(straight, "ckpt-8"))
    actual = _checkpoint_values(os.path.join(interrupted, "ckpt-8"))
    assert set(expected) == set(actual)
    # Model weights, Adam slots, the step and the optimiser's iteration count are all in the checkpoint.
    assert any("optimizer_model" in name for name in expected)
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def _tiny_task():
    return NextFrameTask(ConvLSTMConfig(image_size=8, context_frames=2, encoder_filters=(4,), lstm_filters=(4,)),
                         num_frames=5, learning_rate=1.0, optimizer="sgd")


def _one_step(strategy, videos, model_dir, clip_norm=None):
    task = _tiny_task()
    task.clip_norm = clip_norm
    trainer = Trainer(task, TrainerConfig(model_dir=model_dir, num_steps=1, global_batch_size=len(videos),
                                          seed=11, checkpoint_every=0, log_every=0), strategy)
    before = [v.numpy().copy() for v in trainer.model.trainable_variables]

    def dataset_fn(context):
        batch = context.get_per_replica_batch_size(len(videos))
        return tf.data.Dataset.from_tensor_slices({"images": videos}).batch(batch, drop_remainder=True).repeat()

    result = trainer.fit(dataset_fn)
    after = [v.numpy() for v in trainer.model.trainable_variables]
    # SGD with learning rate 1: the update is minus the gradient.
    return result.losses["loss"], [b - a for b, a in zip(before, after)]


@pytest.mark.parametrize("clip_norm", [None, 0.001])
def test_mirrored_two_replicas_match_one_device(tmp_path, clip_norm, mirrored_two_cpus):
    videos = np.random.default_rng(5).random((4, 5, 8, 8, 1)).astype("float32")
    loss_one, grads_one = _one_step(make_strategy("one_device"), videos, str(tmp_path / "one"), clip_norm)
    loss_two, grads_two = _one_step(mirrored_two_cpus, videos, str(tmp_path / "two"), clip_norm)
    assert loss_two == pytest.approx(loss_one, rel=1e-6)
    assert any(np.abs(g).max() > 0 for g in grads_one)
    if clip_norm:
        norm = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads_one))
        assert norm == pytest.approx(clip_norm, rel=1e-4)
    for g1, g2 in zip(grads_one, grads_two):
        np.testing.assert_allclose(g2, g1, rtol=1e-5, atol=1e-7)


def _free_ports(count):
    """``count`` distinct free ports: all sockets stay bound until every port is chosen, so two calls cannot
    return the same one."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def test_multi_worker_two_processes_only_chief_writes(tmp_path):
    model_dir = str(tmp_path / "run")
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        processes.append(subprocess.Popen(
            [sys.executable, TINY_TRAIN, "--model_dir", model_dir, "--num_steps", "4", "--checkpoint_every", "2",
             "--strategy", "multi_worker", "--global_batch_size", "4",
             # By time too, after every step: the workers must agree on each save (clocks differ).
             "--checkpoint_every_s", "1e-9"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # A proxy of the host must not see the workers' loopback gRPC traffic.
            env={**os.environ, "TF_CONFIG": tf_config, "no_proxy": "127.0.0.1,localhost",
                 "NO_PROXY": "127.0.0.1,localhost"}))
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
        outputs.append(json.loads(stdout.split("RESULT ", 1)[1]))
    assert [o["chief"] for o in outputs] == [True, False]
    assert outputs[0]["step"] == outputs[1]["step"] == 4
    assert outputs[0]["losses"]["loss"] == pytest.approx(outputs[1]["losses"]["loss"], rel=1e-6)
    names = sorted(os.listdir(model_dir))
    assert [n for n in names if n.startswith("events.out.tfevents")].__len__() == 1, names
    assert {"checkpoint", "ckpt-1.index", "ckpt-2.index", "ckpt-3.index", "ckpt-4.index"} <= set(names)
    assert all(n.startswith(("events.out", "checkpoint", "ckpt-", "vidpred_run.json")) for n in names), names


class _ExplodingTask(Task):
    """A linear model whose loss overflows to inf at the third step."""

    def build_model(self):
        model = keras.Sequential([keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
        model.build((None, 1, 1, 1, 1))
        return model

    def build_optimizers(self, model):
        return [OptimizerSpec("model", keras.optimizers.SGD(1.0), lambda: model.trainable_variables, "loss")]

    def train_losses(self, model, batch, step, seed):
        scale = tf.where(step >= 2, tf.constant(1e30), tf.constant(1.0))
        value = tf.reduce_mean(model(batch["images"])) * scale
        return {"loss": value * value * scale, "aux": value}

    def predict(self, model, batch, seed):
        return model(batch["images"])


def test_nan_guard_names_the_loss_and_keeps_last_good_checkpoint(tmp_path):
    trainer = Trainer(_ExplodingTask(), TrainerConfig(model_dir=str(tmp_path), num_steps=10, global_batch_size=2,
                                                      checkpoint_every=1, log_every=0),
                      make_strategy("one_device"))
    data = {"images": np.full((2, 1, 1, 1, 1), 1e-3, np.float32)}
    with pytest.raises(NonFiniteLossError, match=r"loss loss became non-finite at step 3.*ckpt-2"):
        trainer.fit(lambda ctx: tf.data.Dataset.from_tensors(data).repeat())
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-2")


def test_adam_eps_inside_sqrt_first_step_matches_closed_form():
    rng = np.random.default_rng(0)
    weights = rng.standard_normal(50).astype(np.float32)
    grads = (rng.standard_normal(50) * 10.0 ** rng.integers(-7, 1, 50)).astype(np.float32)
    variable = tf.Variable(weights)
    optimizer = AdamEpsInsideSqrt(learning_rate=0.001)
    optimizer.apply_gradients([(tf.constant(grads), variable)])
    g = grads.astype(np.float64)
    expected = weights - 0.001 * g / np.sqrt(g * g + 1e-8)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-6, atol=1e-7)
    # Second step against the recurrence written out by hand.
    optimizer.apply_gradients([(tf.constant(grads), variable)])
    m = 0.95 * (0.05 * g) + 0.05 * g
    v = 0.9995 * (0.0005 * g * g) + 0.0005 * g * g
    expected = expected - 0.001 * (m / (1 - 0.95 ** 2)) / np.sqrt(v / (1 - 0.9995 ** 2) + 1e-8)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_trainer_rejects_batch_not_divisible_by_replicas(tmp_path, mirrored_two_cpus):
    with pytest.raises(ValueError, match="global batch size 3 is not divisible by the 2 replicas"):
        Trainer(_tiny_task(), TrainerConfig(model_dir=str(tmp_path), num_steps=1, global_batch_size=3),
                mirrored_two_cpus)


def test_unknown_strategy_is_rejected():
    with pytest.raises(ValueError, match="--strategy='tpu'"):
        make_strategy("tpu")


def test_checkpoint_holds_weights_of_layers_kept_in_lists(tmp_path):
    # ConvLSTMPredictor keeps its layers in Python lists, which tf.train.Checkpoint does not follow on a
    # Keras 3 model: the trainer must save every weight anyway, and a fresh model must load them.
    videos = np.random.default_rng(1).random((4, 5, 8, 8, 1)).astype("float32")
    task = _tiny_task()
    trainer = Trainer(task, TrainerConfig(model_dir=str(tmp_path), num_steps=2, global_batch_size=4,
                                          checkpoint_every=0, log_every=0), make_strategy("one_device"))
    result = trainer.fit(lambda ctx: tf.data.Dataset.from_tensors({"images": videos}).repeat())
    saved = _checkpoint_values(result.checkpoint)
    assert sum(1 for name in saved if name.startswith("model_weights/")) == len(trainer.model.weights)

    from vidpred_tf.training.checkpoint import restore_model_weights
    keras.utils.set_random_seed(123)
    fresh = task.build_model()
    assert any(not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(fresh.weights, trainer.model.weights))
    restore_model_weights(fresh, result.checkpoint)
    for restored, trained in zip(fresh.weights, trainer.model.weights):
        np.testing.assert_array_equal(restored.numpy(), trained.numpy(), err_msg=trained.path)


def test_sigterm_saves_a_checkpoint_and_stops(tmp_path):
    run = _run_tiny("--model_dir", str(tmp_path), "--num_steps", "8", "--checkpoint_every", "5",
                    "--sigterm_at_step", "3")
    result = json.loads(run.stdout.split("RESULT ", 1)[1])
    assert result["status"] == "preempted" and result["step"] == 3
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-3")
    assert "Stopped by signal 15 at step 3" in run.stdout


class _TwoPlayers(keras.layers.Layer):
    def build(self, input_shape=None):
        self.d = self.add_weight(shape=(), initializer=keras.initializers.Constant(1.0), name="d")
        self.g = self.add_weight(shape=(), initializer=keras.initializers.Constant(2.0), name="g")

    def call(self, inputs):
        return inputs


class _GameTask(Task):
    """d_loss = d*g for the discriminator, g_loss = g*d for the generator, SGD(1): the order is visible."""

    def __init__(self, sequential):
        self.sequential_updates = sequential

    def build_model(self):
        inputs = keras.Input((1,))
        self.players = _TwoPlayers()
        model = keras.Model(inputs, self.players(inputs))
        return model

    def build_optimizers(self, model):
        return [OptimizerSpec("discriminator", keras.optimizers.SGD(1.0), lambda: [self.players.d], "d_loss"),
                OptimizerSpec("generator", keras.optimizers.SGD(1.0), lambda: [self.players.g], "g_loss")]

    def train_losses(self, model, batch, step, seed):
        d, g = self.players.d, self.players.g
        return {"d_loss": d * g, "g_loss": g * d}

    def predict(self, model, batch, seed):
        return batch["images"]


@pytest.mark.parametrize("sequential, expected", [(False, (-1.0, 1.0)), (True, (-1.0, 3.0))])
def test_optimizers_update_in_order_discriminator_first(tmp_path, sequential, expected):
    task = _GameTask(sequential)
    trainer = Trainer(task, TrainerConfig(model_dir=str(tmp_path), num_steps=1, global_batch_size=1,
                                          checkpoint_every=0, log_every=0), make_strategy("one_device"))
    trainer.fit(lambda ctx: tf.data.Dataset.from_tensors({"images": np.ones((1, 1, 1, 1, 1), np.float32)}).repeat())
    # Shared forward pass: g's gradient is d before D's update (1). Sequential: after it (-1), so g = 2 + 1.
    assert (float(task.players.d.numpy()), float(task.players.g.numpy())) == expected


class _StagedGameTask(_GameTask):
    """The generator's forward pass (h = 3g) runs once; the G loss re-reads d after the D update."""

    staged_updates = True

    def __init__(self):
        super().__init__(sequential=False)
        self.forward_passes = tf.Variable(0, trainable=False)

    def staged_losses(self, model, batch, step, seed):
        d, g = self.players.d, self.players.g
        self.forward_passes.assign_add(1)
        h = 3.0 * g
        yield {"d_loss": d * h}
        yield {"g_loss": h * d, "d_after": tf.identity(d)}


def test_staged_updates_share_the_forward_pass_and_read_the_updated_discriminator(tmp_path):
    task = _StagedGameTask()
    trainer = Trainer(task, TrainerConfig(model_dir=str(tmp_path), num_steps=1, global_batch_size=1,
                                          checkpoint_every=0, log_every=0), make_strategy("one_device"))
    result = trainer.fit(lambda ctx: tf.data.Dataset.from_tensors(
        {"images": np.ones((1, 1, 1, 1, 1), np.float32)}).repeat())
    # D: d -= h = 6 -> -5. G: d(h*d)/dg = 3*d_after = -15 -> g = 2 + 15 = 17.
    assert (float(task.players.d.numpy()), float(task.players.g.numpy())) == (-5.0, 17.0)
    assert int(task.forward_passes.numpy()) == 1
    assert result.losses["d_after"] == -5.0 and result.losses["g_loss"] == pytest.approx(6.0 * -5.0)


class _LinearTask(Task):
    def build_model(self):
        model = keras.Sequential([keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
        model.build((None, 1, 1, 1, 1))
        return model

    def build_optimizers(self, model):
        return [OptimizerSpec("model", keras.optimizers.SGD(1.0), lambda: model.trainable_variables, "loss",
                              clip_norm=0.5)]

    def train_losses(self, model, batch, step, seed):
        return {"loss": -tf.reduce_sum(tf.cast(model(batch["images"]), tf.float32))}

    def predict(self, model, batch, seed):
        return model(batch["images"])


@pytest.mark.parametrize("mixed_precision", [False, True])
def test_clipping_acts_on_the_true_gradient_with_and_without_loss_scaling(tmp_path, mixed_precision):
    try:
        trainer = Trainer(_LinearTask(), TrainerConfig(model_dir=str(tmp_path), num_steps=1, global_batch_size=1,
                                                       checkpoint_every=0, log_every=0,
                                                       mixed_precision=mixed_precision),
                          make_strategy("one_device"))
        trainer.fit(lambda ctx: tf.data.Dataset.from_tensors({"images": np.ones((1, 1, 1, 1, 1), np.float32)}).repeat())
        # The gradient of -w*x is -1; clipped to norm 0.5, SGD(1) moves w by +0.5.
        assert float(trainer.model.trainable_variables[0].numpy().ravel()[0]) == pytest.approx(0.5, rel=1e-3)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_restore_into_a_model_built_again_in_the_same_process_and_misfit_error(tmp_path):
    from vidpred_tf.training.checkpoint import model_checkpoint, restore_model_weights

    def dense_model(units):
        model = keras.Sequential([keras.layers.Dense(units), keras.layers.Dense(1)])  # auto-named layers
        model.build((None, 3))
        return model

    first = dense_model(4)
    path = model_checkpoint(first).write(str(tmp_path / "weights"))
    second = dense_model(4)
    restore_model_weights(second, path)
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match=r"checkpoint .*weights does not hold the weights"):
        restore_model_weights(dense_model(5), path)


def test_gif_summaries_reach_the_image_dashboard(tmp_path):
    videos = np.random.default_rng(1).random((4, 5, 8, 8, 1)).astype("float32")
    trainer = Trainer(_tiny_task(), TrainerConfig(model_dir=str(tmp_path), num_steps=2, global_batch_size=4,
                                                  checkpoint_every=0, log_every=1, video_every=2),
                      make_strategy("one_device"))
    trainer.fit(lambda ctx: tf.data.Dataset.from_tensors({"images": videos}).repeat(),
                video_batch={"images": videos[:2]})
    images, scalars = {}, set()
    for path in tmp_path.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.HasField("image"):
                    images[value.tag] = value.image
                else:
                    scalars.add(value.tag)
    image = images["videos/truth_vs_prediction"]
    assert image.encoded_image_string[:6] == b"GIF89a"
    # 2 videos side by side, ground truth above the prediction: [T, 2H, 2W] frames of 8x8.
    assert (image.height, image.width) == (16, 16)
    assert {"loss/loss", "loss/future_mse", "perf/steps_per_sec"} <= scalars


def test_schedules_against_hand_computed_values():
    from vidpred_tf.training.schedules import LinearDecay, PiecewiseConstant, linear_ramp, sigmoid_ramp

    assert float(linear_ramp(0, 10, 20, 1.0, 0.0)) == 1.0
    assert float(linear_ramp(15, 10, 20, 1.0, 0.0)) == pytest.approx(0.5)
    assert float(linear_ramp(99, 10, 20, 1.0, 0.0)) == 0.0
    decay = LinearDecay(1e-3, 1e-4, 100, 200)
    assert [float(decay(s)) for s in (0, 150, 300)] == pytest.approx([1e-3, 5.5e-4, 1e-4])
    steps = PiecewiseConstant([10, 20], [3.0, 2.0, 1.0])
    assert [float(steps(s)) for s in (0, 9, 10, 19, 20, 1000)] == [3.0, 3.0, 2.0, 2.0, 1.0, 1.0]
    assert float(sigmoid_ramp(50, midpoint=50, steepness=0.1, max_value=2.0)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one more value than boundaries"):
        PiecewiseConstant([10], [1.0])


def test_make_optimizer_by_name():
    from vidpred_tf.training import make_optimizer

    assert isinstance(make_optimizer("adam", 1e-3), keras.optimizers.Adam)
    assert isinstance(make_optimizer("adam_eps_inside_sqrt", 1e-3), AdamEpsInsideSqrt)
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        make_optimizer("adagrad", 1e-3)


def test_training_data_that_breaks_the_batch_contract_is_refused_before_the_first_step(tmp_path):
    trainer = Trainer(_LinearTask(), TrainerConfig(model_dir=str(tmp_path), num_steps=1, global_batch_size=1,
                                                   checkpoint_every=0, log_every=0), make_strategy("one_device"))
    with pytest.raises(ValueError, match=r"training data of task task: a video batch needs an 'images' entry; "
                                         r"got keys \['frames'\]"):
        trainer.fit(lambda ctx: tf.data.Dataset.from_tensors({"frames": np.ones((1, 1, 1, 1, 1), np.float32)}))
    with pytest.raises(ValueError, match=r"'images' must be \[B, T, H, W, C\]; got shape \(1, 1\)"):
        trainer.fit(lambda ctx: tf.data.Dataset.from_tensors({"images": np.ones((1, 1), np.float32)}))
    assert int(trainer.step.numpy()) == 0


class _TaskWithInputs(_LinearTask):
    """A task that builds its own training data (``Task.build_inputs``)."""

    def build_inputs(self, input_context, epoch=None):
        batch = input_context.get_per_replica_batch_size(2)
        return tf.data.Dataset.from_tensors({"images": np.ones((batch, 1, 1, 1, 1), np.float32)}).repeat()


def test_fit_without_a_dataset_function_trains_on_the_tasks_own_inputs(tmp_path):
    trainer = Trainer(_TaskWithInputs(), TrainerConfig(model_dir=str(tmp_path), num_steps=1, global_batch_size=2,
                                                       checkpoint_every=0, log_every=0), make_strategy("one_device"))
    trainer.fit()
    # Clipped to norm 0.5, SGD(1) moves w by +0.5 from 0 (the gradient of -sum(w*x) over two ones is -2).
    assert float(trainer.model.trainable_variables[0].numpy().ravel()[0]) == pytest.approx(0.5, rel=1e-3)
    with pytest.raises(NotImplementedError, match="_LinearTask builds no inputs: give Trainer.fit a dataset_fn"):
        Trainer(_LinearTask(), TrainerConfig(model_dir=str(tmp_path / "b"), num_steps=1, global_batch_size=1,
                                             checkpoint_every=0, log_every=0), make_strategy("one_device")).fit()
