"""EPVA ``prediction_train.py``: the original's command line. Its flags and workflow are
:mod:`vidpred_tf.papers.epva.prediction_train`; this file runs it.

    python scripts/epva/prediction_train.py --flagfile=flags/epva/train_human_epva_multi_gpu.flags \\
        --data_dir data/human --event_log_dir logs/human_epva

Importing this file (``runpy.run_path``, as the tests do) defines the flags and ``main`` without running it.
"""

import os
import sys

# Runs from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from vidpred_tf import cli  # noqa: E402
from vidpred_tf.papers.epva.prediction_train import main  # noqa: E402

if __name__ == "__main__":
    cli.run(main)  # one-line errors: bad input and usage exit 2, training faults 1
