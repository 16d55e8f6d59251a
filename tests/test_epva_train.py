"""EPVA training on the shared trainer with tiny widths (T=3, batch 2): the epva_gan schedule (generator on the
calls 0, k+1, ...), the individual mode's enc_size check, and prediction_train end to end on fake
human records: checkpoints + events + manifest, a resume equal bit for bit to an uninterrupted run, and
``--run_mode eval --eval_once`` writing the original's scalars and frames."""

import math
import pathlib
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow as tf
from fixtures.epva_data import write_fake_epva_records

from vidpred_tf.manifest import read_manifest
from vidpred_tf.models.epva.config import EPVAConfig
from vidpred_tf.models.epva.task import EPVATask
from vidpred_tf.papers.epva import training
from vidpred_tf.training import Trainer, TrainerConfig, make_strategy

REPO = pathlib.Path(__file__).resolve().parent.parent
TINY = dict(van_first_depth=4, vgg_width_divisor=16, enc_size=8, context_frames=2)
# The prediction_train flags training.run reads (original defaults, tiny widths, a 3-frame sequence).
RUN_FLAGS = dict(
    model_mode="epva", pose_dim=5, joint_pos_dim=7, enc_keep_prob=1.0, van_keep_prob=1.0, enc_noise_stddev=0.0,
    enc_pred_use_l1_loss=False, color_data_augment=False, encoder_grey_in=False, enc_size=8, pred_noise_std=0.0,
    discrim_steps_per_pred=5, use_wgan=True, discrim_context=1, sequence_length=3, skip_num=1, dataset_type="human",
    model_dir="", event_log_dir="", train_steps=2, context_frames=2, data_pattern="*train*", batch_size=2,
    enc_learning_rate=1e-5, pred_learning_rate=3e-4, van_learning_rate=3e-5, discrim_learning_rate=1e-2,
    all_learning_rate=1e-5, enc_pred_loss_scale=1e-2, lstm_state_noise_stddev=0.0, enc_pred_loss_scale_delay=0.0,
    enc_pred_use_l2norm=False, pose_weight=1.0, van_r_weight=0.01, clip_gradient_norm=0.01, run_mode="train",
    save_checkpoints_secs=60, use_image_summary=True, use_legacy_vars=False, strategy="one_device", seed=3,
    eval_once=False, log_every=2, van_first_depth=4, vgg_width_divisor=16)


def _batches(context):
    rng = np.random.default_rng(0)
    size = context.get_per_replica_batch_size(2)
    batch = {"images": rng.random((size, 3, 64, 64, 3)).astype("float32"),
             "actions": np.zeros((size, 3, 5), "float32"),
             "joint_poses": rng.normal(size=(size, 3, 12)).astype("float32")}
    return tf.data.Dataset.from_tensors(batch).repeat()


def _train(tmp_path, steps, **config):
    task = EPVATask(EPVAConfig(**{**TINY, **config}), clip_gradient_norm=0.01, discrim_steps_per_pred=1)
    trainer = Trainer(task, TrainerConfig(model_dir=str(tmp_path), num_steps=steps, global_batch_size=2,
                                          checkpoint_every=0, log_every=0), make_strategy("one_device"))
    return trainer, trainer.fit(_batches)


def _flags(**overrides):
    return types.SimpleNamespace(**{**RUN_FLAGS, **overrides})


def _events(folder: pathlib.Path):
    """{tag: [(step, value or number of images)]} of every event file of ``folder``."""
    found = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    item = value.simple_value
                else:
                    tensor = tf.make_ndarray(value.tensor) if value.HasField("tensor") else None
                    item = (float(tensor) if tensor is not None and tensor.ndim == 0
                            else len(tensor) - 2 if tensor is not None else "gif")
                found.setdefault(value.tag, []).append((event.step, item))
    return found


def test_epva_gan_trains_the_generator_on_calls_0_and_2_of_4(tmp_path):
    trainer, result = _train(tmp_path, 4, model_mode="epva_gan")
    iterations = {spec.name: int(spec.optimizer.iterations.numpy()) for spec in trainer.optimizer_specs}
    assert iterations == {"discriminator": 2, "enc_pred": 2, "enc_van": 2}
    assert result.losses["generator_steps"] == 2.0
    assert all(np.isfinite(v) for v in result.losses.values())


def test_individual_mode_needs_enc_size_12():
    with pytest.raises(ValueError, match="--model_mode=individual needs --enc_size=12, got --enc_size=8"):
        EPVATask(EPVAConfig(**TINY, model_mode="individual"))


def test_summary_frames_are_the_originals():
    assert training.summary_frame_indices(2) == [0, 1]
    assert training.summary_frame_indices(9) == [0, 3, 6, 8]
    assert training.summary_frame_indices(63) == [0, 16, 32, 48, 62]


def test_generator_steps_count_as_the_original_global_step():
    task = EPVATask(EPVAConfig(**TINY, model_mode="epva_gan"), discrim_steps_per_pred=5)
    assert training.trainer_calls(3, task) == 18
    assert [training.generator_steps(calls, task) for calls in (0, 1, 6, 7, 18)] == [0, 1, 1, 2, 3]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = tmp_path_factory.mktemp("epva_human")
    write_fake_epva_records(str(root / "fake_train.tfrecords"), "human", num_examples=6, num_frames=3,
                            image_sizes=((64, 64),))
    return root


@pytest.fixture(scope="module")
def trained(records, tmp_path_factory):
    """prediction_train's main through the script: 2 steps of mode epva."""
    logs = tmp_path_factory.mktemp("run") / "epva"
    args = [f"--{name}={value}" for name, value in _flags().__dict__.items()
            if name not in ("model_dir", "event_log_dir", "eval_once")]
    args += [f"--data_dir={records}", f"--event_log_dir={logs}", "--is_training", "--epv_pretrain_ckpt="]
    completed = subprocess.run([sys.executable, str(REPO / "scripts" / "epva" / "prediction_train.py"), *args],
                               capture_output=True, text=True, cwd=REPO, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return logs, completed.stdout


def test_main_writes_checkpoints_events_and_manifest(trained):
    logs, stdout = trained
    assert "no warm start: --epv_pretrain_ckpt is empty" in stdout
    assert "step 2/2" in stdout and "steps/s" in stdout and "ETA" in stdout
    assert tf.train.latest_checkpoint(str(logs)) == str(logs / "model.ckpt-2")
    manifest = read_manifest(logs)
    assert manifest["paper"] == "epva" and manifest["model_name"] == "epva"
    assert manifest["context_frames"] == 2 and manifest["horizon"] == 1
    assert manifest["config"]["enc_size"] == 8 and manifest["config"]["van_first_depth"] == 4
    events = _events(logs)
    for tag in ("epva_loss", "enc_pred_loss_scale", "van_loss/loss", "van_loss/psnr_all", "enc_pred_loss/loss",
                "van_on_enc_loss/psnr_all"):
        (step, value), = events[tag]
        assert step == 2 and math.isfinite(value)
    assert events["videos/van_out_all"] == [(2, "gif")]


def test_resume_equals_an_uninterrupted_run(trained, records, tmp_path):
    # The main run's 2 steps continued to 4 here, against 4 steps in one go. Every variable is bit-identical but
    # a few LayerNorm betas/gammas and their Adam slots, which differ in the last bit the same way on every run
    # (also between two in-process runs): a CPU kernel's rounding, not a resume fault (a wrong batch, step or
    # slot would move every variable by far more than the tolerance).
    resumed, straight = tmp_path / "resumed", tmp_path / "straight"
    shutil.copytree(trained[0], resumed)
    quick = dict(data_dir=str(records), use_image_summary=False, train_steps=4)
    result = training.run(_flags(event_log_dir=str(resumed), **quick))
    assert result.step == 4 and result.checkpoint == str(resumed / "model.ckpt-4")
    training.run(_flags(event_log_dir=str(straight), **quick))
    a = tf.train.load_checkpoint(str(resumed / "model.ckpt-4"))
    b = tf.train.load_checkpoint(str(straight / "model.ckpt-4"))
    names = sorted(set(a.get_variable_to_shape_map()) - {"_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter/.ATTRIBUTES/"
                                                         "VARIABLE_VALUE"})
    assert names == sorted(set(b.get_variable_to_shape_map()) - {"_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter/"
                                                                 ".ATTRIBUTES/VARIABLE_VALUE"})
    assert len(names) > 20
    differing = [name for name in names if not np.array_equal(a.get_tensor(name), b.get_tensor(name))]
    assert len(differing) <= len(names) // 20, differing  # at least 95% bit-identical
    for name in differing:
        np.testing.assert_allclose(a.get_tensor(name), b.get_tensor(name), rtol=1e-4, atol=1e-10, err_msg=name)
    assert a.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 4


def test_eval_once_writes_the_original_scalars_and_frames(trained, records, tmp_path):
    logs, _ = trained
    out = tmp_path / "eval"
    done = training.run(_flags(data_dir=str(records), model_dir=str(logs), event_log_dir=str(out),
                               run_mode="eval", eval_once=True))
    assert done == [str(logs / "model.ckpt-2")]
    events = _events(out)
    for video in ("van_out_all", "van_on_enc_all"):
        for kind in ("real_frame", "gen_frame"):
            for index in (0, 1):
                assert events[f"{video}/{kind}_{index}"] == [(2, 2)]  # 2 images (the batch) at step 2
    (_, psnr), = events["van_loss/psnr_all"]
    (_, mse), = events["van_loss/loss"]
    # PSNR is the mean over frames of 10 log10(1 / mse_t) >= 10 log10(1 / mean_t mse_t) (Jensen).
    assert psnr >= 10 * math.log10(1 / mse) - 1e-3 and math.isfinite(psnr)
    assert "enc_pred_loss/psnr_all" in events and "van_on_enc_loss/loss" in events
    # The metric-vs-time PNG: one curve per output video whose mean over frames is the logged psnr_all.
    plot = out / "eval" / "psnr_00000002.png"
    image = tf.io.decode_png(plot.read_bytes()).numpy()
    assert image.shape[0] > 100 and image.shape[1] > 100 and image.std() > 0
    assert events["eval/psnr_plot"] == [(2, 1)]


def test_psnr_per_frame_is_the_batch_wide_psnr_of_each_frame():
    rng = np.random.default_rng(1)
    targets, generated = rng.random((2, 3, 4, 4, 3)), rng.random((2, 3, 4, 4, 3))
    curve = training.psnr_per_frame(generated, targets)
    expected = [10 * math.log10(1 / np.mean((targets[:, t] - generated[:, t]) ** 2)) for t in range(3)]
    np.testing.assert_allclose(curve, expected, rtol=1e-12)
    from vidpred_tf.models.epva.losses import loss_psnr
    _, psnr_all = loss_psnr(tf.constant(generated, tf.float32), tf.constant(targets, tf.float32))
    np.testing.assert_allclose(curve.mean(), float(psnr_all), rtol=1e-5)


def test_default_epva_gan_schedule_trains_the_generator_on_calls_0_and_6_of_12():
    task = EPVATask(EPVAConfig(**{**TINY, "model_mode": "epva_gan"}), discrim_steps_per_pred=5)
    assert [call for call in range(12) if task.is_generator_step(call)] == [0, 6]
    assert training.generator_steps(12, task) == 2 and training.trainer_calls(2, task) == 12
