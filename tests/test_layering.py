"""The package's layers, read from the source: every import of every module (those inside functions too) goes to
the same layer or a lower one, and no group of modules imports itself round in a loop.

Layers, lowest first (README, section "Layout"):

0. base: ``errors``, ``hparams``, ``fileio``, ``quiet``, ``manifest``, ``checkpoint_check`` and the paper
   discovery ``vidpred_tf.papers`` (its ``__init__`` only);
1. ``layers``, ``data``, ``viz``, ``metrics``, the preset registry ``presets`` (its ``__init__``);
2. ``training`` (the loop, strategies, checkpoints, summaries);
3. ``models`` (a paper's computation; a paper's models import no other paper's);
4. ``convert`` (original checkpoints in and out);
5. ``inference`` (the predictor registry, video in and out) and ``evaluation``;
6. the workflows and front ends: ``papers.<name>.*``, ``golden``, ``commands``, ``cli``, ``demo``, the preset tools
   ``presets.check`` / ``presets.export``.

The registries of layers 0-5 reach the papers' modules only through the descriptors, by name (``importlib``),
never by an import statement.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "vidpred_tf"

# Most specific prefix first wins.
LAYERS = (
    ("vidpred_tf.presets.check", 6), ("vidpred_tf.presets.export", 6), ("vidpred_tf.presets", 1),
    ("vidpred_tf.papers.", 6), ("vidpred_tf.papers", 0),
    ("vidpred_tf.errors", 0), ("vidpred_tf.hparams", 0), ("vidpred_tf.fileio", 0), ("vidpred_tf.quiet", 0),
    ("vidpred_tf.manifest", 0), ("vidpred_tf.checkpoint_check", 0),
    ("vidpred_tf.layers", 1), ("vidpred_tf.data", 1), ("vidpred_tf.viz", 1), ("vidpred_tf.metrics", 1),
    ("vidpred_tf.training", 2), ("vidpred_tf.models", 3), ("vidpred_tf.convert", 4),
    ("vidpred_tf.inference", 5), ("vidpred_tf.evaluation", 5),
    ("vidpred_tf.golden", 6), ("vidpred_tf.commands", 6), ("vidpred_tf.cli", 6), ("vidpred_tf.demo", 6),
)


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix if prefix.endswith(".") else prefix + "."):
            return layer
    if module == "vidpred_tf":
        return 0
    raise AssertionError(f"module {module} is in no layer: add it to LAYERS (and to README's layout)")


def imports_of(module: str):
    """``(line, imported vidpred_tf module)`` of every import statement of ``module``, wherever it stands."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            # ``from pkg import name`` imports the module pkg.name when there is one, else pkg.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES and "." in name:
                name = name.rsplit(".", 1)[0]  # ``import vidpred_tf.data.registry as r`` and the like
            if name in MODULES and name.startswith("vidpred_tf") and name != module:
                found.append((node.lineno, name))
    return found


GRAPH = {module: sorted({name for _, name in imports_of(module)}) for module in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_import_goes_to_a_higher_layer():
    upward = [f"{module}:{line} imports {name} (layer {layer_of(module)} -> {layer_of(name)})"
              for module in MODULES for line, name in imports_of(module) if layer_of(name) > layer_of(module)]
    assert not upward, "\n".join(upward)


def test_a_papers_models_import_no_other_papers_models():
    crossing = []
    for module in MODULES:
        if module.startswith("vidpred_tf.models."):
            paper = module.split(".")[2]
            crossing += [f"{module}:{line} imports {name}" for line, name in imports_of(module)
                         if name.startswith("vidpred_tf.models.") and name.split(".")[2] != paper]
    assert not crossing, "\n".join(crossing)


def strongly_connected(graph):
    """Tarjan's strongly connected components with more than one module (the import loops)."""
    index, low, stack, on_stack, loops, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return loops


def test_no_import_loop():
    assert strongly_connected(GRAPH) == []


def test_the_loop_finder_finds_a_loop():
    assert strongly_connected({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert strongly_connected({"a": ["b"], "b": []}) == []


@pytest.mark.parametrize("module, imported", [("vidpred_tf.models.e3d.model", "vidpred_tf.papers.e3d.run"),
                                              ("vidpred_tf.data.registry", "vidpred_tf.training.trainer")])
def test_the_layer_rule_refuses_an_upward_import(module, imported):
    assert layer_of(imported) > layer_of(module)
