"""The papers of the port, found by convention: every package ``vidpred_tf.papers.<name>`` is one paper.

A paper's package holds its workflow (training and evaluation entry points, experiment folders, checkpoint
I/O, figures, its ``vidpred predict`` adapter, its golden checks) and, in its ``__init__.py``, one descriptor::

    PAPER = Paper(name="e3d", original="kevinstan/video_prediction", description="...",
                  entry_points={"train": "vidpred_tf.papers.e3d.run:main"},
                  predictor="vidpred_tf.papers.e3d.predictor", converter="vidpred_tf.convert.e3d",
                  golden="vidpred_tf.papers.e3d.golden", datasets=("vidpred_tf.data.kth.e3d_frames",))

The paper's computation (configuration, networks, losses, its ``Task``) lives apart, in
``vidpred_tf/models/<name>/``. ``vidpred train``, ``vidpred list``, ``vidpred convert``, the predictor registry
(``vidpred predict`` / ``evaluate``), the dataset registry and ``python -m vidpred_tf.golden`` read the
descriptors; adding a paper is adding its package, no central list changes. The descriptor names modules as
strings so that reading it imports no TensorFlow.

What the named modules provide:

* an entry point ``"module:function"``: an absl ``main(argv)``, the module defining the script's flags;
* ``predictor``: ``detect(path) -> bool``, ``load(path) -> Predictor`` and ``MODELS`` (the model names served);
* ``converter``: ``load(model, path)``, ``export(model, path)`` and ``main(argv)``
  (the contract of :mod:`vidpred_tf.convert`);
* ``golden``: ``find_cases(path)`` and ``check_case(case, report)`` (:mod:`vidpred_tf.golden`);
* ``datasets``: modules that register dataset readers with :func:`vidpred_tf.data.registry.register_reader`
  when imported, beyond those of ``vidpred_tf.data`` (which are all found by walking that package).

Packages under a ``vidpred_tf/papers`` folder of any ``sys.path`` entry are papers too (``pkgutil.extend_path``):
a paper can be added from outside the installed package, as the tests do with a fake one.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Callable, Dict, Mapping, Optional, Tuple

from vidpred_tf.errors import InputError

__path__ = pkgutil.extend_path(__path__, __name__)  # noqa: F821 - set by the import system for a package


@dataclasses.dataclass(frozen=True)
class Paper:
    """What the rest of the package needs to know of one paper (see the module docstring).

    Attributes:
      name: short name, the package's name (``vidpred train --paper NAME``, ``vidpred list``, the golden command).
      original: the original repository (``owner/name`` on GitHub).
      description: one line, what the paper's code is.
      entry_points: script name (as in the original) -> ``"module:function"``; ``"train"`` is what
        ``vidpred train --paper NAME`` runs.
      predictor, converter, golden: module names, or ``None`` when the port has none.
      datasets: modules registering the paper's own dataset readers (outside ``vidpred_tf.data``).
      original_paper: False for the package's own baseline models (the demo's), which port no paper.
    """

    name: str
    original: str
    description: str
    entry_points: Mapping[str, str] = dataclasses.field(default_factory=dict)
    predictor: Optional[str] = None
    converter: Optional[str] = None
    golden: Optional[str] = None
    datasets: Tuple[str, ...] = ()
    original_paper: bool = True

    def entry_point(self, script: str) -> Callable:
        """The function of entry point ``script``; ``InputError`` when the paper has none of that name, and an
        ``ImportError`` naming the module when the descriptor points at one that does not exist."""
        if script not in self.entry_points:
            raise InputError(f"paper {self.name} has no entry point {script!r} (it has: "
                             f"{', '.join(self.entry_points) or 'none'})")
        module_name, _, function = self.entry_points[script].partition(":")
        module = _import_named(module_name, f"entry point {script!r} of paper {self.name}")
        if not hasattr(module, function or "main"):
            raise ImportError(f"entry point {script!r} of paper {self.name}: {module_name} has no "
                              f"function {function or 'main'!r}")
        return getattr(module, function or "main")

    def module(self, part: str):
        """The imported module of ``predictor``, ``converter`` or ``golden`` (``None`` when the paper has none)."""
        module_name = getattr(self, part)
        return None if module_name is None else _import_named(module_name, f"{part} of paper {self.name}")


def _import_named(module_name: str, what: str):
    """Import ``module_name``; a descriptor naming a module that is not there is an error saying which
    descriptor field names it (a typo must not silently drop a part of a paper)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise ImportError(f"{what} names module {module_name}, which does not exist") from err
        raise


def paper_names() -> Tuple[str, ...]:
    """Names of the paper packages, sorted; imports nothing."""
    return tuple(sorted({info.name for info in pkgutil.iter_modules(__path__) if info.ispkg}))


def all_papers() -> Dict[str, Paper]:
    """Name -> descriptor of every paper package (imports only the packages' ``__init__`` files)."""
    return {name: get_paper(name) for name in paper_names()}


def get_paper(name: str) -> Paper:
    """The descriptor of paper ``name``; ``InputError`` listing the papers when there is none of that name, and
    an error naming the package when it has no proper ``PAPER`` descriptor."""
    if name not in paper_names():
        raise InputError(f"unknown paper {name!r}; papers: {', '.join(paper_names()) or '(none)'}")
    package = importlib.import_module(f"{__name__}.{name}")
    paper = getattr(package, "PAPER", None)
    if not isinstance(paper, Paper):
        raise TypeError(f"{package.__name__} ({package.__file__}) defines no PAPER = Paper(...) descriptor")
    if paper.name != name:
        raise ValueError(f"{package.__name__}: its descriptor says name={paper.name!r}; it must be {name!r}")
    return paper
