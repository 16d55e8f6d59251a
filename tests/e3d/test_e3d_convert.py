"""TF1 checkpoint conversion: strict name/shape matching, filters, EMA, the e3d CLI and the way back."""

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.convert import e3d as convert_e3d
from vidpred_tf.convert.tf1 import CheckpointMismatchError, load_tf1_checkpoint, read_tf1_checkpoint
from vidpred_tf.models.e3d import E3DConfig, build_model
from vidpred_tf.training.checkpoint import restore_model_weights

CONFIG = E3DConfig(model_name="original_e3d_lstm", img_width=8, patch_size=2, input_length=2, total_length=4,
                   num_hidden="4,4")


def _write_with_saver(prefix, values):
    """A checkpoint written the way the original did: tf.compat.v1 variables in a graph and a Saver."""
    with tf.Graph().as_default():
        variables = [tf.compat.v1.get_variable(name, initializer=tf.constant(value)) for name, value in values.items()]
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(prefix))
    return str(prefix)


def _original_values(seed=0):
    model = build_model(CONFIG)
    rng = np.random.RandomState(seed)
    return {name: rng.normal(size=v.shape).astype(np.float32) for name, v in model.original_variables().items()}


def test_loads_a_saver_checkpoint_skipping_adam_slots_and_global_step(tmp_path):
    values = _original_values()
    extra = {"Variable": np.float32(1.0), "Variable_1": np.zeros((3,), np.float32),
             "generator/e3d-lstm/conv3d/kernel/ExponentialMovingAverage":
                 values["generator/e3d-lstm/conv3d/kernel"] + 1.0}
    prefix = _write_with_saver(tmp_path / "model.ckpt", {**values, **extra})
    model = build_model(CONFIG)
    report = convert_e3d.load(model, prefix)
    assert sorted(report.skipped) == sorted(extra)
    assert report.loaded == list(model.original_variables())
    for name, variable in model.original_variables().items():
        np.testing.assert_array_equal(variable.numpy(), values[name])

    ema_model = build_model(CONFIG)
    report = convert_e3d.load(ema_model, prefix, use_ema=True)
    assert report.from_ema == ["generator/e3d-lstm/conv3d/kernel"]
    np.testing.assert_array_equal(ema_model.decoder.kernel.numpy(), values["generator/e3d-lstm/conv3d/kernel"] + 1)


def test_refuses_wrong_shape_missing_and_extra_names(tmp_path):
    values = _original_values()
    model = build_model(CONFIG)
    before = [v.numpy().copy() for v in model.weights]

    wrong = dict(values)
    wrong["generator/e3d-lstm/e3d1/conv3d_3/kernel"] = np.zeros((2, 5, 5, 4, 4), np.float32)
    prefix = _write_with_saver(tmp_path / "wrong" / "model.ckpt", wrong)
    with pytest.raises(CheckpointMismatchError,
                       match=r"'generator/e3d-lstm/e3d1/conv3d_3/kernel' has shape \(2, 5, 5, 4, 4\) but the port "
                             r"expects \(1, 5, 5, 4, 4\)"):
        convert_e3d.load(model, prefix)

    missing = dict(values)
    del missing["generator/e3d-lstm/e3d0/self_attn/beta"]
    prefix = _write_with_saver(tmp_path / "missing" / "model.ckpt", missing)
    with pytest.raises(CheckpointMismatchError, match=r"'generator/e3d-lstm/e3d0/self_attn/beta' \(4,\) of the port "
                                                      r"is missing"):
        convert_e3d.load(model, prefix)

    extra = dict(values, **{"generator/e3d-lstm/3Denc/conv3d/bias": np.zeros(4, np.float32)})
    prefix = _write_with_saver(tmp_path / "extra" / "model.ckpt", extra)
    with pytest.raises(CheckpointMismatchError, match=r"'generator/e3d-lstm/3Denc/conv3d/bias' \(4,\) has no "
                                                      r"counterpart in the port"):
        convert_e3d.load(model, prefix)
    # nothing was assigned by the refused loads
    for variable, value in zip(model.weights, before):
        np.testing.assert_array_equal(variable.numpy(), value)

    with pytest.raises(FileNotFoundError, match="no .*nothing.index"):
        load_tf1_checkpoint(str(tmp_path / "nothing"), model.original_variables())


def test_cli_converts_a_golden_checkpoint_to_keras_weights_and_back(tmp_path, golden_e3d_dir):
    case = golden_e3d_dir / "original_e3d_lstm"
    output = tmp_path / "port" / "weights.weights.h5"
    common = ["--model_name", "original_e3d_lstm", "--img_width", "8", "--patch_size", "2", "--input_length", "3",
              "--total_length", "6", "--num_hidden", "8,8"]
    assert convert_e3d.main(["--checkpoint", str(case / "model.ckpt"), "--output", str(output), *common]) == 0
    config = E3DConfig(model_name="original_e3d_lstm", img_width=8, patch_size=2, input_length=3, total_length=6,
                       num_hidden="8,8")
    model = build_model(config)
    model.load_weights(str(output))
    golden = np.load(case / "golden.npz")
    np.testing.assert_allclose(model(golden["ims_patched"], golden["real_input_flag"]).numpy(), golden["gen_all"],
                               atol=1e-4)

    back = tmp_path / "back" / "model.ckpt"
    assert convert_e3d.main(["--to_tf1", "--checkpoint", str(output), "--output", str(back), *common]) == 0
    original = read_tf1_checkpoint(str(case / "model.ckpt"))
    exported = read_tf1_checkpoint(str(back))
    assert sorted(exported) == sorted(original)
    for name in original:
        np.testing.assert_array_equal(exported[name], original[name])

    tf2 = tmp_path / "tf2" / "ckpt"
    assert convert_e3d.main(["--checkpoint", str(case / "model.ckpt"), "--output", str(tf2), *common]) == 0
    again = build_model(config)
    restore_model_weights(again, str(tf2))
    for a, b in zip(again.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    # the [2,5,5] checkpoint-shaped model does not fit the HEAD [1,5,5] kernel: exit 1 naming the variable
    assert convert_e3d.main(["--checkpoint", str(case / "model.ckpt"), "--output", str(tmp_path / "x.weights.h5"),
                             *common, "--cell_kernel", "2,5,5"]) == 1
    assert convert_e3d.main(["--checkpoint", str(case / "model.ckpt"), "--output", str(tmp_path / "y.weights.h5"),
                             "--model_name", "nope"]) == 2


def test_export_writes_the_original_names_and_load_reads_them_back(tmp_path):
    model = build_model(CONFIG)
    rng = np.random.RandomState(6)
    for variable in model.weights:
        variable.assign(rng.normal(size=variable.shape).astype(np.float32))
    prefix = convert_e3d.export(model, str(tmp_path / "out" / "model.ckpt"))
    assert prefix == str(tmp_path / "out" / "model.ckpt")
    # what the original's Saver reads: its names and shapes, in the file and nothing else
    assert sorted(tf.train.list_variables(prefix)) == sorted(
        (name, list(v.shape)) for name, v in model.original_variables().items())
    again = build_model(CONFIG)
    report = convert_e3d.load(again, prefix)
    assert report.skipped == [] and report.from_ema == []
    for a, b in zip(again.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_the_converter_has_the_shared_contract():
    """load / export / main (vidpred_tf.convert), and a first docstring line saying what it converts."""
    public = sorted(name for name, value in vars(convert_e3d).items()
                    if callable(value) and not name.startswith("_") and value.__module__ == convert_e3d.__name__)
    assert public == ["export", "load", "main"]
    first_line = convert_e3d.__doc__.strip().splitlines()[0]
    assert "E3D-LSTM" in first_line and "TF1 checkpoints" in first_line
