"""Fixtures shared by the MSPred tests: the MSPred goldens, found through the session's ``golden_dir`` root."""

import os

import pytest


@pytest.fixture(scope="session")
def golden_mspred_dir(golden_dir):
    """``<golden root>/mspred``; missing, it fails the test when $VIDPRED_GOLDEN_DIR was set, else skips it."""
    path = golden_dir / "mspred"
    if not path.is_dir():
        stop = pytest.fail if "VIDPRED_GOLDEN_DIR" in os.environ else pytest.skip
        stop(f"the goldens at {golden_dir} have no mspred/ folder")
    return path
