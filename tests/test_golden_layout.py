"""The golden command finds cases by their files, whatever they are called, reports incomplete ones, holds the
TF1 checkpoint file to the model's variables, and bounds cancelling sums by the float32 rounding of their terms."""

import os
import re
import shutil

import numpy as np
import pytest

from vidpred_tf.golden import common
from vidpred_tf.golden.__main__ import main as golden_main


def _paper_dir(golden_dir, paper):
    path = golden_dir / paper
    if not path.is_dir():
        stop = pytest.fail if "VIDPRED_GOLDEN_DIR" in os.environ else pytest.skip
        stop(f"the goldens at {golden_dir} have no {paper}/ folder")
    return path


def _run(capsys, paper, path):
    code = golden_main([paper, str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# The bound for cancelling sums -------------------------------------------------------------------------------

def test_rounding_bound_by_hand():
    # |0.5| + |-0.25| + |-0.25| = 1: the bound is k * 2**-23 * 1.
    assert common.EPS32 == 2.0 ** -23
    assert common.rounding_bound([np.array([0.5, -0.25]), -0.25], k=2) == 2 * 2.0 ** -23
    assert common.rounding_bound([np.array([0.5, -0.25]), -0.25]) == common.CANCELLING_SUM_K * 2.0 ** -23
    # KL(N(1, 1) || N(0, 1)) = 0.5, from the parts 0 (log ratio), (1 + 1) / 2 = 1 and -0.5.
    terms = common.gaussian_kl_terms(np.array([1.0]), np.array([0.0]))
    assert [float(t[0]) for t in terms] == [0.0, 1.0, -0.5]
    assert common.sum_terms(terms) == 0.5
    assert common.rounding_bound(terms, k=1) == 1.5 * 2.0 ** -23


def test_cancelling_sum_accepts_float32_rounding_and_rejects_100x_the_bound():
    """~1000 terms of order 1 that cancel to a total of ~1e-3 (like a KL of nearly equal Gaussians)."""
    rng = np.random.RandomState(0)
    a = rng.uniform(0.5, 2.0, size=1000)
    delta = rng.uniform(0.0, 2e-6, size=1000)
    terms = [a, -(a - delta)]
    exact = float(np.sum(delta))  # the float64 total, ~1e-3
    assert abs(common.sum_terms(terms) - exact) < 1e-12
    as32 = [t.astype(np.float32) for t in terms]
    float32_value = float(np.sum(as32[0] + as32[1], dtype=np.float32))
    bound = common.rounding_bound(terms)
    assert 0 < abs(float32_value - exact) <= bound  # float32 really is off, and within the bound
    assert abs(float32_value - exact) / exact > 1e-4  # which a 1e-4 relative tolerance would have failed

    lines = []
    report = common.CaseReport("sum", lines.append)
    ok = report.cancelling_sum("sum_float32", float32_value, exact, terms)
    bad = report.cancelling_sum("sum_off_by_100x", exact + 100 * bound, exact, terms)
    assert ok.passed and not bad.passed
    assert re.match(r"  ok   loss      sum_float32: max_abs=\S+ max_rel=\S+ tol_abs=\S+  \[cancelling sum: "
                    r"\|error\| <= k\*eps32\*sum\|terms\| = 2\*", lines[0]), lines[0]
    assert lines[1].startswith("  FAIL loss      sum_off_by_100x")


# Finding cases by layout ---------------------------------------------------------------------------------------

def test_layout_cases_by_any_name_and_incomplete_ones(tmp_path):
    layouts = (common.Layout("model", "*_meta.json", companions=("{stem}_inputs.npz",), exclude=("skip_meta.json",)),
               common.Layout("misc", "misc.npz", companions=(("*.index", "a checkpoint"),)))
    (tmp_path / "any_name_meta.json").write_text("{}")
    (tmp_path / "any_name_inputs.npz").write_text("")
    (tmp_path / "lonely_meta.json").write_text("{}")
    (tmp_path / "skip_meta.json").write_text("{}")
    cases = common.find_layout_cases(tmp_path, layouts)
    assert [(c.name, c.kind, c.missing) for c in cases] == [("any_name", "model", ()),
                                                            ("lonely", "model", ("lonely_inputs.npz",))]
    assert cases[0].file("{stem}_inputs.npz") == tmp_path / "any_name_inputs.npz"
    assert [c.name for c in common.find_layout_cases(tmp_path / "any_name_inputs.npz", layouts)] == ["any_name"]
    folder = tmp_path / "sub" / "whatever"
    folder.mkdir(parents=True)
    (folder / "misc.npz").write_text("")
    [misc] = common.find_layout_cases(tmp_path / "sub", layouts)
    assert (misc.name, misc.missing) == ("whatever", ("a file matching *.index (a checkpoint)",))
    assert "missing: a file matching *.index (a checkpoint)" in misc.missing_text()


def test_mspred_case_under_another_name_is_found_and_passes(golden_dir, tmp_path, capsys):
    source = _paper_dir(golden_dir, "mspred")
    for path in sorted(source.glob("conv_small_*")):
        os.symlink(path, tmp_path / path.name.replace("conv_small_", "conv_other_"))
    code, out, err = _run(capsys, "mspred", tmp_path)
    assert code == 0, out[-3000:] + err
    assert re.search(r"^case conv_other: PASS \(\d+ checks", out, re.M), out[-3000:]
    assert "== mspred: 1/1 cases passed" in out and "FAIL" not in out
    assert re.search(r"ok   loss      train_loss_kl: .* tol_abs=\S+  \[cancelling sum: \|error\| <= k\*eps32", out)
    assert "ok   loss      train_loss_kl float64 formula vs NumPy float64 of the port's mu/logvar" in out


def test_mspred_incomplete_case_fails_on_one_line_naming_the_missing_file(golden_dir, tmp_path, capsys):
    source = _paper_dir(golden_dir, "mspred")
    for path in sorted(source.glob("linear_small_*")):
        if not path.name.endswith("_grads.npz"):
            os.symlink(path, tmp_path / path.name.replace("linear_small_", "lin_other_"))
    (tmp_path / "lonely_meta.json").write_text("{}")
    code, out, err = _run(capsys, "mspred", tmp_path)
    assert code == 1, out + err
    failures = [line for line in out.splitlines() if "FAIL" in line and "case files complete" in line]
    assert len(failures) == 2, out
    assert "missing: lin_other_grads.npz" in failures[0]
    assert "missing: lonely_inputs.npz; lonely_outputs.npz" in failures[1]
    assert "case lin_other: FAIL (1 checks, 1 failed)" in out and "== mspred: 0/2 cases passed" in out


def test_e3d_case_folders_under_other_names_are_found_and_pass(golden_dir, tmp_path, capsys):
    source = _paper_dir(golden_dir, "e3d")
    os.symlink(source / "original_e3d_lstm", tmp_path / "my_recording")
    os.symlink(source / "misc", tmp_path / "helpers_recorded")
    code, out, err = _run(capsys, "e3d", tmp_path)
    assert code == 0, out[-3000:] + err
    assert re.search(r"^case my_recording: PASS", out, re.M) and re.search(r"^case helpers_recorded: PASS", out, re.M)
    assert "== e3d: 2/2 cases passed" in out


def test_e3d_incomplete_case_folder_names_the_missing_file(golden_dir, tmp_path, capsys):
    source = _paper_dir(golden_dir, "e3d") / "e3d_lstm_add"
    case = tmp_path / "no_checkpoint"
    case.mkdir()
    for name in ("golden.npz", "config.json"):
        os.symlink(source / name, case / name)
    code, out, err = _run(capsys, "e3d", case)
    assert code == 1, out + err
    [line] = [line for line in out.splitlines() if "FAIL" in line and "case files complete" in line]
    assert "missing: a file matching *.index (the TF1 checkpoint's index)" in line


@pytest.mark.parametrize("change", ["extra outside the model scope", "extra inside the model scope", "missing"])
def test_e3d_checkpoint_file_must_hold_exactly_the_model_variables(golden_dir, tmp_path, capsys, change):
    import tensorflow as tf

    from vidpred_tf.convert.tf1 import write_tf1_checkpoint

    source = _paper_dir(golden_dir, "e3d") / "original_e3d_lstm"
    case = tmp_path / "edited_checkpoint"
    case.mkdir()
    for name in ("golden.npz", "config.json"):
        shutil.copy(source / name, case / name)
    reader = tf.train.load_checkpoint(str(source / "model.ckpt"))
    values = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    if change == "extra outside the model scope":  # the converter skips it: only the file check sees it
        values["extra_variable"] = np.zeros((3,), np.float32)
        expected = "1 in the file but not in the model: ['extra_variable']"
    elif change == "extra inside the model scope":
        values["generator/e3d-lstm/extra/kernel"] = np.zeros((3,), np.float32)
        expected = "1 in the file but not in the model: ['generator/e3d-lstm/extra/kernel']"
    else:
        dropped = sorted(values)[0]
        del values[dropped]
        expected = f"1 of the model missing from the file: [{dropped!r}]"
    write_tf1_checkpoint(str(case / "model.ckpt"), values)

    code, out, err = _run(capsys, "e3d", case)
    assert code == 1, out[-3000:] + err
    [line] = [line for line in out.splitlines() if "checkpoint file holds exactly the model's variables" in line]
    assert line.startswith("  FAIL condition") and expected in line, line
