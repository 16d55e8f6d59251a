"""Fixtures shared by the e3d tests: the e3d goldens, found through the session's ``golden_dir`` root."""

import os

import numpy as np
import pytest


@pytest.fixture(scope="session")
def golden_e3d_dir(golden_dir):
    """``<golden root>/e3d``. Missing: a failure when $VIDPRED_GOLDEN_DIR was set (as for the root), else a skip."""
    path = golden_dir / "e3d"
    if not path.is_dir():
        if "VIDPRED_GOLDEN_DIR" in os.environ:
            pytest.fail(f"VIDPRED_GOLDEN_DIR={golden_dir} has no e3d/ folder")
        pytest.skip(f"no e3d goldens at {path}")
    return path


@pytest.fixture(scope="session")
def misc(golden_e3d_dir):
    """The ``misc`` case: fake data files of both readers and the recordings of the original's helpers."""
    return golden_e3d_dir / "misc"


@pytest.fixture(scope="session")
def golden(misc):
    """The arrays of ``misc/misc_golden.npz``."""
    with np.load(misc / "misc_golden.npz") as archive:
        return {key: archive[key] for key in archive.files}
