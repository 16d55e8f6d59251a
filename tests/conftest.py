"""Test-session set-up shared by every test file.

The CPU is split into two logical devices before TensorFlow initialises, so that strategy tests can run a
MirroredStrategy over two replicas on a machine without GPUs; everything else uses the first device.
"""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite is CPU-only on every host: a GPU of the host (or a user's CUDA_VISIBLE_DEVICES) would change which
# device the one-device tests run on and their float rounding.
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def golden_root() -> pathlib.Path:
    """Where the goldens of the originals live: $VIDPRED_GOLDEN_DIR, else ../shared/golden beside the checkout."""
    return pathlib.Path(os.environ.get("VIDPRED_GOLDEN_DIR", REPO_ROOT.parent / "shared" / "golden"))


@pytest.fixture(scope="session")
def golden_dir() -> pathlib.Path:
    root = golden_root()
    if not root.is_dir():
        if "VIDPRED_GOLDEN_DIR" in os.environ:
            pytest.fail(f"VIDPRED_GOLDEN_DIR={root} does not exist")
        pytest.skip(f"no goldens at {root}")
    return root


@pytest.fixture(scope="session")
def mirrored_two_cpus() -> tf.distribute.MirroredStrategy:
    """One MirroredStrategy over the two logical CPUs for the whole session.

    Each MirroredStrategy numbers its collective ops from the same start, and the runtime caches a collective's
    shapes by that number: a second strategy over the same devices in one process then clashes with the first
    ("Shape mismatch in the collective instance"). Programs create one strategy; tests share one.
    """
    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
    assert len(devices) == 2, "conftest should have created two logical CPU devices"
    return tf.distribute.MirroredStrategy(devices)
