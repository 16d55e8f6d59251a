"""The MSPred golden command: every case through one ``python -m vidpred_tf.golden mspred`` process."""

import json
import os
import re
import subprocess
import sys

import pytest

from vidpred_tf.papers.mspred import golden as golden_mspred

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_find_cases(golden_mspred_dir, tmp_path):
    names = [case.name for case in golden_mspred.find_cases(golden_mspred_dir)]
    assert names == ["conv_small", "linear_small", "inventory", "data"]
    assert [c.name for c in golden_mspred.find_cases(golden_mspred_dir / "linear_small_meta.json")] == ["linear_small"]
    assert golden_mspred.find_cases(tmp_path) == []


def test_command_passes_every_case(golden_mspred_dir):
    """One process for all four cases (TensorFlow starts once): conv_small, linear_small, the inventory and the
    data goldens."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-m", "vidpred_tf.golden", "mspred", str(golden_mspred_dir)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-2000:]
    assert "== mspred: 4/4 cases passed" in out
    assert "FAIL" not in out
    checks = {name: int(count) for name, count in re.findall(r"^case (\w+): PASS \((\d+) checks", out, re.M)}
    assert set(checks) == {"conv_small", "linear_small", "inventory", "data"}
    assert checks["conv_small"] > 150 and checks["linear_small"] > 200 and checks["data"] > 10
    for line in ("ok   output    eval_preds_0", "ok   exact     eval_fire_times",
                 "ok   condition one trainable variable per original tensor",
                 "ok   gradient  grad/predictor.0.lstm.1.bias_hh"):
        assert line in out
    # The Keras trainable variables of every inventory model hold the original's trainable-parameter count.
    inventory = json.loads((golden_mspred_dir / "inventory.json").read_text())
    assert checks["inventory"] == 4 * len(inventory)
    for entry_name in inventory:
        assert f"ok   exact     {entry_name}: Keras trainable parameter count" in out


def test_inventory_entry_parsing():
    params = golden_mspred.experiment_from_inventory_config(
        "src/configs/mmnist.json with model changes {'model_type': 'SpatioTempHierarchLSTM', "
        "'HierarchLSTM.ancestral_sampling': False}")
    assert params["model"]["model_type"] == "SpatioTempHierarchLSTM"
    assert params["model"]["HierarchLSTM"]["ancestral_sampling"] is False
    assert params["model"]["HierarchLSTM"]["periods"] == [1, 4, 8]
    with pytest.raises(ValueError, match="no shipped config nope.json"):
        golden_mspred.experiment_from_inventory_config("src/configs/nope.json")
