"""``vidpred demo [--out DIR] [--minutes M] ...``: the package's demo (``python -m vidpred_tf.demo``)."""

from __future__ import annotations

import sys
from typing import Sequence

from vidpred_tf.commands.common import USAGE_ERROR, import_tensorflow_quietly

DESCRIPTION = "build Moving MNIST, train a small predictor for a few minutes, predict, evaluate, draw"


def main(argv: Sequence[str], prog: str = "vidpred demo") -> int:
    from absl import app, flags

    from vidpred_tf import demo

    if any(arg in ("-h", "--help", "--helpshort", "--helpfull") for arg in argv):
        # absl would print the docstring of __main__ (this dispatcher) and exit with 1; show the demo's own.
        print(f"usage: {prog} [--flag=value ...]\n\n{demo.__doc__.strip()}\n\nflags:")
        print(flags.FLAGS.module_help(demo))
        return 0

    def parse(args):
        try:
            remaining = flags.FLAGS(args)
        except flags.Error as err:
            print(f"{prog}: error: {err}\nPass --helpshort to see the flags.", file=sys.stderr)
            sys.exit(USAGE_ERROR)
        import_tensorflow_quietly()  # after the flags parsed: a usage error comes at once
        return remaining

    from vidpred_tf.cli import one_line_errors

    app.run(one_line_errors(demo.main, prog=prog), argv=[prog, *argv], flags_parser=parse)
    return 0
