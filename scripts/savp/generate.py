"""SAVP ``generate.py``: sample predictions from a checkpoint, write GIFs and PNGs. Its flags and workflow are
:mod:`vidpred_tf.papers.savp.generate`; this file runs it.

    python scripts/savp/generate.py --flagfile=flags/savp/generate_bair_action_free_ours_vae_gan.flags

Importing this file (``runpy.run_path``) defines the flags and ``main`` without running it.
"""

import os
import sys

# Runs from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from vidpred_tf.quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines

from vidpred_tf import cli  # noqa: E402
from vidpred_tf.papers.savp.generate import main  # noqa: E402

if __name__ == "__main__":
    cli.run(main)  # one-line errors: bad input and usage exit 2
