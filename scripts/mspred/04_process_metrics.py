"""MSPred ``04_process_metrics.py``: the original's command line. Its flags and workflow are
:mod:`vidpred_tf.papers.mspred.scripts.process_metrics`; this file runs it.

"""

import os
import sys

# Runs from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from absl import flags  # noqa: E402 - the imports need the path set above

from vidpred_tf import cli  # noqa: E402
from vidpred_tf.papers.mspred.scripts import process_metrics as script  # noqa: E402

main = script.main
# --help shows the script's own text and flags, as when they were written in this file.
__doc__ = script.__doc__
flags.adopt_module_key_flags(script)

if __name__ == "__main__":
    cli.run(main)  # one-line errors: bad input and usage exit 2, training faults 1
