"""``vidpred list [papers|models|datasets|presets] [--json]``: what the package holds, read from its registries."""

from __future__ import annotations

import importlib.util
import json
from typing import Sequence

from vidpred_tf.commands.common import Parser, import_tensorflow_quietly, report_error, repo_root

DESCRIPTION = "list the papers, the models vidpred predict can load, the registered datasets and the presets"

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


def presets() -> dict:
    """Preset name -> version, paper, model, description and where it was found (``vidpred_tf.presets``; JSON
    files only, no TensorFlow)."""
    from vidpred_tf.presets import list_presets

    return list_presets()


SECTIONS = {"papers": papers, "models": models, "datasets": datasets, "presets": presets}


def main(argv: Sequence[str], prog: str = "vidpred list") -> int:
    from vidpred_tf.inference import InputError

    parser = Parser(prog, DESCRIPTION)
    parser.add_argument("what", nargs="?", choices=tuple(SECTIONS) + ("all",), default="all")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(list(argv))
    wanted = tuple(SECTIONS) if args.what == "all" else (args.what,)
    if {"models", "datasets"} & set(wanted):  # the model adapters and dataset readers import TensorFlow
        import_tensorflow_quietly()
    try:
        found = {what: SECTIONS[what]() for what in wanted}
    except InputError as err:  # a malformed preset.json
        return report_error(prog, str(err))
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
    if "presets" in found:
        print("presets (vidpred predict / evaluate --checkpoint preset:NAME):")
        if not found["presets"]:
            from vidpred_tf.presets import preset_roots

            print(f"  (none in {', '.join(str(root) for root, _ in preset_roots())})")
        for name, row in found["presets"].items():
            print(f"  {name:<22}{row['version']:<8}{row['paper']}/{row['model_name']}  {row['description']}  "
                  f"[{row['source']}: {row['path']}]")
    return 0
