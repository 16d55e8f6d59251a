"""Helpers shared by the e3d tests that are not fixtures (those live in conftest.py)."""

import os
import pathlib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def subprocess_env() -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env
