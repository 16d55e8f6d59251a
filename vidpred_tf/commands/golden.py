"""``vidpred golden NAME PATH``: check the port of paper NAME against the original's recorded outputs."""

from __future__ import annotations

import pathlib
from typing import Sequence

DESCRIPTION = "compare a port with the golden outputs of its original (python -m vidpred_tf.golden)"


def main(argv: Sequence[str], prog: str = "vidpred golden") -> int:
    from vidpred_tf.commands.common import import_tensorflow_quietly, report_error
    from vidpred_tf.golden.__main__ import known_papers
    from vidpred_tf.golden.__main__ import main as golden_main

    argv = list(argv)
    positional = [arg for arg in argv if not arg.startswith("-")]
    if len(positional) == 2 and not {"-h", "--help"}.intersection(argv):
        # Usage errors first, in this command's name and before the slow TensorFlow import.
        name, path = positional
        if name not in known_papers():
            return report_error(prog, f"unknown paper {name!r}; papers with goldens: {', '.join(known_papers())}")
        if not pathlib.Path(path).exists():
            return report_error(prog, f"PATH {path} does not exist")
        import_tensorflow_quietly()
    return int(golden_main(argv) or 0)
