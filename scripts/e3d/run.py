"""E3D-LSTM study ``run.py``: the original's command line. Its flags and workflow are
:mod:`vidpred_tf.papers.e3d.run`; this file runs it.

    python scripts/e3d/run.py --flagfile=flags/e3d/e3d_lstm_mm_train.flags --train_data_paths ...

Importing this file (``runpy.run_path``, as the tests do) defines the flags and ``main`` without running it.
"""

import os
import sys

# Runs from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from vidpred_tf import cli  # noqa: E402
from vidpred_tf.papers.e3d.run import main  # noqa: E402

if __name__ == "__main__":
    cli.run(main)  # one-line errors: bad input and usage exit 2, training faults 1
