"""``python -m vidpred_tf.golden NAME PATH``: check the port of paper NAME against recorded golden cases.

PATH is one case directory or a folder of cases (every case found in it is run). NAME is a paper whose
descriptor (:mod:`vidpred_tf.papers`) names a ``golden`` module, which provides ``find_cases(path)`` and
``check_case(case, report)``. Prints one
line per compared output / loss / gradient and a summary per case; exits 0 when every case is within
tolerance, 1 when one is not, 2 for a usage error (unknown NAME, missing PATH, no case in PATH).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from typing import List, Optional, Sequence

from vidpred_tf.golden.common import run_cases
from vidpred_tf.papers import all_papers
from vidpred_tf.quiet import import_tensorflow_quietly


def known_papers() -> List[str]:
    """Names of the papers with golden checks."""
    return [name for name, paper in all_papers().items() if paper.golden]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vidpred_tf.golden",
                                     description="Compare a port with the golden outputs of its original.")
    parser.add_argument("name", help="paper short name (" + ", ".join(known_papers()) + ")")
    parser.add_argument("path", help="one case directory or a folder holding several cases")
    args = parser.parse_args(argv)

    papers = known_papers()
    if args.name not in papers:
        print(f"error: unknown paper {args.name!r}; known: {', '.join(papers) or '(none)'}", file=sys.stderr)
        return 2
    path = pathlib.Path(args.path)
    if not path.exists():
        print(f"error: PATH {path} does not exist", file=sys.stderr)
        return 2
    import_tensorflow_quietly()  # no C++ start-up lines before the report
    module = all_papers()[args.name].module("golden")
    cases = list(module.find_cases(path))
    if not cases:
        print(f"error: no {args.name} golden case found in {path}", file=sys.stderr)
        return 2
    import tensorflow as tf

    # The goldens are float32 references; TensorFloat-32 matmuls/convs on recent GPUs would be ~1e-3 off.
    tf.config.experimental.enable_tensor_float_32_execution(False)
    return run_cases(args.name, cases, module.check_case)


if __name__ == "__main__":
    sys.exit(main())
