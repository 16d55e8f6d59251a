"""vidpred_tf.convert.epva: the golden small_epva TF1 checkpoint loads 1:1 onto EPVANetwork, export + load round
trip, misfits are refused naming the variable, and the original's two warm starts (EPVA checkpoint, slim VGG16)."""

import os

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.convert import epva as converter
from vidpred_tf.convert.tf1 import CheckpointMismatchError, write_tf1_checkpoint
from vidpred_tf.models.epva.config import EPVAConfig
from vidpred_tf.models.epva.network import EPVANetwork

GOLDEN = "/work/shared/golden/epva"
SMALL = dict(enc_size=16, van_first_depth=8, vgg_width_divisor=8)


def _network(**overrides):
    return EPVANetwork(EPVAConfig(**{**SMALL, **overrides}))


def _names(model):
    return [name for name, _ in model.original_variables()]


@pytest.fixture(scope="module")
def epva_model():
    return _network(model_mode="epva", pred_noise_std=1.0)


@pytest.fixture(scope="module")
def exported(epva_model, tmp_path_factory):
    prefix = str(tmp_path_factory.mktemp("export") / "model.ckpt")
    return converter.export(epva_model, prefix)


def test_golden_small_epva_loads_one_to_one(epva_model):
    case = os.path.join(GOLDEN, "small_epva")
    if not os.path.isdir(case):
        pytest.skip("no epva goldens here")
    report = converter.load(epva_model, case)  # a folder with a `checkpoint` file
    reader = tf.train.load_checkpoint(case)
    in_file = set(reader.get_variable_to_shape_map())
    assert set(report.loaded) == in_file - {"global_step", "Variable"}
    assert set(report.skipped) == {"global_step", "Variable"}  # fake_step and the step: not model weights
    variables = dict(epva_model.original_variables())
    for name in ("timestep/predict/LSTMCell/W_0", "timestep/encoder/vgg_16/conv1/conv1_1/weights"):
        np.testing.assert_array_equal(variables[name].numpy(), reader.get_tensor(name))


def test_legacy_back_connection_is_a_model_variable():
    case = os.path.join(GOLDEN, "small_e2e_legacy_l2norm")
    if not os.path.isdir(case):
        pytest.skip("no epva goldens here")
    model = _network(model_mode="e2e", use_legacy_vars=True, enc_pred_use_l2norm=True)
    report = converter.load(model, case)
    assert "timestep/predict/Variable" in report.loaded
    np.testing.assert_array_equal(dict(model.original_variables())["timestep/predict/Variable"].numpy(),
                                  tf.train.load_checkpoint(case).get_tensor("timestep/predict/Variable"))


def test_export_then_load_round_trip(epva_model, exported):
    other = _network(model_mode="epva", pred_noise_std=1.0)
    before = {name: v.numpy() for name, v in epva_model.original_variables()}
    assert any(not np.array_equal(v.numpy(), before[n]) for n, v in other.original_variables())
    converter.load(other, exported)
    for name, variable in other.original_variables():
        np.testing.assert_array_equal(variable.numpy(), before[name])


def test_misfits_name_the_variable(epva_model, exported, tmp_path):
    values = {name: v.numpy() for name, v in epva_model.original_variables()}
    missing = dict(values)
    del missing["timestep/predict/LSTMCell/W_0"]
    with pytest.raises(CheckpointMismatchError, match=r"'timestep/predict/LSTMCell/W_0' .* is missing"):
        converter.load(epva_model, write_tf1_checkpoint(str(tmp_path / "missing"), missing))
    extra = dict(values, **{"timestep/van/stray/kernel": np.zeros(3, np.float32),
                            "timestep/van/stray/kernel/Adam": np.zeros(3, np.float32),
                            "global_step": np.int64(5), "Variable_1": np.float32(0)})
    with pytest.raises(CheckpointMismatchError, match=r"'timestep/van/stray/kernel' \(3,\) has no counterpart"):
        converter.load(epva_model, write_tf1_checkpoint(str(tmp_path / "extra"), extra))
    shaped = dict(values, **{"timestep/predict/LSTMCell/W_0": np.zeros((2, 2), np.float32)})
    with pytest.raises(CheckpointMismatchError, match=r"'timestep/predict/LSTMCell/W_0' has shape \(2, 2\)"):
        converter.load(epva_model, write_tf1_checkpoint(str(tmp_path / "shape"), shaped))
    # a model without noise_dense does not fit a checkpoint that has it
    with pytest.raises(CheckpointMismatchError, match="noise_dense"):
        converter.load(_network(model_mode="epva"), exported)


def test_warm_start_from_epva_restores_all_but_scalars_back_connection_and_noise(exported, capsys):
    target = _network(model_mode="epva_gan", pred_noise_std=1.0)
    before = {name: v.numpy() for name, v in target.original_variables()}
    restored = converter.warm_start_from_epva(target, exported)
    source = tf.train.load_checkpoint(exported)
    for name, variable in target.original_variables():
        scoped = name.startswith(("timestep/encoder/", "timestep/predict/", "timestep/van/"))
        excluded = any(word in name for word in ("Variable", "back_connect_init", "noise_dense"))
        if scoped and not excluded:
            assert name in restored
            np.testing.assert_array_equal(variable.numpy(), source.get_tensor(name))
        else:
            assert name not in restored
            np.testing.assert_array_equal(variable.numpy(), before[name])
    assert any("back_connect_init" in n for n in _names(target)) and any("noise_dense" in n for n in _names(target))
    assert any(n.startswith("Discriminator/") for n in _names(target))
    assert f"restored {len(restored)} variables" in capsys.readouterr().out


def test_warm_start_from_slim_vgg16(tmp_path):
    model = _network(model_mode="e2e")
    vgg = {name[len("timestep/encoder/"):]: v.numpy() for name, v in model.original_variables()
           if name.startswith("timestep/encoder/vgg_16/")}
    rng = np.random.RandomState(0)
    slim = {name: rng.normal(size=value.shape).astype(np.float32) for name, value in vgg.items()}
    slim.update({"vgg_16/fc6/weights": np.zeros((2, 2, 64, 8), np.float32), "vgg_16/fc8/biases":
                 np.zeros(1000, np.float32), "global_step": np.int64(1)})
    assert "vgg_16/conv5/conv5_3/weights" in slim and "vgg_16/conv1/conv1_1/biases" in slim
    path = write_tf1_checkpoint(str(tmp_path / "vgg_16.ckpt"), slim)
    others = {name: v.numpy() for name, v in model.original_variables() if "vgg_16/conv" not in name}
    restored = converter.warm_start_from_vgg16(model, path)
    assert sorted(restored) == sorted("timestep/encoder/" + n for n in vgg)
    for name, variable in model.original_variables():
        if name in restored:
            np.testing.assert_array_equal(variable.numpy(), slim[name[len("timestep/encoder/"):]])
        else:
            np.testing.assert_array_equal(variable.numpy(), others[name])
    del slim["vgg_16/conv3/conv3_2/weights"]
    with pytest.raises(CheckpointMismatchError, match="'vgg_16/conv3/conv3_2/weights'"):
        converter.warm_start_from_vgg16(model, write_tf1_checkpoint(str(tmp_path / "cut.ckpt"), slim))


def test_main_converts_to_port_weights_and_back(exported, tmp_path, capsys):
    flags = ["--model_mode", "epva", "--pred_noise_std", "1", "--enc_size", "16", "--van_first_depth", "8",
             "--vgg_width_divisor", "8"]
    weights = str(tmp_path / "small.weights.h5")
    assert converter.main(["--checkpoint", exported, "--output", weights] + flags) == 0
    assert os.path.exists(weights)
    back = str(tmp_path / "back" / "model.ckpt")
    assert converter.main(["--to_tf1", "--checkpoint", weights, "--output", back] + flags) == 0
    original, again = tf.train.load_checkpoint(exported), tf.train.load_checkpoint(back)
    assert original.get_variable_to_shape_map() == again.get_variable_to_shape_map()
    name = "timestep/van/van_dec/conv2d_transpose_5/kernel"
    np.testing.assert_array_equal(original.get_tensor(name), again.get_tensor(name))
    capsys.readouterr()
    assert converter.main(["--checkpoint", str(tmp_path / "nowhere"), "--output", weights] + flags) == 2
    assert "nowhere" in capsys.readouterr().err
