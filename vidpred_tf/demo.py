"""``python -m vidpred_tf.demo`` (and the ``vidpred-demo`` console script): the main job,
:mod:`vidpred_tf.papers.baseline.demo`."""

import sys

from vidpred_tf.commands.demo import main


def run() -> None:
    """Console-script entry point."""
    sys.exit(main(sys.argv[1:], prog="vidpred demo"))


if __name__ == "__main__":
    run()
