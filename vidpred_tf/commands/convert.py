"""``vidpred convert NAME [ARGS]``: run a checkpoint converter, a module with ``main(argv)``: the ``converter`` of a
paper's descriptor (:mod:`vidpred_tf.papers`) or any module of :mod:`vidpred_tf.convert` that has one (the
networks of the metrics, LPIPS and I3D)."""

from __future__ import annotations

import ast
import importlib
import pathlib
from typing import Dict, Sequence, Tuple

from vidpred_tf.commands.common import import_tensorflow_quietly, report_error
from vidpred_tf.papers import all_papers

DESCRIPTION = "convert original checkpoints into the port and back (python -m vidpred_tf.convert.NAME)"


def _module_summary(path: pathlib.Path) -> Tuple[bool, str]:
    """(defines ``main``, first line of the docstring) of a module's source, read without importing it (the
    converters import TensorFlow)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    has_main = any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)
    return has_main, (ast.get_docstring(tree) or "").strip().split("\n")[0]


def converters() -> Dict[str, Tuple[str, str]]:
    """Converter name -> (module, what it converts): the papers' converters under the paper's name, then the other
    modules of ``vidpred_tf.convert`` with a ``main``."""
    import vidpred_tf.convert as package

    found = {}
    for name, paper in all_papers().items():
        if paper.converter:
            found[name] = (paper.converter, f"{paper.original or name}: original checkpoints <-> port weights")
    named = {module for module, _ in found.values()}
    for path in sorted(pathlib.Path(package.__file__).parent.glob("*.py")):
        module = f"{package.__name__}.{path.stem}"
        has_main, summary = _module_summary(path)
        if has_main and module not in named and not path.stem.startswith("_"):
            found[path.stem] = (module, summary)
    return found


def usage(prog: str, table: Dict[str, Tuple[str, str]]) -> str:
    lines = [f"usage: {prog} NAME [ARGS...]   ({prog} NAME --help for the converter's arguments)", "",
             "converters:"]
    lines += [f"  {name:<8}{text}" for name, (_, text) in table.items()]
    return "\n".join(lines)


def main(argv: Sequence[str], prog: str = "vidpred convert") -> int:
    argv = list(argv)
    table = converters()
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(prog, table))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in table:
        return report_error(prog, f"unknown converter {name!r}; converters: {', '.join(table)}")
    import_tensorflow_quietly()
    return int(importlib.import_module(table[name][0]).main(rest) or 0)
