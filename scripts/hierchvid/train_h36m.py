"""hierchvid ``imggen_src/train_h36m.py``: the original's command line. Its flags and workflow are
:mod:`vidpred_tf.papers.hierchvid.train_imggen` with ``--dataset=h36m`` (the default here); this file runs it.

Importing this file (``runpy.run_path``) defines the flags and ``main`` without running it.
"""

import os
import sys

# Runs from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from absl import flags  # noqa: E402

from vidpred_tf import cli  # noqa: E402
from vidpred_tf.papers.hierchvid import options, train_imggen  # noqa: E402
from vidpred_tf.papers.hierchvid.train_imggen import FLAGS, main  # noqa: E402

flags.adopt_module_key_flags(train_imggen)  # --helpshort lists them
options.set_dataset(FLAGS, "h36m", "train_imggen")

if __name__ == "__main__":
    cli.run(main)  # one-line errors: bad input and usage exit 2, training faults 1
