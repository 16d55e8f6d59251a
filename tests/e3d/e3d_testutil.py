"""Helpers shared by the e3d tests: where the goldens are, and small model configs."""

import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def golden_e3d_dir() -> pathlib.Path:
    """``$VIDPRED_GOLDEN_DIR/e3d`` (a missing directory then fails the test), else ``<repo>/../shared/golden/e3d``
    (skipped when absent)."""
    if "VIDPRED_GOLDEN_DIR" in os.environ:
        root = pathlib.Path(os.environ["VIDPRED_GOLDEN_DIR"])
        if not (root / "e3d").is_dir():
            pytest.fail(f"VIDPRED_GOLDEN_DIR={root} has no e3d/ folder")
        return root / "e3d"
    root = REPO_ROOT.parent / "shared" / "golden" / "e3d"
    if not root.is_dir():
        pytest.skip(f"no e3d goldens at {root}")
    return root


def subprocess_env() -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env
