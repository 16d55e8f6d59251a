"""hierchvid pose LSTM (DET_LSTM): variables and counts at the README sizes, output shapes of the train and test
graphs, the masked inputs copied through, fut_step chosen per call, dropout in train and test, the golden
cases (also a renamed copy), the TF1 converter (round trip, refused misfits, skipped training state) and one step
of the shared trainer on pose batches."""

import os
import re
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.convert import hierchvid as converter
from vidpred_tf.convert.tf1 import CheckpointMismatchError, write_tf1_checkpoint
from vidpred_tf.golden.common import CaseReport
from vidpred_tf.models.hierchvid.lstm_task import PoseLSTMTask, recons_loss
from vidpred_tf.models.hierchvid.pose_lstm import PoseLSTM, PoseLSTMConfig, parameter_count
from vidpred_tf.papers.hierchvid import golden_lstm
from vidpred_tf.training import Trainer, TrainerConfig, make_strategy
from vidpred_tf.training.optimizers import TF1RMSProp

TINY = dict(lm_size=13, lstm_units=8, seen_step=3, fut_step=4)
KERNEL = "GEN/G_LSTM/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel"


def _inputs(config, batch, steps, seed=0):
    rng = np.random.default_rng(seed)
    seq = rng.uniform(-1, 1, (batch, steps, config.input_size)).astype(np.float32)
    mask = (rng.random((batch, steps, config.lm_size)) < 0.75).astype(np.float32)
    return {"seq": seq, "mask": mask}


@pytest.fixture(scope="module")
def penn():
    return PoseLSTM(PoseLSTMConfig.penn())


@pytest.fixture(scope="module")
def h36m():
    return PoseLSTM(PoseLSTMConfig.h36m())


def test_readme_sizes_have_the_original_variables_and_counts(penn, h36m):
    assert parameter_count(penn) == 4_356_986 and parameter_count(h36m) == 4_397_152
    assert [(n, tuple(v.shape)) for n, v in penn.original_variables().items()] == [
        ("lm_enc/Matrix", (26, 32)), ("lm_enc/bias", (32,)), (KERNEL, (1056, 4096)),
        ("GEN/G_LSTM/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias", (4096,)),
        ("GEN/G_LSTM/dec_fc2/Matrix", (1024, 26)), ("GEN/G_LSTM/dec_fc2/bias", (26,))]
    assert len(penn.trainable_variables) == 6
    assert tuple(h36m.original_variables()["GEN/G_LSTM/dec_fc2/Matrix"].shape) == (1024, 64)
    two = PoseLSTM(PoseLSTMConfig(num_layer=2, lstm_units=8))
    assert tuple(two.original_variables()["GEN/G_LSTM/rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel"].shape) \
        == (16, 32)


def test_train_and_test_output_shapes_and_copied_inputs(penn, h36m):
    train = _inputs(penn.config, 2, 42)
    output = penn(train).numpy()
    assert output.shape == (2, 42, 26)
    masked = np.concatenate([train["mask"], train["mask"]], -1) * train["seq"]
    np.testing.assert_array_equal(output[:, :10], masked[:, :10])
    assert np.all(np.abs(output[:, 10:]) < 1)
    test = _inputs(penn.config, 1, 10)
    assert penn(test, fut_step=64).shape == (1, 74, 26)
    assert h36m(_inputs(h36m.config, 1, 10), fut_step=128).shape == (1, 138, 64)


def test_fut_step_is_a_call_argument_on_the_same_weights():
    model = PoseLSTM(PoseLSTMConfig(**TINY))
    inputs = _inputs(model.config, 2, 7)
    short, long = model(inputs, fut_step=2).numpy(), model(inputs, fut_step=6).numpy()
    # No prediction is fed back: the first future steps do not depend on how many follow.
    np.testing.assert_array_equal(short, long[:, :5])
    assert model(inputs).shape == (2, 7, 26)
    graph = tf.function(lambda s, m: model({"seq": s, "mask": m}, fut_step=5))
    np.testing.assert_allclose(graph(inputs["seq"], inputs["mask"]).numpy(), model(inputs, fut_step=5).numpy(),
                               atol=1e-6)


def test_dropout_drops_the_cell_inputs_in_train_and_test_when_keep_prob_is_below_one():
    model = PoseLSTM(PoseLSTMConfig(**TINY, keep_prob=0.5))
    inputs = _inputs(model.config, 2, 3)
    seed_a, seed_b = tf.constant([1, 2], tf.int32), tf.constant([3, 4], tf.int32)
    a = model(inputs, seed=seed_a, training=False).numpy()
    np.testing.assert_array_equal(a, model(inputs, seed=seed_a, training=True).numpy())
    assert not np.allclose(a, model(inputs, seed=seed_b).numpy())
    np.testing.assert_array_equal(a[:, :3], model(inputs, seed=seed_b).numpy()[:, :3])
    with pytest.raises(ValueError, match="keep_prob"):
        PoseLSTMConfig(keep_prob=0.0)


def test_bad_inputs_are_named():
    model = PoseLSTM(PoseLSTMConfig(**TINY))
    with pytest.raises(ValueError, match=r"seq must be \[B, T, 26\]"):
        model({"seq": np.zeros((1, 3, 20), np.float32), "mask": np.zeros((1, 3, 13), np.float32)})
    with pytest.raises(ValueError, match="seen_step=3"):
        model({"seq": np.zeros((1, 2, 26), np.float32), "mask": np.zeros((1, 2, 13), np.float32)})


# Goldens -----------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hierchvid_golden(golden_dir):
    path = golden_dir / "hierchvid"
    if not (path / "lstm_penn_small.json").is_file():
        stop = pytest.fail if "VIDPRED_GOLDEN_DIR" in os.environ else pytest.skip
        stop(f"the goldens at {golden_dir} have no hierchvid LSTM case")
    return path


def _check(case):
    lines = []
    report = CaseReport(case.name, lines.append)
    golden_lstm.check_case(case, report)
    return report, "\n".join(lines)


def test_the_golden_lstm_case_and_inventory_pass(hierchvid_golden):
    cases = {case.kind: case for case in golden_lstm.find_cases(hierchvid_golden)}
    assert set(cases) == {"lstm", "lstm_inventory"}
    for case in cases.values():
        report, text = _check(case)
        assert report.passed, text
    report, text = _check(cases["lstm"])
    for name in ("train_output", "loss_before", "grad_global_norm_before_clip", "loss_after_one_step",
                 "output_after_one_step", "test_output", f"after_step/{KERNEL}",
                 f"slot_after_step/{KERNEL}/optimizer", f"slot_after_step/{KERNEL}/optimizer_1"):
        assert re.search(rf"^  ok   \w+ +{re.escape(name)}: ", text, re.M), name
    assert report.worst(("output",)).error <= 1e-5


def test_a_renamed_copy_of_the_lstm_case_is_found(hierchvid_golden, tmp_path):
    target = tmp_path / "another_run"
    (target / "weights").mkdir(parents=True)
    shutil.copy(hierchvid_golden / "lstm_penn_small.json", target / "info.json")
    shutil.copy(hierchvid_golden / "lstm_penn_small.npz", target / "recorded.npz")
    for path in (hierchvid_golden / "ckpt_penn_small").glob("DET_LSTM.model-0.*"):
        if path.suffix != ".meta":
            shutil.copy(path, target / "weights" / ("w" + path.name[len("DET_LSTM.model-0"):]))
    cases = golden_lstm.find_cases(tmp_path)
    assert [(c.name, c.kind, c.missing) for c in cases] == [("info", "lstm", ())]
    report, text = _check(cases[0])
    assert report.passed, text
    os.remove(target / "weights" / "w.index")
    (case,) = golden_lstm.find_cases(tmp_path)
    assert case.missing and "TF1 checkpoint" in case.missing_text()


# Converter ---------------------------------------------------------------------------------------------------------

def _values(model):
    return {name: v.numpy() for name, v in model.original_variables().items()}


def test_export_then_load_round_trip_with_the_state_file_and_slots(tmp_path):
    model = PoseLSTM(PoseLSTMConfig(**TINY))
    optimizer = TF1RMSProp(1e-3)
    optimizer.build(list(model.original_variables().values()))
    optimizer.apply([tf.ones_like(v) for v in model.original_variables().values()],
                    list(model.original_variables().values()))
    prefix = converter.export(model, str(tmp_path / "run" / "DET_LSTM.model-0"), optimizer=optimizer)
    assert tf.train.latest_checkpoint(str(tmp_path / "run")) == prefix
    other = PoseLSTM(PoseLSTMConfig(**TINY))
    report = converter.load(other, str(tmp_path / "run"))
    assert len(report.loaded) == 6 and len(report.skipped) == 13
    for name, value in _values(model).items():
        np.testing.assert_array_equal(other.original_variables()[name].numpy(), value)
    fresh = TF1RMSProp(1e-3)
    fresh.build(list(other.original_variables().values()))
    assert converter.load_rmsprop_slots(other, fresh, prefix) == 1
    for name, variable in model.original_variables().items():
        for ours, theirs in zip(optimizer.slots(variable), fresh.slots(other.original_variables()[name])):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_misfits_are_refused_naming_the_variable_and_training_state_is_skipped(tmp_path):
    model = PoseLSTM(PoseLSTMConfig(**TINY))
    values = _values(model)
    missing = {k: v for k, v in values.items() if k != KERNEL}
    with pytest.raises(CheckpointMismatchError, match=f"'{KERNEL}' .* is missing"):
        converter.load(model, write_tf1_checkpoint(str(tmp_path / "missing"), missing))
    shaped = dict(values, **{"lm_enc/Matrix": np.zeros((20, 32), np.float32)})
    with pytest.raises(CheckpointMismatchError, match=r"'lm_enc/Matrix' has shape \(20, 32\)"):
        converter.load(model, write_tf1_checkpoint(str(tmp_path / "shape"), shaped))
    # An image-generator variable under GEN is no part of the LSTM: refused, named.
    stray = dict(values, **{"GEN/enc_iconv1_1/w": np.zeros((3, 3, 3, 4), np.float32)})
    with pytest.raises(CheckpointMismatchError, match="'GEN/enc_iconv1_1/w'"):
        converter.load(model, write_tf1_checkpoint(str(tmp_path / "stray"), stray))
    # Training state and other networks' scopes are skipped.
    extra = dict(values, **{"Variable": np.int32(4), "Variable_12": np.zeros(3, np.float32),
                            "DIS/dis_h0_conv/w": np.zeros((5, 5, 4, 2), np.float32),
                            f"{KERNEL}/Adam": np.zeros((24, 32), np.float32), "beta1_power": np.float32(0.5),
                            f"{KERNEL}/optimizer": np.ones((24, 32), np.float32),
                            f"{KERNEL}/optimizer_1": np.zeros((24, 32), np.float32)})
    report = converter.load(model, write_tf1_checkpoint(str(tmp_path / "extra"), extra))
    assert len(report.loaded) == 6 and len(report.skipped) == 7


def test_main_converts_to_port_weights_and_back(tmp_path, capsys):
    model = PoseLSTM(PoseLSTMConfig.h36m(lstm_units=8))
    exported = converter.export(model, str(tmp_path / "orig" / "DET_LSTM.model-0"))
    weights = str(tmp_path / "port.weights.h5")
    assert converter.main(["--dataset", "h36m", "--lstm_units", "8", "--checkpoint", exported,
                           "--output", weights]) == 0
    back = str(tmp_path / "back" / "DET_LSTM.model-0")
    assert converter.main(["--dataset", "h36m", "--lstm_units", "8", "--to_tf1", "--checkpoint", weights,
                           "--output", back]) == 0
    reader = tf.train.load_checkpoint(back)
    for name, value in _values(model).items():
        np.testing.assert_array_equal(reader.get_tensor(name), value)
    assert converter.main(["--dataset", "penn", "--lstm_units", "8", "--checkpoint", exported,
                           "--output", str(tmp_path / "x.weights.h5")]) == 2
    assert "lm_enc/Matrix" in capsys.readouterr().err


# Task on the shared trainer ----------------------------------------------------------------------------------------

def test_one_trainer_step_is_the_clipped_tf1_rmsprop_step_of_the_recons_loss(tmp_path):
    config = PoseLSTMConfig(**TINY)
    batch = _inputs(config, 2, 7, seed=3)
    clip = 1e-3  # small enough that the global-norm clip acts
    task = PoseLSTMTask(config, learning_rate=0.01, clip_norm=clip)
    trainer = Trainer(task, TrainerConfig(model_dir=str(tmp_path), num_steps=1, global_batch_size=2,
                                          checkpoint_every=0, log_every=0), make_strategy("one_device"))
    # The same start in a second model, stepped by hand.
    reference = PoseLSTM(config)
    for name, value in _values(trainer.model).items():
        reference.original_variables()[name].assign(value)
    variables = list(reference.original_variables().values())
    with tf.GradientTape() as tape:
        loss = recons_loss(reference(batch, fut_step=4), batch["seq"], batch["mask"], 3)
    gradients = tape.gradient(loss, variables)
    assert float(tf.linalg.global_norm(gradients)) > clip
    clipped, _ = tf.clip_by_global_norm(gradients, clip)
    TF1RMSProp(0.01).apply(clipped, variables)

    result = trainer.fit(lambda context: tf.data.Dataset.from_tensors(batch).repeat())
    assert result.step == 1 and result.losses["loss"] == pytest.approx(float(loss), rel=1e-6)
    for name, value in _values(reference).items():
        np.testing.assert_allclose(trainer.model.original_variables()[name].numpy(), value, atol=1e-7, err_msg=name)
    prediction = trainer.predict({"seq": batch["seq"][:1, :3], "mask": batch["mask"][:1, :3]})
    assert prediction.shape == (1, 7, 26)
    assert task.summary_videos(trainer.model, batch, None) == {}


def test_the_task_names_a_batch_that_is_no_pose_batch(tmp_path):
    task = PoseLSTMTask(PoseLSTMConfig(**TINY))
    spec = {"seq": tf.TensorSpec([2, 7, 26]), "images": tf.TensorSpec([2, 7, 8, 8, 3])}
    with pytest.raises(ValueError, match="'mask'"):
        task.validate_inputs(spec, "training data")
    with pytest.raises(ValueError, match=r"'seq' must be \[B, T, 26\]"):
        task.validate_inputs({"seq": tf.TensorSpec([2, 7, 20]), "mask": tf.TensorSpec([2, 7, 13])}, "data")
    with pytest.raises(ValueError, match="at least one future step"):
        task.validate_inputs({"seq": tf.TensorSpec([2, 3, 26]), "mask": tf.TensorSpec([2, 3, 13])}, "data")
    assert isinstance(task.build_model(), keras.Model)
