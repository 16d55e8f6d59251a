"""scripts/e3d/run.py: the original's flags, the flagfiles, training on the shared trainer, test mode, towers."""

import glob
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from fixtures.e3d_data import write_fake_mnist_npz

from vidpred_tf.cli import rewrite_spaced_booleans
from vidpred_tf.data.moving_mnist.e3d_npz import read_e3d_npz
from vidpred_tf.models.e3d.config import MODEL_NAMES, E3DConfig
from vidpred_tf.models.e3d.model import build_model
from vidpred_tf.models.e3d.sampling import SamplingConfig
from vidpred_tf.models.e3d.task import E3DTask
from vidpred_tf.training import OptimizerSpec, Trainer, TrainerConfig, make_strategy

REPO = pathlib.Path(__file__).resolve().parents[2]
RUN = str(REPO / "scripts" / "e3d" / "run.py")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
TINY = ["--img_width", "8", "--patch_size", "2", "--input_length", "3", "--total_length", "6",
        "--num_hidden", "8,8", "--model_name", "original_e3d_lstm", "--batch_size", "2"]

_DUMP_FLAGS = """
import json, runpy, sys
sys.argv = ["run.py"]
module = runpy.run_path(sys.argv_path, run_name="not_main")
from absl import flags
FLAGS = flags.FLAGS
FLAGS(["run.py"] + sys.extra)
names = json.loads(sys.names)
print("FLAGS " + json.dumps({n: [FLAGS[n].default, type(FLAGS[n].value).__name__, FLAGS[n].value] for n in names}))
"""


def _dump_flags(names, extra=()):
    code = (f"import sys; sys.argv_path = {RUN!r}; sys.extra = {list(extra)!r}; sys.names = {json.dumps(names)!r}\n"
            + _DUMP_FLAGS)
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.split("FLAGS ", 1)[1])


def test_all_33_original_flags_with_their_defaults(golden_dir):
    expected = json.loads((golden_dir / "e3d" / "misc" / "run_flags_defaults.json").read_text())
    assert len(expected) == 33
    actual = _dump_flags(sorted(expected) + ["sampling_delta_per_iter"], extra=["--sampling_delta_per_iter=1e-5"])
    python_types = {"str": "str", "int": "int", "float": "float", "bool": "bool"}
    for name, spec in expected.items():
        default, value_type, _ = actual[name]
        assert default == spec["default"], (name, default, spec["default"])
        assert value_type == python_types[spec["type"]], (name, value_type, spec["type"])
    assert actual["sampling_delta_per_iter"][2] == pytest.approx(1e-5)


# scripts/*.sh of the original (spec e3d.md section 2.2): model, pretrained checkpoint, lr, max_iterations.
SCRIPTS = {
    "e3d_lstm_mm_train": ("e3d_lstm", "", 1e-3, 10000),
    "e3d_lstm_mm_test": ("original_e3d_lstm_residuals", "mm_e3d_lstm_pretrain/model.ckpt-80000", 1e-3, 5),
    "e3d_lstm_kth_train": ("e3d_lstm", "kth_e3d_lstm_pretrain/model.ckpt-200000", 1e-3, 50000),
    "e3d_lstm_kth_test": ("e3d_lstm", "kth_e3d_lstm_pretrain/model.ckpt-200000", 1e-3, 1),
    "3Denc_2Dlstm_3Ddec_mm_train_from_scratch": ("e3d_lstm", "", 1e-3, 80000),
    "3Denc_2Dlstm_3Ddec_mm_train_fixed_dec": ("e3d_lstm", "mm_e3d_lstm_pretrain/model.ckpt-80000", 1e-3, 80000),
    "3Denc_2Dlstm_3Ddec_mm_train_4layer_add": ("e3d_lstm", "mm_e3d_lstm_pretrain/model.ckpt-80000", 1e-3, 80000),
    "3Denc_2Dlstm_3Ddec_mm_train_4layer_concat": ("e3d_lstm_concat", "", 1e-3, 80000),
    "3Denc_2Dlstm_3Ddec_kth_train": ("e3d_lstm", "", 1e-3, 200000),
    "mm_orig_2D_fixed_dec_train": ("e3d_lstm", "mm_e3d_lstm_pretrain/model.ckpt-80000", 1e-3, 80000),
    "mm_orig_2D_with_attn_155kernel_train": ("original_e3d_lstm", "", 1e-3, 80000),
    "mm_orig_3D_with_attn_train": ("original_e3d_lstm", "", 1e-3, 80000),
    "mm_orig_3D_fixed_dec_train": ("original_e3d_lstm", "mm_e3d_lstm_pretrain/model.ckpt-80000", 1e-3, 80000),
    "mm_orig_3D_fine_tune_residuals_train": ("original_e3d_lstm_residuals", "mm_e3d_lstm_pretrain/model.ckpt-80000",
                                             1e-6, 30000),
    "mm_orig_3D_residuals_l1_only": ("original_e3d_lstm_residuals", "", 1e-4, 30000),
    "kth_orig_3D_baseline": ("original_e3d_lstm", "", 1e-3, 200000),
    "kth_155kernel": ("original_e3d_lstm", "", 1e-3, 200000),
    "kth_residuals_scratch": ("original_e3d_lstm_residuals", "", 1e-3, 200000),
    "kth_finetune_residuals": ("original_e3d_lstm_residuals", "kth_e3d_lstm_pretrain/model.ckpt-200000", 1e-5, 200000),
}


def test_every_flagfile_parses_and_matches_the_original_script():
    files = sorted(glob.glob(str(REPO / "flags" / "e3d" / "*.flags")))
    assert len(files) == 20  # the 19 scripts/*.sh and the README quick start
    assert {pathlib.Path(f).stem for f in files} == set(SCRIPTS) | {"readme_quick_start"}
    for path in files:
        values = _dump_flags(["model_name", "dataset_name", "is_training", "sampling_changing_rate", "layer_norm",
                              "pretrained_model", "lr", "max_iterations", "patch_size", "batch_size"],
                             extra=[f"--flagfile={path}"])
        assert values["model_name"][2] in MODEL_NAMES, path
        assert values["dataset_name"][2] in ("mnist", "action"), path
        mnist = values["dataset_name"][2] == "mnist"
        assert (values["patch_size"][2], values["batch_size"][2]) == ((4, 4) if mnist else (8, 2)), path
        stem = pathlib.Path(path).stem
        if stem in SCRIPTS:
            model, pretrained, lr, iterations = SCRIPTS[stem]
            assert values["model_name"][2] == model, path
            assert values["pretrained_model"][2] == pretrained, path
            assert values["lr"][2] == pytest.approx(lr), path
            assert values["max_iterations"][2] == iterations, path
            assert values["is_training"][2] == ("False" if stem.endswith("_test") else "True"), path
        # The scripts' --sampling_delta_per_iter never reached the schedule.
        assert values["sampling_changing_rate"][2] == pytest.approx(0.00002), path
        assert values["layer_norm"][2] is True


def test_spaced_booleans_are_read_as_assignments():
    flag_values = flags.FlagValues()
    flags.DEFINE_boolean("reverse_input", True, "", flag_values=flag_values)
    flags.DEFINE_string("is_training", "True", "", flag_values=flag_values)
    argv = ["run.py", "--reverse_input", "False", "--is_training", "False", "--lr", "0.1"]
    rewritten = rewrite_spaced_booleans(argv, flag_values)
    assert rewritten == ["run.py", "--reverse_input=False", "--is_training", "False", "--lr", "0.1"]
    flag_values(rewritten[:2] + rewritten[2:4])
    assert flag_values.reverse_input is False and flag_values.is_training == "False"


def _run(args, cwd):
    process = subprocess.run([sys.executable, RUN, *args], capture_output=True, text=True, env=ENV, cwd=cwd,
                             timeout=300)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    return process.stdout


def _scalars(logdir):
    values = {}
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                number = tf.make_ndarray(value.tensor) if value.HasField("tensor") else value.simple_value
                values.setdefault(value.tag, {})[event.step] = float(number)
    return values


def test_train_checkpoints_summaries_evaluation_and_test_mode(tmp_path):
    write_fake_mnist_npz(str(tmp_path / "train.npz"), num_sequences=12, input_length=3, output_length=3, seed=1)
    write_fake_mnist_npz(str(tmp_path / "valid.npz"), num_sequences=7, input_length=3, output_length=3, seed=2)
    data = ["--train_data_paths", "train.npz", "--valid_data_paths", "valid.npz", "--save_dir", "ckpt",
            "--gen_frm_dir", "gen", "--log_dir", "logs"]
    out = _run(data + TINY + ["--max_iterations", "4", "--display_interval", "2", "--test_interval", "4",
                              "--snapshot_interval", "2", "--log_interval", "1", "--layer_norm", "True",
                              "--sampling_delta_per_iter", "0.00001"], tmp_path)
    # The parameter count of the model, not the original's 3P+1 (Adam slots counted as trainable).
    config = E3DConfig(model_name="original_e3d_lstm", img_width=8, patch_size=2, input_length=3, total_length=6,
                       num_hidden=(8, 8))
    assert f"Total number of model parameters: {build_model(config).parameter_count()}" in out
    assert sorted(os.listdir(tmp_path / "ckpt")) == [
        "checkpoint", "model.ckpt-2.data-00000-of-00001", "model.ckpt-2.index",
        "model.ckpt-4.data-00000-of-00001", "model.ckpt-4.index", "vidpred_model.json", "vidpred_run.json"]
    scalars = _scalars(str(tmp_path / "logs"))
    for tag in ("loss_train", "l1_loss_train", "l2_loss_train"):
        assert sorted(scalars[tag]) == [1, 2, 3, 4], (tag, scalars.get(tag))
    for step in (1, 2, 3, 4):
        assert scalars["loss_train"][step] == pytest.approx(
            scalars["l1_loss_train"][step] + scalars["l2_loss_train"][step], rel=1e-5)
    # Evaluation at iteration 4: 7 sequences in batches of 2, the last full batch dropped -> 3 batches.
    assert sorted(os.listdir(tmp_path / "gen" / "4")) == ["1", "2", "3"]
    assert sorted(os.listdir(tmp_path / "gen" / "4" / "1")) == (
        [f"gt{i:02d}.png" for i in range(1, 7)] + [f"pd{i:02d}.png" for i in range(4, 7)])
    in_training = out.split("mse per seq:", 1)[1].split("Finished", 1)[0]

    # Test mode (crashed in the original): newest checkpoint of --save_dir, same numbers, nothing deleted.
    out = _run(data + TINY + ["--is_training", "False"], tmp_path)
    assert "Restored ckpt/model.ckpt-4" in out
    assert out.split("mse per seq:", 1)[1].strip() == in_training.strip()
    assert os.path.exists(tmp_path / "ckpt" / "model.ckpt-4.index")
    assert sorted(os.listdir(tmp_path / "gen")) == ["4", "test_result"]

    # A finished run resumes at its last iteration instead of starting again.
    out = _run(data + TINY + ["--max_iterations", "4", "--test_interval", "0"], tmp_path)
    assert "Resumed from ckpt/model.ckpt-4 at step 4" in out


def _run_process(args, cwd):
    return subprocess.run([sys.executable, RUN, *args], capture_output=True, text=True, env=ENV, cwd=cwd,
                          timeout=300)


def _finite_checkpoint(prefix):
    reader = tf.train.load_checkpoint(prefix)
    for name in reader.get_variable_to_shape_map():
        value = np.asarray(reader.get_tensor(name))
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            return False
    return True


def test_resume_with_a_diverging_lr_uses_it_and_stops_in_one_line_at_a_finite_checkpoint(tmp_path):
    write_fake_mnist_npz(str(tmp_path / "train.npz"), num_sequences=8, input_length=3, output_length=3, seed=1)
    data = ["--train_data_paths", "train.npz", "--valid_data_paths", "train.npz", "--save_dir", "ckpt",
            "--test_interval", "0", "--snapshot_interval", "1", "--display_interval", "1"]
    _run(data + TINY + ["--max_iterations", "2"], tmp_path)
    process = _run_process(data + TINY + ["--max_iterations", "30", "--lr", "1e30"], tmp_path)
    assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-3000:]
    assert ("Learning rate of optimizer 'generator' (--lr) changed since the run started: 0.001 -> 1e+30; "
            "training on with 1e+30") in process.stdout
    # absl's INFO lines of the checkpoint saves come before; the error is the last line and the only one.
    lines = process.stderr.strip().splitlines()
    assert lines[-1].startswith("run.py: error: "), process.stderr[-3000:]
    assert [line for line in lines if "error" in line.lower()] == lines[-1:], process.stderr[-3000:]
    assert "non-finite" in lines[-1] and "Traceback" not in process.stderr
    named = lines[-1].rsplit("Last good checkpoint: ", 1)[1]
    assert named.startswith("ckpt/model.ckpt-"), lines[0]
    assert int(named.rsplit("-", 1)[1]) >= 2, lines[-1]
    state = tf.train.get_checkpoint_state(str(tmp_path / "ckpt"))
    assert state.model_checkpoint_path.endswith(named.rsplit("/", 1)[1])
    for prefix in state.all_model_checkpoint_paths:
        assert _finite_checkpoint(str(tmp_path / "ckpt" / os.path.basename(prefix))), prefix


def test_a_test_pass_cut_short_by_a_kill_is_redone_on_resume(tmp_path):
    write_fake_mnist_npz(str(tmp_path / "train.npz"), num_sequences=8, input_length=3, output_length=3, seed=1)
    write_fake_mnist_npz(str(tmp_path / "valid.npz"), num_sequences=4, input_length=3, output_length=3, seed=2)
    data = ["--train_data_paths", "train.npz", "--valid_data_paths", "valid.npz", "--save_dir", "ckpt",
            "--gen_frm_dir", "gen", "--test_interval", "2", "--snapshot_interval", "2", "--num_save_samples", "1"]
    _run(data + TINY + ["--max_iterations", "2"], tmp_path)
    assert sorted(os.listdir(tmp_path / "gen" / "2")) == ["1"]
    # What a SIGKILL during the test pass of iteration 2 leaves: the checkpoint of 2, no record of the test.
    record_path = tmp_path / "ckpt" / "vidpred_run.json"
    record = json.loads(record_path.read_text())
    assert record["evaluations"] == {"test": [2]}
    record["evaluations"] = {}
    record_path.write_text(json.dumps(record))
    for path in (tmp_path / "gen" / "2").rglob("*.png"):
        path.unlink()
    out = _run(data + TINY + ["--max_iterations", "2"], tmp_path)
    assert "Evaluation 'test' of step 2 did not finish before the run stopped: running it again" in out
    assert any((tmp_path / "gen" / "2").rglob("*.png"))
    scalars = _scalars(str(tmp_path / "ckpt"))
    assert any(tag.startswith("test/") and 2 in steps for tag, steps in scalars.items()), sorted(scalars)
    assert json.loads(record_path.read_text())["evaluations"] == {"test": [2]}


class _SGDTask(E3DTask):
    """E3DTask with SGD(1): the update is minus the applied (summed) gradient."""

    def build_optimizers(self, model):
        return [OptimizerSpec("generator", keras.optimizers.SGD(1.0), lambda: model.trainable_variables, "loss")]


def _applied_gradient(strategy, videos, model_dir):
    config = E3DConfig(model_name="original_e3d_lstm", img_width=8, patch_size=2, input_length=3, total_length=6,
                       num_hidden=(8, 8))
    sampling = SamplingConfig(config, 2)
    trainer = Trainer(_SGDTask(config, sampling, 1.0, seed=4),
                      TrainerConfig(model_dir=model_dir, num_steps=1, global_batch_size=4, seed=9,
                                    checkpoint_every=0, log_every=0), strategy)
    before = [v.numpy().copy() for v in trainer.model.trainable_variables]

    def dataset_fn(context):
        per_replica = context.get_per_replica_batch_size(4)
        return tf.data.Dataset.from_tensors({"images": videos}).unbatch().batch(per_replica).repeat()

    trainer.fit(dataset_fn)
    return [b - v.numpy() for b, v in zip(before, trainer.model.trainable_variables)]


def test_two_towers_apply_the_sum_of_their_gradients(tmp_path, mirrored_two_cpus):
    """Spec checklist 12: the towers' gradients of the un-normalised loss are added, as in the original."""
    videos = np.random.default_rng(3).random((4, 6, 8, 8, 1)).astype(np.float32)
    one = _applied_gradient(make_strategy("one_device"), videos, str(tmp_path / "one"))
    two = _applied_gradient(mirrored_two_cpus, videos, str(tmp_path / "two"))
    assert max(float(np.abs(g).max()) for g in one) > 0
    for g1, g2 in zip(one, two):
        np.testing.assert_allclose(g2, g1, rtol=2e-4, atol=1e-5 * max(1.0, float(np.abs(g1).max())))


def test_the_task_splits_each_original_batch_over_the_towers_in_order():
    """E3DTask.build_inputs: the original batch of batch_size x towers sequences, cut in order into per-tower
    batches (tower 0 first), as run.py feeds the trainer."""
    config = E3DConfig(model_name="original_e3d_lstm", img_width=8, patch_size=2, input_length=3, total_length=6,
                       num_hidden=(8, 8))
    # sequence k is filled with the value k; two original batches of 2 x 2 sequences
    videos = np.arange(8, dtype=np.float32)[:, None, None, None, None] * np.ones((1, 6, 8, 8, 1), np.float32)

    def original_batches():
        return tf.data.Dataset.from_tensor_slices({"images": videos.reshape(2, 4, 6, 8, 8, 1)})

    task = E3DTask(config, SamplingConfig(config, 2), 1e-3, original_batches=original_batches)
    context = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=2)
    served = [batch["images"][:, 0, 0, 0, 0].numpy().tolist() for batch in task.build_inputs(context)]
    assert served == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert task.build_inputs(context).element_spec["images"].shape == (2, 6, 8, 8, 1)

    with pytest.raises(NotImplementedError, match="give Trainer.fit a dataset_fn"):
        E3DTask(config, SamplingConfig(config, 2), 1e-3).build_inputs(context)
    with pytest.raises(ValueError, match="sampling config was made for another E3DConfig"):
        E3DTask(config, SamplingConfig(config.replace(total_length=7), 2), 1e-3)


def test_unreadable_npz_and_wrong_total_length_name_the_file_and_flag(tmp_path):
    good = write_fake_mnist_npz(str(tmp_path / "good.npz"), num_sequences=5, input_length=3, output_length=3)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(pathlib.Path(good).read_bytes()[:100])
    with pytest.raises(ValueError, match=r"truncated\.npz is not a readable \.npz file"):
        read_e3d_npz(str(truncated), batch_size=2)
    with pytest.raises(ValueError, match=r"good\.npz.*6 frames.*--total_length is 7"):
        read_e3d_npz(good, batch_size=2, seq_length=7)
