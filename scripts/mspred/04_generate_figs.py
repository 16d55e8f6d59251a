"""MSPred ``04_generate_figs.py``: the original's command line. Its flags and workflow are
:mod:`vidpred_tf.papers.mspred.scripts.generate_figs`; this file runs it.

    python scripts/mspred/04_generate_figs.py -d experiments/TestExp/exp_kth/ --checkpoint checkpoint_epoch_final.pth
"""

import os
import sys

if __name__ == "__main__":
    # Runs from a source checkout without installing the package.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from vidpred_tf import cli
    from vidpred_tf.papers.mspred.scripts.generate_figs import main

    cli.run(main)  # one-line errors: bad input and usage exit 2, training faults 1
