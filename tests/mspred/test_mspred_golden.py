"""The MSPred golden command: the conv_small case through ``python -m vidpred_tf.golden`` and the other cases
in process."""

import os
import subprocess
import sys

import pytest

from vidpred_tf.golden import mspred as golden_mspred
from vidpred_tf.golden.common import CaseReport

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_find_cases(golden_mspred_dir, tmp_path):
    names = [case.name for case in golden_mspred.find_cases(golden_mspred_dir)]
    assert names == ["conv_small", "linear_small", "inventory", "data"]
    assert [c.name for c in golden_mspred.find_cases(golden_mspred_dir / "linear_small_meta.json")] == ["linear_small"]
    assert golden_mspred.find_cases(tmp_path) == []


def test_command_passes_conv_small(golden_mspred_dir):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-m", "vidpred_tf.golden", "mspred",
                             str(golden_mspred_dir / "conv_small_meta.json")],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "case conv_small: PASS" in result.stdout
    assert "ok   output    eval_preds_0" in result.stdout
    assert "ok   exact     eval_fire_times" in result.stdout


@pytest.mark.parametrize("name", ["linear_small", "data"])
def test_cases_in_process(golden_mspred_dir, name):
    lines = []
    report = CaseReport(name, lines.append)
    golden_mspred.check_case(golden_mspred.MSPredCase(name, golden_mspred_dir), report)
    failed = [line for line in lines if "FAIL" in line]
    assert report.passed and not failed, failed
    assert len(report.checks) > (200 if name == "linear_small" else 10)


def test_inventory_entry_parsing():
    params = golden_mspred.experiment_from_inventory_config(
        "src/configs/mmnist.json with model changes {'model_type': 'SpatioTempHierarchLSTM', "
        "'HierarchLSTM.ancestral_sampling': False}")
    assert params["model"]["model_type"] == "SpatioTempHierarchLSTM"
    assert params["model"]["HierarchLSTM"]["ancestral_sampling"] is False
    assert params["model"]["HierarchLSTM"]["periods"] == [1, 4, 8]
    with pytest.raises(ValueError, match="no shipped config nope.json"):
        golden_mspred.experiment_from_inventory_config("src/configs/nope.json")
