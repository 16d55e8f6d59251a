"""Alias of ``03_evaluate.py`` for the original README's usage line, which names ``src/3_evaluate.py``.

    python scripts/mspred/3_evaluate.py -d experiments/TestExp/exp_mmnist/ --checkpoint checkpoint_epoch_final.pth

The original repository has no ``3_evaluate.py`` (its README's usage section misspells ``03_evaluate.py``); this
file runs ``03_evaluate.py`` beside it as the main program, so flags, outputs and exit codes are the same.
"""

import os
import runpy

if __name__ == "__main__":
    runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "03_evaluate.py"), run_name="__main__")
