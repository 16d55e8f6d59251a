"""Fixtures shared by the e3d tests: the e3d goldens, found through the session's ``golden_dir`` root."""

import os

import numpy as np
import pytest


@pytest.fixture(scope="session")
def golden_e3d_dir(golden_dir):
    """``<golden root>/e3d``; the root fixture's rule one level down: missing, it fails the test when
    $VIDPRED_GOLDEN_DIR was set (a golden tree someone pointed at must be complete), else skips it."""
    path = golden_dir / "e3d"
    if not path.is_dir():
        stop = pytest.fail if "VIDPRED_GOLDEN_DIR" in os.environ else pytest.skip
        stop(f"the goldens at {golden_dir} have no e3d/ folder")
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
