"""``vidpred COMMAND [ARGS]``: dispatch to the subcommand modules of :mod:`vidpred_tf.commands`."""

from __future__ import annotations

import importlib
import sys
from typing import Optional, Sequence

from vidpred_tf.commands.common import USAGE_ERROR, quiet_tensorflow
from vidpred_tf.errors import call_reporting_errors

# Command -> module of vidpred_tf.commands, in the order --help lists them.
COMMANDS = {
    "demo": "demo",
    "train": "train",
    "predict": "predict",
    "evaluate": "evaluate",
    "convert": "convert",
    "golden": "golden",
    "list": "listing",
}


def _module(command: str):
    return importlib.import_module(f"vidpred_tf.commands.{COMMANDS[command]}")


def usage() -> str:
    lines = ["usage: vidpred COMMAND [ARGS]   (vidpred COMMAND --help for the arguments of one)", "",
             "The front door of vidpred_tf, TF2/Keras 3 ports of five video-prediction codebases.", "",
             "commands:"]
    for command in COMMANDS:
        lines.append(f"  {command:<10}{_module(command).DESCRIPTION}")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``vidpred`` with ``argv`` (without the program name); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else USAGE_ERROR
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"vidpred: error: unknown command {command!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return USAGE_ERROR
    quiet_tensorflow()  # the subcommands import TensorFlow (common.import_tensorflow_quietly) once their
    try:                # arguments parse, so help and usage errors come at once
        # Bad input (vidpred_tf.errors.InputError, a missing file, a full disk) is one line and status 2.
        prog = f"vidpred {command}"
        module = _module(command)
        return int(call_reporting_errors(prog, lambda: module.main(rest, prog=prog)) or 0)
    except SystemExit as stop:  # argparse and absl end with SystemExit; keep their status
        code = stop.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)  # sys.exit("message") means: print it, status 1
        return 1


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
