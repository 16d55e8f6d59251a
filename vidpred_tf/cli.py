"""Command-line helpers shared by the paper scripts."""

from __future__ import annotations

import sys
from typing import List, Sequence

from absl import flags

_BOOLEAN_WORDS = ("true", "false", "t", "f", "1", "0")


def rewrite_spaced_booleans(argv: Sequence[str], flag_values: flags.FlagValues = flags.FLAGS) -> List[str]:
    """``--bool_flag True`` -> ``--bool_flag=True`` for the boolean flags of ``flag_values``.

    The original TF1 scripts pass booleans as two words (``--layer_norm True``); absl reads ``--layer_norm``
    alone as True and leaves the word behind as a positional argument, so ``--flag False`` silently meant True.
    Reading the pair as one assignment is what the scripts' authors meant.
    """
    rewritten, index = [argv[0]] if argv else [], 1
    while index < len(argv):
        arg = argv[index]
        name = arg[2:] if arg.startswith("--") and "=" not in arg else None
        if (name and name in flag_values and flag_values[name].boolean and index + 1 < len(argv)
                and argv[index + 1].lower() in _BOOLEAN_WORDS):
            rewritten.append(f"--{name}={argv[index + 1]}")
            index += 2
            continue
        rewritten.append(arg)
        index += 1
    return rewritten


def parse_flags(argv: Sequence[str]) -> List[str]:
    """``flags_parser`` for ``absl.app.run`` that accepts the originals' spaced booleans.

    A bad flag value ends the program with absl's one-line message (``FATAL Flags parsing error: ...``), not a
    traceback, as absl's own parser does.
    """
    try:
        return flags.FLAGS(rewrite_spaced_booleans(list(argv)))
    except flags.Error as error:
        sys.stderr.write(f"FATAL Flags parsing error: {error}\nPass --helpshort or --helpfull to see help on flags.\n")
        sys.exit(1)


def run(main, prog: "str | None" = None) -> None:
    """``absl.app.run(main)`` for the package's scripts, with :func:`parse_flags` and the package's one handler of
    bad input: an :class:`vidpred_tf.errors.InputError` (or a missing file, or a full disk) raised by ``main``
    ends the program with one line ``PROG: error: MESSAGE`` on stderr and exit status 2, not a traceback.
    ``prog`` defaults to the script's file name."""
    import os

    from absl import app

    from vidpred_tf.errors import call_reporting_errors

    name = prog or os.path.basename(sys.argv[0] or "vidpred")

    def reporting_main(argv):
        status = call_reporting_errors(name, main, argv)
        if status:
            sys.exit(status)

    app.run(reporting_main, flags_parser=parse_flags)
