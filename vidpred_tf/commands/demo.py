"""``vidpred demo [--out DIR] [--minutes M] ...``: the package's demo (``python -m vidpred_tf.demo``), the entry
point ``demo`` of :mod:`vidpred_tf.papers.baseline`."""

from __future__ import annotations

from typing import Sequence

from vidpred_tf.commands.common import run_absl_main
from vidpred_tf.papers import get_paper

DESCRIPTION = "build Moving MNIST, train a small predictor for a few minutes, predict, evaluate, draw"


def main(argv: Sequence[str], prog: str = "vidpred demo") -> int:
    return run_absl_main(get_paper("baseline").entry_point("demo"), argv, prog=prog)
