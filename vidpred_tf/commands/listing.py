"""``vidpred list [papers|models|datasets|presets] [--json]``: what the package holds, read from its registries."""

from __future__ import annotations

import json
from typing import Sequence

from vidpred_tf.cli import Parser
from vidpred_tf.commands.common import import_tensorflow_quietly, report_error
from vidpred_tf.errors import InputError
from vidpred_tf.papers import all_papers

DESCRIPTION = "list the papers, the models vidpred predict can load, the registered datasets and the presets"

def papers() -> dict:
    """Per paper (its descriptor, :mod:`vidpred_tf.papers`): the original and which parts of the port it has."""
    table = {}
    for name, paper in all_papers().items():
        table[name] = {
            "original": paper.original or "(the package's own models)", "description": paper.description,
            "entry_points": sorted(paper.entry_points), "train": "train" in paper.entry_points,
            "converter": paper.converter is not None, "golden": paper.golden is not None,
            "predict": paper.predictor is not None,
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
            parts = [f"{key}: {'yes' if row[key] else '-'}" for key in ("train", "converter", "golden", "predict")]
            print(f"  {name:<10}{row['original']}  ({'; '.join(parts)})")
    if "models" in found:
        print("models (vidpred predict / evaluate):")
        for name, names in found["models"].items():
            print(f"  {name:<10}{', '.join(names) or '(any model of its experiments)'}")
    if "datasets" in found:
        print("datasets (vidpred evaluate --dataset):")
        for name, description in found["datasets"].items():
            print(f"  {name:<28}{description}")
    if "presets" in found:
        print("presets (vidpred predict / evaluate --checkpoint preset:NAME):")
        if not found["presets"]:
            from vidpred_tf.presets import preset_roots

            print(f"  (none in {', '.join(str(root) for root, _ in preset_roots())})")
        for name, row in found["presets"].items():
            print(f"  {name:<22}{row['version']:<8}{row['paper']}/{row['model_name']}  {row['description']}  "
                  f"[{row['source']}: {row['path']}]")
    return 0
