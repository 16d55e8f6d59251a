"""MSPred experiment directories: DEFAULTS (model_type and patience added), configs, creation, -d resolution,
logs, update (item 13)."""

import json
import os
import re

import pytest

from vidpred_tf.models.mspred.params import hierarchical_num_preds, sequence_length
from vidpred_tf.papers.mspred import experiment


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_have_the_q2_fix():
    assert experiment.DEFAULTS["model"]["model_type"] == "SpatioTempHierarchConvLSTM"
    assert "model_name" not in experiment.DEFAULTS["model"]
    assert experiment.DEFAULTS["training"]["patience"] == 20


def test_create_experiment_acceptance_item_13(in_tmp):
    path = experiment.create_experiment("X", "Y", "mmnist")
    assert path == os.path.join(str(in_tmp), "experiments", "X", "Y")
    assert sorted(os.listdir(path)) == ["experiment_params.json", "logs.txt", "plots", "tboard_logs"]
    params = json.load(open(os.path.join(path, "experiment_params.json")))
    assert set(params) == {"dataset", "loss", "model", "training", "eval", "_general"}
    shipped = json.load(open(os.path.join(experiment.CONFIGS_DIR, "mmnist.json")))
    for group in experiment.GROUPS:
        assert params[group] == shipped[group]
    assert params["_general"]["exp_path"] == path
    assert params["_general"]["config"].endswith("mmnist.json")
    lines = open(os.path.join(path, "logs.txt")).read().splitlines()
    assert [re.sub(r"^\d{4}-\d\d-\d\d-\d\d:\d\d:\d\d    ", "", line) for line in lines] == [
        f"INFO: Creating experiment Y in {os.path.dirname(path)}",
        "INFO: Creating experiment parameters file from config mmnist..."]
    with pytest.raises(FileExistsError, match="Y already in"):
        experiment.create_experiment("X", "Y", "mmnist.json")


def test_defaults_experiment_unknown_config_and_timestamp_name(in_tmp):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        experiment.create_experiment("X", "bad", "nope")
    assert not os.path.exists(in_tmp / "experiments" / "X" / "bad")
    path = experiment.create_experiment("X", None, None)
    assert re.fullmatch(r"experiment_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", os.path.basename(path))
    params = json.load(open(os.path.join(path, "experiment_params.json")))
    assert params["_general"]["config"] == "DEFAULTS"
    assert params["model"] == experiment.DEFAULTS["model"]
    # Acceptance item 13 holds without --config too: the original's logs.txt is started by its logged
    # create_directory calls, so a DEFAULTS experiment has one.
    assert sorted(os.listdir(path)) == ["experiment_params.json", "logs.txt", "plots", "tboard_logs"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d-\d\d:\d\d:\d\d    INFO: Creating experiment experiment_\S+ in \S+\n",
                        open(os.path.join(path, "logs.txt")).read())


def test_exp_directory_resolution(in_tmp):
    path = experiment.create_experiment("TestExp", "exp_mmnist", "mmnist")
    for given in ("experiments/TestExp/exp_mmnist/", "TestExp/exp_mmnist", path):
        assert experiment.resolve_exp_directory(given) == path
    with pytest.raises(FileNotFoundError, match="missing"):
        experiment.resolve_exp_directory("experiments/TestExp/missing")


def test_sequence_length_and_num_preds_acceptance_item_8(in_tmp):
    params = experiment.load_config("mmnist")
    assert hierarchical_num_preds(params) == [5, 5, 5]
    assert sequence_length(params) == 57
    assert sequence_length(experiment.load_config("kth")) == 49
    assert sequence_length(experiment.load_config("synpick")) == 29


def test_aux_update_fills_missing_keys_and_keeps_values(in_tmp):
    path = experiment.create_experiment("X", "old", "mmnist")
    params = json.load(open(os.path.join(path, "experiment_params.json")))
    assert "w_easy_kpts" not in params["loss"]  # mmnist.json has none
    del params["training"]["patience"], params["model"]["LSTM"]["hidden_dim"]
    params["training"]["lr"] = 0.5
    json.dump(params, open(os.path.join(path, "experiment_params.json"), "w"))
    updated = experiment.aux_update_exp_params(path)
    reread = json.load(open(os.path.join(path, "experiment_params.json")))
    assert updated == reread
    assert reread["training"]["patience"] == 20 and reread["model"]["LSTM"]["hidden_dim"] == 256
    assert reread["loss"]["w_easy_kpts"] == 0.7 and reread["training"]["lr"] == 0.5


def test_logger_format(in_tmp):
    logger = experiment.Logger(str(in_tmp))
    logger.log_info("hello", "new_exp")
    logger.log_info("x", "bogus")
    text = open(in_tmp / "logs.txt").read()
    assert re.fullmatch(r"\n\n\n\S+    NEW_EXP: hello\n\S+    INFO: x\n", text)
