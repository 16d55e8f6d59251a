"""MSPred 01/02 end to end (acceptance items 13, 14): the README commands verbatim on a tiny json, checkpoints,
TensorBoard tags, validation images, a killed run resumed to the same weights as an uninterrupted one; the
emergency checkpoint; ``load_model_for_evaluation`` on the original's PyTorch checkpoint.

The two 02_train.py processes trace the unrolled model once each for training and once for validation; the
in-process runs use a one-convolution stand-in model so that they trace in a second."""

import glob
import io
import json
import os
import re
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.convert import mspred as convert_mspred
from vidpred_tf.convert.torch_files import read_state_dict
from vidpred_tf.errors import InputError
from vidpred_tf.models.mspred.task import STATE_OBJECT
from vidpred_tf.papers.mspred import checkpoints, experiment
from vidpred_tf.papers.mspred.data import make_tf_dataset
from vidpred_tf.papers.mspred.training import MSPredTraining, MSPredTrainingTask
from vidpred_tf.training import NonFiniteLossError, Trainer, TrainerConfig, make_strategy
from vidpred_tf.training.checkpoint import task_variable_key, write_named_checkpoint

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(cwd, *args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    process = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    assert process.returncode == 0, f"{args}\n{process.stdout}\n{process.stderr[-4000:]}"
    return process


def _shrink(path, **training):
    params = json.load(open(path))
    model = params["model"]
    model["enc_dec"].update(num_filters=8, dim=64)
    model["LSTM_Prior"].update(latent_dim=2, hidden_dim=8)
    model["LSTM_Posterior"].update(latent_dim=2, hidden_dim=8)
    model["HierarchLSTM"].update(hidden_dim=16, num_layers=1, periods=[1, 1, 1])
    params["training"].update(context=2, num_preds=1, batch_size=2, num_iters=1, log_frequency=1,
                              max_batches_per_epoch=1, **training)
    json.dump(params, open(path, "w"))


def _tags(event_dir):
    tags = {}
    for path in glob.glob(os.path.join(event_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    return tags


def _checkpoint_values(exp, name):
    _, prefix = checkpoints.resolve_checkpoint(str(exp), name)
    reader = tf.train.load_checkpoint(prefix)
    return {key: np.asarray(reader.get_tensor(key)) for key in reader.get_variable_to_shape_map()
            if key != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def test_readme_commands_checkpoints_tensorboard_images_and_exact_resume(tmp_path):
    _run(tmp_path, os.path.join(REPO, "scripts/mspred/01_create_experiment.py"), "-d", "TestExp", "--name",
         "exp_mmnist", "--config", "mmnist")
    exp = tmp_path / "experiments" / "TestExp" / "exp_mmnist"
    _shrink(exp / "experiment_params.json", num_epochs=3, save_frequency=1)
    _run(tmp_path, os.path.join(REPO, "scripts/mspred/02_train.py"), "-d", "experiments/TestExp/exp_mmnist/")

    models = exp / "models"
    assert sorted(os.listdir(models)) == ["checkpoint_epoch_1", "checkpoint_epoch_2", "checkpoint_epoch_final",
                                          "checkpoint_last_saved"]
    _, prefix = checkpoints.resolve_checkpoint(str(exp), "checkpoint_epoch_final.pth")
    assert checkpoints.read_port_state(prefix)["epoch"] == 2
    assert checkpoints.read_port_state(prefix)["epochs_completed"] == 3
    for epoch in (0, 1, 2):
        for suffix in ("", "_gt"):
            assert (exp / "plots" / "valid_plots" / "images" / f"img_epoch_{epoch}{suffix}.png").stat().st_size > 0
    assert (exp / "model_architecture.txt").read_text().startswith("Total Params: ")
    (tboard,) = glob.glob(str(exp / "tboard_logs" / "tboard_*"))
    tags = _tags(tboard)
    for level in range(3):
        assert tags[f"Loss/Train_Loss_Level_{level}"] == [0, 1, 2]  # iter = num_iters * epoch + i
        assert tags[f"Loss/Valid_Loss_Level_{level}"] == [0, 1, 2]
    for tag in ("Loss/KL_Valid_Loss", "Loss/Valid_Loss", "Learning/LR", "Learning/KL-Loss Beta"):
        assert tags[tag] == [0, 1, 2], tag
    for name in ("train_loss", "eval_loss"):
        assert _tags(os.path.join(tboard, f"Total Loss_Comb_loss_{name}"))["Total Loss/Comb_loss"] == [1, 2, 3]

    # A run killed during epoch 2 leaves checkpoint_last_saved as saved after epoch 1 (= checkpoint_epoch_1).
    uninterrupted = exp.parent / "exp_uninterrupted"
    os.rename(exp, uninterrupted)
    shutil.copytree(uninterrupted, exp, ignore=shutil.ignore_patterns("tboard_logs", "img_epoch_2*"))
    for name in ("checkpoint_epoch_2", "checkpoint_epoch_final", "checkpoint_last_saved"):
        shutil.rmtree(models / name)
    shutil.copytree(models / "checkpoint_epoch_1", models / "checkpoint_last_saved")
    run = _run(tmp_path, os.path.join(REPO, "scripts/mspred/02_train.py"),
               f"--flagfile={os.path.join(REPO, 'flags/mspred/readme_resume_training.flags')}")
    assert "Resuming training from epoch 2" in run.stdout
    assert "Epoch 3/3" in run.stdout and "Epoch 1/3" not in run.stdout and "Epoch 2/3" not in run.stdout
    assert "Resuming training from epoch 2" in (exp / "logs.txt").read_text()
    (tboard,) = glob.glob(str(exp / "tboard_logs" / "tboard_*"))
    assert _tags(tboard)["Learning/LR"] == [2] and _tags(tboard)["Loss/Train_Loss_Level_0"] == [2]

    # Same data order, seeds, scheduler and optimizer state: the weights end as uninterrupted (bit for bit on one
    # machine; 1e-6 leaves room for other CPUs' kernels, far below the ~1e-4 an epoch of training moves them).
    expected = _checkpoint_values(uninterrupted, "checkpoint_epoch_final")
    resumed = _checkpoint_values(exp, "checkpoint_epoch_final")
    assert sorted(resumed) == sorted(expected)
    assert sum(key.startswith("model_weights/") for key in expected) > 50
    assert sum("optimizer" in key for key in expected) > 100  # moments of every variable, and the step count
    after_epoch_1 = _checkpoint_values(uninterrupted, "checkpoint_epoch_1")
    assert not np.array_equal(after_epoch_1["model_weights/00000/.ATTRIBUTES/VARIABLE_VALUE"],
                              expected["model_weights/00000/.ATTRIBUTES/VARIABLE_VALUE"])  # epoch 2 trained
    for key, value in expected.items():
        if np.issubdtype(value.dtype, np.floating):
            np.testing.assert_allclose(resumed[key], value, rtol=0, atol=1e-6, err_msg=key)
        else:
            assert np.array_equal(resumed[key], value), key  # step, epoch, seed, scheduler state


# ------------------------------------------------------------------------ in-process runs with a stand-in model
class _OneConvPredictor(keras.Model):
    """Stand-in with the MSPred call protocol: every predicted frame is sigmoid(conv(last context frame))."""

    def __init__(self, exp_params):
        super().__init__(name="one_conv_predictor")
        self.conv = keras.layers.Conv2D(3, 3, padding="same")

    def call(self, x, context=2, num_preds=1, teacher_force=False, training=False, seed=None, eps=None):
        frame = keras.ops.sigmoid(self.conv(x[:, context - 1]))
        mask = np.zeros((x.shape[1],), bool)
        mask[context:context + num_preds] = True
        # Deterministic: no latents, so no KL term.
        return {"preds": {0: keras.ops.stack([frame] * num_preds, axis=1)}, "target_masks": {0: mask},
                "mu_post": {}, "logvar_post": {}, "mu_prior": {}, "logvar_prior": {}, "latents": {}}


def _stand_in_experiment(root, name, **training):
    cwd = os.getcwd()
    os.chdir(root)
    try:
        exp = experiment.create_experiment("Unit", name, "mmnist")
    finally:
        os.chdir(cwd)
    path = os.path.join(exp, "experiment_params.json")
    params = json.load(open(path))
    params["model"]["model_type"] = "deterministic"
    params["loss"]["reconst_losses"] = ["mse"]
    params["training"].update({**dict(context=2, num_preds=1, batch_size=2, num_iters=1, log_frequency=1,
                                      save_frequency=1, max_batches_per_epoch=1), **training})
    json.dump(params, open(path, "w"))
    return exp


def _raise_in_epoch(training, epoch, error):
    after_step = training._after_step

    def failing(trainer, step, losses):
        after_step(trainer, step, losses)
        if trainer.current_epoch == epoch:
            raise error

    training._after_step = failing


def test_exception_saves_emergency_checkpoint_of_the_failing_epoch(tmp_path):
    exp = _stand_in_experiment(tmp_path, "crash", num_epochs=3)
    training = MSPredTraining(exp, model_factory=_OneConvPredictor)
    _raise_in_epoch(training, 1, RuntimeError("simulated crash in epoch 1"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        training.train()
    assert sorted(os.listdir(os.path.join(exp, "models"))) == ["checkpoint_last_saved",
                                                               "emergency_checkpoint_epoch_1"]
    _, prefix = checkpoints.resolve_checkpoint(exp, "emergency_checkpoint_epoch_1.pth")
    assert checkpoints.read_port_state(prefix)["epoch"] == 1
    # The weights at the moment of the crash (after the one step of epoch 1), not those of the last epoch end.
    model, _, epoch = checkpoints.load_model_for_evaluation(exp, "emergency_checkpoint_epoch_1",
                                                            model_factory=_OneConvPredictor)
    assert epoch == 1
    for saved, live in zip(model.weights, training.trainer.model.weights):
        np.testing.assert_array_equal(saved.numpy(), live.numpy())
    last = checkpoints.read_port_state(checkpoints.resolve_checkpoint(exp, "checkpoint_last_saved")[1])
    assert last["epoch"] == 0
    logs = open(os.path.join(exp, "logs.txt")).read()
    assert "Saving emergency checkpoint" in logs and "simulated crash in epoch 1" in logs

    # A non-finite loss saves nothing: its weights are not worth resuming from.
    exp = _stand_in_experiment(tmp_path, "nan", num_epochs=2)
    training = MSPredTraining(exp, model_factory=_OneConvPredictor)
    _raise_in_epoch(training, 0, NonFiniteLossError("loss became non-finite"))
    with pytest.raises(NonFiniteLossError):
        training.train()
    assert os.listdir(os.path.join(exp, "models")) == []


def test_load_model_for_evaluation_reads_the_originals_pth_checkpoint(tmp_path, golden_mspred_dir):
    meta = json.load(open(golden_mspred_dir / "conv_small_meta.json"))
    params = experiment.load_config("mmnist")
    golden = meta["exp_params"]
    params["model"] = golden["model"]
    params["loss"].update(golden["loss"])
    params["dataset"].update(golden["dataset"])
    params["training"].update(golden["training"])
    exp = tmp_path / "experiments" / "Golden" / "conv_small"
    os.makedirs(exp / "models")
    json.dump(params, open(exp / "experiment_params.json", "w"))
    shutil.copy(golden_mspred_dir / "conv_small_init_state_dict.pth", exp / "models" / "checkpoint_epoch_final.pth")

    model, exp_params, epoch = checkpoints.load_model_for_evaluation(str(exp), "checkpoint_epoch_final.pth")
    assert epoch is None  # a bare state_dict records no epoch
    assert exp_params["model"]["HierarchLSTM"]["n_hmap_channels"] == [1, 1]
    expected = read_state_dict(golden_mspred_dir / "conv_small_init_state_dict.npz")
    loaded = read_state_dict(convert_mspred.export(model, tmp_path / "loaded.npz"))
    assert sorted(loaded) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)


def test_named_checkpoints_under_a_relative_experiment_path_are_readable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    variable = tf.Variable([1.0, 2.0])
    write_named_checkpoint(tf.train.Checkpoint(v=variable), os.path.join("experiments", "x", "models", "ckpt_a"))
    _, prefix = checkpoints.resolve_checkpoint(os.path.join("experiments", "x"), "ckpt_a.pth")
    np.testing.assert_array_equal(tf.train.load_checkpoint(prefix).get_tensor("v/.ATTRIBUTES/VARIABLE_VALUE"),
                                  [1.0, 2.0])


def _scalars(event_dir):
    values = {}
    for path in glob.glob(os.path.join(event_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                values.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    return values


def test_progress_line_within_an_epoch_and_only_the_originals_tensorboard_tags(tmp_path):
    # log_frequency 2 with 3 iterations per epoch: train scalars at iter = num_iters * epoch + i in {0, 2, 4}.
    exp = _stand_in_experiment(tmp_path, "progress", num_epochs=2, num_iters=500, log_frequency=2,
                               max_batches_per_epoch=3)
    stream = io.StringIO()
    training = MSPredTraining(exp, model_factory=_OneConvPredictor, progress_every_s=0, progress_stream=stream)
    step_losses = []
    after_step = training._after_step

    def recording(trainer, step, losses):
        step_losses.append(losses["loss"])
        after_step(trainer, step, losses)

    training._after_step = recording
    training.train()

    # A line per step but the first of each epoch (which only starts the clock), whatever log_frequency is.
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["Epoch 1/2 iter 2/3", "Epoch 1/2 iter 3/3",
                                                      "Epoch 2/2 iter 2/3", "Epoch 2/2 iter 3/3"]
    for line, loss in zip(lines, [step_losses[i] for i in (1, 2, 4, 5)]):
        assert re.search(rf"train loss {loss:.5f}  \d+\.\d\d steps/s  \d+\.\d sequences/s  "
                         r"ETA epoch \d+:\d\d, run \d+:\d\d \(without validation\)$", line), line

    # TensorBoard holds the original's tags only (no perf/ or trainer loss scalars); the train scalars are the
    # running means of the epoch so far.
    (tboard,) = glob.glob(os.path.join(exp, "tboard_logs", "tboard_*"))
    scalars = _scalars(tboard)
    assert sorted(scalars) == sorted(["Loss/MSE_Train_Loss", "Loss/KL_Train_Loss", "Loss/Train_Loss",
                                      "Loss/Valid_Loss_MSE", "Loss/KL_Valid_Loss", "Loss/Valid_Loss",
                                      "Learning/LR", "Learning/KL-Loss Beta"])
    steps, values = zip(*scalars["Loss/Train_Loss"])
    assert steps == (0, 2, 4)
    np.testing.assert_allclose(values, [step_losses[0], np.mean(step_losses[0:3]), np.mean(step_losses[3:5])],
                               rtol=1e-6)
    assert [s for s, _ in scalars["Learning/LR"]] == [0, 1]


def test_port_checkpoint_state_key_is_the_trainers_key_of_the_tasks_state(tmp_path):
    """``read_port_state`` reads the task's state where the trainer saves it; a checkpoint without it (not written by
    02_train.py) is an error naming the file, not an epoch of None."""
    assert checkpoints.STATE_KEY == task_variable_key(STATE_OBJECT)
    prefix = write_named_checkpoint(tf.train.Checkpoint(v=tf.Variable([1.0])), str(tmp_path / "models" / "other"))
    with pytest.raises(InputError, match=rf"checkpoint {re.escape(prefix)} holds no MSPred training state"):
        checkpoints.read_port_state(prefix)


class _ItemDataset:
    """Four MSPred-style items of 16x16 RGB frames (values encode the item) with one-channel heat maps."""

    def __init__(self, num_frames):
        self.num_frames = num_frames

    def __len__(self):
        return 4

    def __getitem__(self, index):
        frames = np.full((self.num_frames, 16, 16, 3), (index + 1) / 8, np.float32)
        maps = [np.zeros((self.num_frames, 16, 16, 1), np.float32)] * 2
        return {"frames": frames, "heatmaps": maps, "class_name": ""}


def test_task_trains_from_its_own_inputs_and_writes_gif_summaries(tmp_path):
    """``MSPredTrainingTask.build_inputs`` feeds ``Trainer.fit`` batches of the batch contract (``images``), so the
    default ``Task.summary_videos`` writes the GIF summaries every ``video_every`` steps."""
    params = experiment.load_config("mmnist")
    params["model"]["model_type"] = "deterministic"
    params["loss"]["reconst_losses"] = ["mse"]
    params["dataset"].update(img_size=16, num_channels=3)
    params["training"].update(context=2, num_preds=1, batch_size=2)
    items = _ItemDataset(num_frames=3)
    task = MSPredTrainingTask(params, items, batch_size=2, seed=13, model_factory=_OneConvPredictor)
    trainer = Trainer(task, TrainerConfig(model_dir=str(tmp_path), num_steps=2, global_batch_size=2,
                                          checkpoint_every=0, log_every=0, video_every=1, autograph=False),
                      make_strategy("one_device"))
    video_batch = next(make_tf_dataset(items, 2, shuffle=False, seed=None).as_numpy_iterator())
    assert video_batch["images"].shape == (2, 3, 16, 16, 3)
    result = trainer.fit(video_batch=video_batch)
    assert (result.step, result.status) == (2, "completed")
    gifs = {}
    for path in tmp_path.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.HasField("image"):
                    gifs.setdefault(value.tag, []).append(event.step)
                    assert value.image.encoded_image_string[:6] == b"GIF89a"
    assert gifs == {"videos/ground_truth": [1, 2], "videos/prediction": [1, 2]}


def test_task_inputs_are_ordered_by_the_epoch_seed(mirrored_two_cpus):
    """The epoch's data comes from the task: per-replica halves of the global batch, each epoch its own
    permutation (the same one again for the same epoch, as a resumed run needs), the last partial batch dropped."""
    params = experiment.load_config("mmnist")
    params["model"]["model_type"] = "deterministic"
    params["loss"]["reconst_losses"] = ["mse"]
    task = MSPredTrainingTask(params, _ItemDataset(num_frames=3), batch_size=4, seed=5,
                              model_factory=_OneConvPredictor)

    def order(epoch):
        distributed = mirrored_two_cpus.distribute_datasets_from_function(
            lambda context: task.build_inputs(context, epoch))
        values = []
        for batch in distributed:
            parts = mirrored_two_cpus.experimental_local_results(batch["images"])
            assert [tuple(part.shape) for part in parts] == [(2, 3, 16, 16, 3)] * 2
            values.extend(int(round(v * 8)) - 1 for part in parts for v in part.numpy()[:, 0, 0, 0, 0])
        return values

    first, second = order(0), order(1)
    assert sorted(first) == sorted(second) == [0, 1, 2, 3]
    assert order(0) == first and order(1) == second
