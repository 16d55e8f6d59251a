"""``vidpred train --paper NAME [ARGS]``: run the paper's own absl training script with ARGS passed through."""

from __future__ import annotations

import subprocess
import sys
from typing import List, Optional, Sequence, Tuple

from vidpred_tf.commands.common import report_error, repo_root

DESCRIPTION = "train a paper's model with its own script and flags (--paper NAME, the rest passed through)"

# Paper -> its training script, relative to the source checkout.
PAPER_SCRIPTS = {
    "e3d": "scripts/e3d/run.py",
    "mspred": "scripts/mspred/02_train.py",
}

HELP = """\
usage: {prog} --paper NAME [ARGS...]

Runs the training script of paper NAME with ARGS unchanged, so every original README command works:
  {prog} --paper e3d --flagfile=flags/e3d/e3d_lstm_mm_train.flags --train_data_paths ...
  {prog} --paper mspred ...
`{prog} --paper NAME --help` shows the script's own flags.

papers: {papers}
"""


def split_paper(argv: Sequence[str]) -> Tuple[Optional[str], List[str]]:
    """``(--paper value, the other arguments)``; ``--paper NAME`` and ``--paper=NAME`` anywhere in argv."""
    rest, paper, index = [], None, 0
    argv = list(argv)
    while index < len(argv):
        arg = argv[index]
        if arg == "--paper" and index + 1 < len(argv) and paper is None:
            paper = argv[index + 1]
            index += 2
            continue
        if arg.startswith("--paper=") and paper is None:
            paper = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        index += 1
    return paper, rest


def main(argv: Sequence[str], prog: str = "vidpred train") -> int:
    paper, rest = split_paper(argv)
    if paper is None:
        if any(arg in ("-h", "--help", "--helpshort", "--helpfull") for arg in rest):  # absl's spellings too
            print(HELP.format(prog=prog, papers=", ".join(PAPER_SCRIPTS)))
            return 0
        return report_error(prog, f"--paper is required (one of {', '.join(PAPER_SCRIPTS)}); see {prog} --help")
    if paper not in PAPER_SCRIPTS:
        return report_error(prog, f"--paper={paper!r} has no training script; papers: {', '.join(PAPER_SCRIPTS)}")
    script = repo_root() / PAPER_SCRIPTS[paper]
    if not script.is_file():
        return report_error(prog, f"--paper={paper}: its training script {script} is missing (vidpred train runs "
                                  f"the scripts of the source checkout: install it with pip install -e)")
    return subprocess.call([sys.executable, str(script), *rest])
