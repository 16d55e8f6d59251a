"""``vidpred train --paper NAME [ARGS]``: run the training entry point of paper NAME with ARGS, its own flags."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from vidpred_tf.commands.common import report_error, run_absl_main
from vidpred_tf.papers import all_papers

DESCRIPTION = "train a paper's model with its own script and flags (--paper NAME, the rest passed through)"

HELP = """\
usage: {prog} --paper NAME [ARGS...]

Runs the training entry point of paper NAME (what its descriptor in vidpred_tf/papers/NAME names "train") with
ARGS unchanged, so every original README command works:
  {prog} --paper e3d --flagfile=flags/e3d/e3d_lstm_mm_train.flags --train_data_paths ...
  {prog} --paper mspred -d experiments/TestExp/exp_mmnist/
`{prog} --paper NAME --help` shows the entry point's own flags.

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


def trainable_papers() -> List[str]:
    return [name for name, paper in all_papers().items() if "train" in paper.entry_points]


def main(argv: Sequence[str], prog: str = "vidpred train") -> int:
    paper, rest = split_paper(argv)
    names = trainable_papers()
    if paper is None:
        if any(arg in ("-h", "--help", "--helpshort", "--helpfull") for arg in rest):  # absl's spellings too
            print(HELP.format(prog=prog, papers=", ".join(names)))
            return 0
        return report_error(prog, f"--paper is required (one of {', '.join(names)}); see {prog} --help")
    if paper not in names:
        return report_error(prog, f"--paper={paper!r} has no training entry point; papers: {', '.join(names)}")
    return run_absl_main(all_papers()[paper].entry_point("train"), rest, prog=f"{prog} --paper {paper}")
