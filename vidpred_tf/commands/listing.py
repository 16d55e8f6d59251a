"""``vidpred list [papers|models|datasets] [--json]``: what the package holds, read from its registries."""

from __future__ import annotations

import importlib.util
import json
from typing import Sequence

from vidpred_tf.commands.common import Parser, import_tensorflow_quietly, repo_root

DESCRIPTION = "list the papers, the models vidpred predict can load, and the registered datasets"

# Short name -> (original repository, what it is).
PAPERS = {
    "e3d": ("kevinstan/video_prediction", "Eidetic 3D LSTM study: 2D/3D cells, residual add/concat, l1/l2"),
    "savp": ("alexlee-gk/video_prediction", "SAVP and its ablations, SV2P, DNA/SNA"),
    "epva": ("brain-research/long-term-video-prediction-without-supervision", "Encoder-Predictor-VAN"),
    "hierchvid": ("rubenvillegas/icml2017hierchvid", "pose LSTM + image-analogy generator (Villegas et al. 2017)"),
    "mspred": ("AIS-Bonn/MSPred", "multi-scale hierarchical recurrent predictor and its baselines"),
}


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def papers() -> dict:
    """Per paper: the original and which parts of the port exist (training script, converter, goldens,
    predict adapter)."""
    from vidpred_tf.commands.train import PAPER_SCRIPTS

    table = {}
    for name, (original, what) in PAPERS.items():
        script = PAPER_SCRIPTS.get(name)
        table[name] = {
            "original": original, "description": what,
            "train_script": script if script and (repo_root() / script).is_file() else None,
            "converter": _module_exists(f"vidpred_tf.convert.{name}"),
            "golden": _module_exists(f"vidpred_tf.golden.{name}"),
            "predict": _module_exists(f"vidpred_tf.models.{name}.inference"),
        }
    return table


def models() -> dict:
    """Adapter name -> the models ``vidpred predict`` loads through it."""
    from vidpred_tf.inference import import_adapters

    return {name: list(entry.models) for name, entry in import_adapters().items()}


def datasets() -> dict:
    """Registered dataset reader -> its one-line description."""
    from vidpred_tf.data.registry import list_readers

    return list_readers()


def main(argv: Sequence[str], prog: str = "vidpred list") -> int:
    parser = Parser(prog, DESCRIPTION)
    parser.add_argument("what", nargs="?", choices=("papers", "models", "datasets", "all"), default="all")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(list(argv))
    if args.what != "papers":  # the model adapters and dataset readers import TensorFlow
        import_tensorflow_quietly()
    wanted = ("papers", "models", "datasets") if args.what == "all" else (args.what,)
    found = {what: {"papers": papers, "models": models, "datasets": datasets}[what]() for what in wanted}
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    if "papers" in found:
        print("papers:")
        for name, row in found["papers"].items():
            parts = [f"train: {row['train_script'] or '-'}"]
            parts += [f"{key}: {'yes' if row[key] else '-'}" for key in ("converter", "golden", "predict")]
            print(f"  {name:<10}{row['original']}  ({'; '.join(parts)})")
    if "models" in found:
        print("models (vidpred predict / evaluate):")
        for name, names in found["models"].items():
            print(f"  {name:<10}{', '.join(names) or '(any model of its experiments)'}")
    if "datasets" in found:
        print("datasets (vidpred evaluate --dataset):")
        for name, description in found["datasets"].items():
            print(f"  {name:<16}{description}")
    return 0
