"""The MSPred converter (``load``, ``export``, ``main``): torch-free .pth reading, strict loading with errors naming
the key, round trips."""

import collections
import copy
import json
import pickle
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from torch_zip_writer import write_torch_zip

from vidpred_tf.convert import mspred as convert
from vidpred_tf.convert.torch_files import read_state_dict, read_torch_file
from vidpred_tf.models.mspred.blocks import TorchParam
from vidpred_tf.models.mspred.build import setup_model


class TinyEmbedding:
    """A model with one original Linear, ``embed`` (out 2, in 3), for the file-format tests."""

    def __init__(self):
        self.weight = tf.Variable(np.zeros((3, 2), np.float32))
        self.bias = tf.Variable(np.zeros((2,), np.float32))

    def original_variables(self, prefix=""):
        return {"embed.weight": TorchParam(self.weight, "linear"), "embed.bias": TorchParam(self.bias, "vector")}


@pytest.fixture(scope="module")
def conv_small(golden_mspred_dir):
    meta = json.loads((golden_mspred_dir / "conv_small_meta.json").read_text())
    return setup_model(meta["exp_params"]), golden_mspred_dir


def test_pth_reads_as_npz_and_round_trips(conv_small, tmp_path):
    model, golden = conv_small
    from_npz = read_state_dict(golden / "conv_small_init_state_dict.npz")
    from_pth = read_state_dict(golden / "conv_small_init_state_dict.pth")
    assert list(from_pth) == list(from_npz)
    assert all(np.array_equal(from_pth[k], from_npz[k]) and from_pth[k].dtype == np.float32 for k in from_npz)
    loaded = convert.load(model, golden / "conv_small_init_state_dict.pth")
    assert len(loaded) == 114 and loaded == [k for k in from_npz if k != "device_param"]
    exported = read_state_dict(convert.export(model, tmp_path / "exported.npz"))
    assert list(exported) == list(from_npz)
    assert all(np.array_equal(exported[k], from_npz[k]) for k in from_npz)


def test_linear_lstm_biases_load_and_export_one_to_one(golden_mspred_dir, tmp_path):
    meta = json.loads((golden_mspred_dir / "linear_small_meta.json").read_text())
    model = setup_model(meta["exp_params"])
    state = read_state_dict(golden_mspred_dir / "linear_small_init_state_dict.npz")
    convert.load(model, state)
    key = "predictor.0.lstm.1"
    cell = model.predictor[0].lstm[1]
    np.testing.assert_array_equal(cell.bias_ih.numpy(), state[f"{key}.bias_ih"])
    np.testing.assert_array_equal(cell.bias_hh.numpy(), state[f"{key}.bias_hh"])
    exported = read_state_dict(convert.export(model, tmp_path / "exported.npz"))
    assert list(exported) == list(state)
    assert all(np.array_equal(exported[k], state[k]) for k in state)
    # Keras trains what torch trains: as many scalars as the original's recorded count, one variable per tensor.
    assert sum(int(np.prod(v.shape)) for v in model.trainable_variables) == meta["n_params"] == 47925
    assert len(model.trainable_variables) == len(state) - 1  # all but device_param


def test_state_dict_with_summed_lstm_biases_gives_the_same_forward(golden_mspred_dir):
    """An export of the earlier one-bias port (the sum in bias_ih, zeros in bias_hh) still loads; the forward
    pass only sees the sum."""
    meta = json.loads((golden_mspred_dir / "linear_small_meta.json").read_text())
    model = setup_model(meta["exp_params"])
    state = read_state_dict(golden_mspred_dir / "linear_small_init_state_dict.npz")
    summed = dict(state)
    for key in state:
        if key.endswith("bias_ih"):
            summed[key] = state[key] + state[key[:-2] + "hh"]
            summed[key[:-2] + "hh"] = np.zeros_like(state[key])
    x = np.random.default_rng(0).uniform(size=(2, 7, 16, 16, 3)).astype(np.float32)
    seed = np.array([3, 4], np.int32)
    preds = []
    for weights in (state, summed):
        convert.load(model, weights)
        preds.append(model(x, context=3, num_preds=2, seed=seed)["preds"][0].numpy())
    np.testing.assert_allclose(preds[0], preds[1], atol=1e-6)
    assert not np.array_equal(model.predictor[0].lstm[1].bias_hh.numpy(), state["predictor.0.lstm.1.bias_hh"])


def test_misfits_are_refused_naming_the_key_and_nothing_is_assigned(conv_small, tmp_path):
    model, golden = conv_small
    state = read_state_dict(golden / "conv_small_init_state_dict.npz")
    before = model.encoder.c1.conv.kernel.numpy().copy()
    missing = {k: v for k, v in state.items() if k != "prior.1.mu_var_net.bias"}
    with pytest.raises(convert.StateDictMismatchError, match="lacks 1 key.*prior.1.mu_var_net.bias"):
        convert.load(model, missing)
    extra = dict(state, **{"predictor.3.input_conv.weight": np.zeros((1,), np.float32)})
    with pytest.raises(convert.StateDictMismatchError, match="predictor.3.input_conv.weight"):
        convert.load(model, extra)
    wrong = dict(state)
    wrong["encoder.c1.main.0.weight"] = np.ones((8, 3, 3, 3), np.float32) * 7
    path = tmp_path / "wrong.npz"
    np.savez(path, **wrong)
    with pytest.raises(convert.StateDictMismatchError,
                       match=r"wrong.npz: key encoder.c1.main.0.weight has shape \(8, 3, 3, 3\)"):
        convert.load(model, path)
    np.testing.assert_array_equal(model.encoder.c1.conv.kernel.numpy(), before)
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        convert.load(model, tmp_path / "nothing.pth")


def test_checkpoint_dict_pth_and_refusal_of_foreign_globals(tmp_path):
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    bias = np.array([0.5, -1.0], np.float32)
    arrays = {"0": weight, "1": bias}
    state = collections.OrderedDict([("embed.weight", weight), ("embed.bias", bias)])
    checkpoint = {"epoch": 3, "model_state_dict": state, "optimizer_state_dict": {"lr": 1e-4}}
    path = tmp_path / "checkpoint_epoch_3.pth"
    write_torch_zip(path, checkpoint, arrays)
    model = TinyEmbedding()
    assert convert.load(model, path) == ["embed.weight", "embed.bias"]
    np.testing.assert_array_equal(model.weight.numpy(), weight.T)
    np.testing.assert_array_equal(model.bias.numpy(), bias)
    assert read_torch_file(path)["epoch"] == 3
    exported = read_state_dict(convert.export(model, tmp_path / "embed.npz"))
    assert list(exported) == ["device_param", "embed.weight", "embed.bias"]
    np.testing.assert_array_equal(exported["embed.weight"], weight)
    with pytest.raises(ValueError, match=r"x.pth: a state_dict is written as .npz"):
        convert.export(model, tmp_path / "x.pth")

    evil = tmp_path / "evil.pth"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps(copy.copy, protocol=2))
    with pytest.raises(ValueError, match=r"evil.pth.*refusing to load the global copy.copy"):
        convert.load(model, evil)
    not_zip = tmp_path / "legacy.pth"
    not_zip.write_bytes(b"\x80\x02not a zip")
    with pytest.raises(ValueError, match="legacy.pth is not a torch.save zip"):
        convert.load(model, not_zip)


def test_command_line_exports_npz(golden_mspred_dir, tmp_path):
    out = tmp_path / "weights.npz"
    assert convert.main([str(golden_mspred_dir / "linear_small_init_state_dict.pth"), str(out)]) == 0
    exported = read_state_dict(out)
    expected = read_state_dict(golden_mspred_dir / "linear_small_init_state_dict.npz")
    assert list(exported) == list(expected)
    assert all(np.array_equal(exported[k], expected[k]) for k in expected)
    assert convert.main([str(golden_mspred_dir / "linear_small_init_state_dict.pth"), str(tmp_path / "x.h5")]) == 2


def test_the_module_exposes_the_converter_contract():
    """``vidpred convert`` and the paper descriptor use exactly ``load``, ``export`` and ``main``; the first
    docstring line says what is converted."""
    public = {name for name, value in vars(convert).items()
              if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") == convert.__name__}
    assert public == {"load", "export", "main", "StateDictMismatchError"}
    assert convert.__doc__.splitlines()[0].startswith("MSPred (AIS-Bonn/MSPred) PyTorch state_dicts")
