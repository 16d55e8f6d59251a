"""``vidpred golden NAME PATH``: check the port of paper NAME against the original's recorded outputs."""

from __future__ import annotations

from typing import Sequence

DESCRIPTION = "compare a port with the golden outputs of its original (python -m vidpred_tf.golden)"


def main(argv: Sequence[str], prog: str = "vidpred golden") -> int:
    from vidpred_tf.golden.__main__ import main as golden_main

    return int(golden_main(list(argv)) or 0)
