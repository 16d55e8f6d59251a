"""The one golden command on every e3d case, as a user runs it."""

import re
import shutil
import subprocess
import sys

import numpy as np
from e3d_testutil import REPO_ROOT, subprocess_env

MODEL_CASES = ("original_e3d_lstm", "original_e3d_lstm_residuals", "e3d_lstm", "e3d_lstm_add", "e3d_lstm_concat")


def _run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "vidpred_tf.golden", *args], cwd=REPO_ROOT, env=subprocess_env(),
                          capture_output=True, text=True, timeout=timeout)


def test_every_e3d_case_passes(golden_e3d_dir):
    result = _run("e3d", str(golden_e3d_dir))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    reported = set(re.findall(r"^case (\S+): PASS", result.stdout, flags=re.M))
    assert reported == set(MODEL_CASES) | {"misc"}, result.stdout[-4000:]
    assert "FAIL" not in result.stdout
    assert "== e3d: 6/6 cases passed" in result.stdout
    # every recorded output and gradient got its own line with errors and a tolerance
    assert re.search(r"ok   output    gen_all: max_abs=\S+ max_rel=\S+ tol=1\.0e-04", result.stdout)
    assert re.search(r"grad generator/e3d-lstm/e3d0/conv3d_2/kernel is exactly zero", result.stdout)


def test_unknown_paper_and_empty_path_are_usage_errors(tmp_path):
    result = _run("no_such_paper", str(tmp_path))
    assert result.returncode == 2
    assert "unknown paper 'no_such_paper'" in result.stderr and "e3d" in result.stderr

    result = _run("e3d", str(tmp_path))
    assert result.returncode == 2
    assert f"no e3d golden case found in {tmp_path}" in result.stderr

    result = _run("e3d", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_a_perturbed_golden_fails_and_names_the_output(tmp_path, golden_e3d_dir):
    """A copy of one case whose recorded prediction and one gradient are off: exit 1, both named."""
    source = golden_e3d_dir / "original_e3d_lstm"
    case = tmp_path / "original_e3d_lstm"
    shutil.copytree(source, case)
    with np.load(source / "golden.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["gen_all"] = arrays["gen_all"] + 1e-3
    key = "grad_raw/generator/e3d-lstm/e3d1/conv3d_5/kernel"
    arrays[key] = arrays[key] * 1.01
    (case / "golden.npz").unlink()
    np.savez(case / "golden.npz", **arrays)

    result = _run("e3d", str(case))
    assert result.returncode == 1, result.stdout[-3000:]
    assert re.search(r"^  FAIL output    gen_all: max_abs=1\.0\d*e-03", result.stdout, flags=re.M), result.stdout
    assert re.search(r"^  FAIL gradient  grad generator/e3d-lstm/e3d1/conv3d_5/kernel", result.stdout, flags=re.M)
    assert "ok   output    gen_all_zero_flag" in result.stdout
    assert "case original_e3d_lstm: FAIL" in result.stdout
