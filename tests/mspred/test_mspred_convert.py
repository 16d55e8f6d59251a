"""The MSPred converter: torch-free .pth reading, strict loading with errors naming the key, round trips."""

import collections
import copy
import json
import pickle
import zipfile

import numpy as np
import pytest

from torch_zip_writer import write_torch_zip
from vidpred_tf.convert import mspred as convert
from vidpred_tf.models.mspred.build import setup_model


@pytest.fixture(scope="module")
def conv_small(golden_mspred_dir):
    meta = json.loads((golden_mspred_dir / "conv_small_meta.json").read_text())
    return setup_model(meta["exp_params"]), golden_mspred_dir


def test_pth_reads_as_npz_and_round_trips(conv_small):
    model, golden = conv_small
    from_npz = convert.read_state_dict(golden / "conv_small_init_state_dict.npz")
    from_pth = convert.read_state_dict(golden / "conv_small_init_state_dict.pth")
    assert list(from_pth) == list(from_npz)
    assert all(np.array_equal(from_pth[k], from_npz[k]) and from_pth[k].dtype == np.float32 for k in from_npz)
    assert convert.load_state_dict_into_model(model, golden / "conv_small_init_state_dict.pth") == 114
    exported = convert.state_dict_from_model(model)
    assert list(exported) == list(from_npz)
    assert all(np.array_equal(exported[k], from_npz[k]) for k in from_npz)


def test_linear_lstm_biases_load_and_export_one_to_one(golden_mspred_dir):
    meta = json.loads((golden_mspred_dir / "linear_small_meta.json").read_text())
    model = setup_model(meta["exp_params"])
    state = convert.read_state_dict(golden_mspred_dir / "linear_small_init_state_dict.npz")
    convert.load_state_dict_into_model(model, state)
    key = "predictor.0.lstm.1"
    cell = model.predictor[0].lstm[1]
    np.testing.assert_array_equal(cell.bias_ih.numpy(), state[f"{key}.bias_ih"])
    np.testing.assert_array_equal(cell.bias_hh.numpy(), state[f"{key}.bias_hh"])
    exported = convert.state_dict_from_model(model)
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
    state = convert.read_state_dict(golden_mspred_dir / "linear_small_init_state_dict.npz")
    summed = dict(state)
    for key in state:
        if key.endswith("bias_ih"):
            summed[key] = state[key] + state[key[:-2] + "hh"]
            summed[key[:-2] + "hh"] = np.zeros_like(state[key])
    x = np.random.default_rng(0).uniform(size=(2, 7, 16, 16, 3)).astype(np.float32)
    seed = np.array([3, 4], np.int32)
    preds = []
    for weights in (state, summed):
        convert.load_state_dict_into_model(model, weights)
        preds.append(model(x, context=3, num_preds=2, seed=seed)["preds"][0].numpy())
    np.testing.assert_allclose(preds[0], preds[1], atol=1e-6)
    assert not np.array_equal(model.predictor[0].lstm[1].bias_hh.numpy(), state["predictor.0.lstm.1.bias_hh"])


def test_misfits_are_refused_naming_the_key_and_nothing_is_assigned(conv_small, tmp_path):
    model, golden = conv_small
    state = convert.read_state_dict(golden / "conv_small_init_state_dict.npz")
    before = model.encoder.c1.conv.kernel.numpy().copy()
    missing = {k: v for k, v in state.items() if k != "prior.1.mu_var_net.bias"}
    with pytest.raises(convert.StateDictMismatchError, match="lacks 1 key.*prior.1.mu_var_net.bias"):
        convert.load_state_dict_into_model(model, missing)
    extra = dict(state, **{"predictor.3.input_conv.weight": np.zeros((1,), np.float32)})
    with pytest.raises(convert.StateDictMismatchError, match="predictor.3.input_conv.weight"):
        convert.load_state_dict_into_model(model, extra)
    wrong = dict(state)
    wrong["encoder.c1.main.0.weight"] = np.ones((8, 3, 3, 3), np.float32) * 7
    path = tmp_path / "wrong.npz"
    convert.save_state_dict_npz(wrong, path)
    with pytest.raises(convert.StateDictMismatchError,
                       match=r"wrong.npz: key encoder.c1.main.0.weight has shape \(8, 3, 3, 3\)"):
        convert.load_state_dict_into_model(model, path)
    np.testing.assert_array_equal(model.encoder.c1.conv.kernel.numpy(), before)
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        convert.read_state_dict(tmp_path / "nothing.pth")


def test_checkpoint_dict_pth_and_refusal_of_foreign_globals(tmp_path):
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    bias = np.array([0.5, -1.0], np.float32)
    arrays = {"0": weight, "1": bias}
    state = collections.OrderedDict([("embed.weight", weight), ("embed.bias", bias)])
    checkpoint = {"epoch": 3, "model_state_dict": state, "optimizer_state_dict": {"lr": 1e-4}}
    path = tmp_path / "checkpoint_epoch_3.pth"
    write_torch_zip(path, checkpoint, arrays)
    loaded = convert.read_state_dict(path)
    assert list(loaded) == ["embed.weight", "embed.bias"]
    np.testing.assert_array_equal(loaded["embed.weight"], weight)
    np.testing.assert_array_equal(loaded["embed.bias"], bias)
    assert convert.read_torch_file(path)["epoch"] == 3

    evil = tmp_path / "evil.pth"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps(copy.copy, protocol=2))
    with pytest.raises(ValueError, match=r"evil.pth.*refusing to load the global copy.copy"):
        convert.read_state_dict(evil)
    not_zip = tmp_path / "legacy.pth"
    not_zip.write_bytes(b"\x80\x02not a zip")
    with pytest.raises(ValueError, match="legacy.pth is not a torch.save zip"):
        convert.read_state_dict(not_zip)


def test_command_line_exports_npz(golden_mspred_dir, tmp_path):
    out = tmp_path / "weights.npz"
    assert convert.main([str(golden_mspred_dir / "linear_small_init_state_dict.pth"), str(out)]) == 0
    exported = convert.read_state_dict(out)
    expected = convert.read_state_dict(golden_mspred_dir / "linear_small_init_state_dict.npz")
    assert list(exported) == list(expected)
    assert all(np.array_equal(exported[k], expected[k]) for k in expected)
    assert convert.main([str(golden_mspred_dir / "linear_small_init_state_dict.pth"), str(tmp_path / "x.h5")]) == 2
