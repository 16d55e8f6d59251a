"""Reporting shared by every paper's golden check (``python -m vidpred_tf.golden NAME PATH``).

A paper module records checks on a ``CaseReport``; each check prints one line with the largest absolute error,
the largest relative error (relative to the largest magnitude of the expected values, so that entries near
zero do not dominate) and the tolerance that decides it:

=============  =====================================================  ======================
kind           passes when                                            default tolerance
=============  =====================================================  ======================
``output``     max |actual - expected| <= tol                         ``OUTPUT_TOL`` (1e-4)
``loss``       |actual - expected| / |expected| <= tol                ``LOSS_TOL`` (1e-4)
``gradient``   max |actual - expected| / max |expected| <= tol        ``GRADIENT_TOL`` (1e-3)
``bound``      a scalar error the paper module computed <= tol        given by the caller
(sum)          |actual - expected| <= k * eps32 * sum |terms|         ``CANCELLING_SUM_K`` (2)
``exact``      actual == expected everywhere                          -
``condition``  a boolean the paper module computed                    -
``info``       always (informational line, e.g. a racy original)      -
=============  =====================================================  ======================

A paper module may pass other tolerances when its case README says so.

Cancelling sums (a KL of nearly equal Gaussians: many terms of order 1 that cancel to a small total) are
held to the float32 rounding of their terms, ``rounding_bound(terms) = k * eps32 * sum |terms|``
(``CaseReport.cancelling_sum``), never to a relative tolerance of the small total; the paper module must
also check the formula itself in float64 (``LOSS64_TOL``, 1e-6 relative).

Cases are found by their file layout, never by their name (``Layout``, ``find_layout_cases``): a case is an
anchor file (``<case>_meta.json``, ``golden.npz``...) with its companions; a case whose companion is missing
is still returned and fails with one line naming the missing file (``run_cases``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import pathlib
import traceback
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

OUTPUT_TOL = 1e-4
LOSS_TOL = 1e-4
GRADIENT_TOL = 1e-3
# Cancelling sums: k * eps32 * sum |terms|. Each term is a few float32 operations (exp, log, square, a
# division: about eps32/2 each, relative to the term's parts) and the reduction adds its own rounding; k = 2
# is the stated allowance. The public MSPred cases reach <= 0.04 * eps32 * sum |terms|.
EPS32 = float(np.finfo(np.float32).eps)
CANCELLING_SUM_K = 2.0
# A float64 recomputation of a formula from the same inputs: no cancellation excuse.
LOSS64_TOL = 1e-6


def rounding_bound(terms: Iterable, k: float = CANCELLING_SUM_K, eps: float = EPS32) -> float:
    """``k * eps * sum |terms|`` (in float64): the error float32 rounding of the terms of a sum allows.

    ``terms`` is an iterable of arrays (or scalars) whose elements, summed, give the quantity: pass the
    parts *before* they cancel (e.g. for a Gaussian KL ``0.5 * (logvar2 - logvar1)``, ``var1 / (2 var2)`` and
    ``-0.5`` per element, each already multiplied by any normalisation such as 1 / batch)."""
    total = 0.0
    for term in terms:
        total += float(np.sum(np.abs(np.asarray(term, dtype=np.float64))))
    return float(k) * float(eps) * total


@dataclasses.dataclass
class Check:
    name: str
    kind: str
    passed: bool
    max_abs: float = 0.0
    max_rel: float = 0.0
    tol: Optional[float] = None
    detail: str = ""
    criterion: str = ""  # "abs" when a loss is held to an absolute bound (cancelling sums)

    @property
    def error(self) -> float:
        """The quantity compared with the tolerance (for ranking the worst check of a case)."""
        if self.kind == "output":
            return self.max_abs
        if self.kind in ("loss", "gradient", "bound"):
            return self.max_rel
        return 0.0 if self.passed else float("inf")

    def line(self) -> str:
        status = "ok  " if self.passed else "FAIL"
        if self.kind in ("output", "loss", "gradient", "exact"):
            text = (f"{status} {self.kind:<9} {self.name}: max_abs={self.max_abs:.3e} max_rel={self.max_rel:.3e}")
            if self.tol is None:
                text += " (must be equal)"
            elif self.criterion == "abs" and self.kind != "output":
                text += f" tol_abs={self.tol:.2e}"
            else:
                text += f" tol={self.tol:.1e}"
        elif self.kind == "bound":
            text = f"{status} {self.kind:<9} {self.name}: error={self.max_rel:.3e} tol={self.tol:.1e}"
        else:
            text = f"{status} {self.kind:<9} {self.name}"
        if self.detail:
            text += f"  [{self.detail}]"
        return text


def _errors(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"shape {actual.shape} differs from the golden {expected.shape}")
    if actual.size == 0:
        return 0.0, 0.0, 0.0
    diff = np.abs(actual - expected)
    max_abs = float(np.max(diff)) if np.all(np.isfinite(diff)) else float("inf")
    scale = float(np.max(np.abs(expected)))
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    return max_abs, max_rel, scale


class CaseReport:
    """Checks of one case; ``print_fn`` receives one line per check."""

    def __init__(self, case: str, print_fn: Callable[[str], None] = print):
        self.case = case
        self.checks: List[Check] = []
        self.print_fn = print_fn

    def _add(self, check: Check) -> Check:
        self.checks.append(check)
        self.print_fn("  " + check.line())
        return check

    def _compare(self, name, kind, actual, expected, tol, criterion, detail="") -> Check:
        try:
            max_abs, max_rel, _ = _errors(actual, expected)
        except ValueError as err:
            return self._add(Check(name, kind, False, float("inf"), float("inf"), tol, str(err)))
        value = max_abs if criterion == "abs" else max_rel
        return self._add(Check(name, kind, bool(value <= tol), max_abs, max_rel, tol, detail, criterion))

    def output(self, name: str, actual, expected, tol: float = OUTPUT_TOL, detail: str = "") -> Check:
        return self._compare(name, "output", actual, expected, tol, "abs", detail)

    def loss(self, name: str, actual, expected, tol: float = LOSS_TOL, detail: str = "") -> Check:
        return self._compare(name, "loss", actual, expected, tol, "rel", detail)

    def gradient(self, name: str, actual, expected, tol: float = GRADIENT_TOL, detail: str = "") -> Check:
        return self._compare(name, "gradient", actual, expected, tol, "rel", detail)

    def cancelling_sum(self, name: str, actual, expected, terms: Iterable, k: float = CANCELLING_SUM_K,
                       source: str = "the recorded terms") -> Check:
        """A loss that is a sum of cancelling terms: passes when ``|actual - expected| <= rounding_bound(terms,
        k)``; the line prints the absolute and relative error like any loss and names the bound applied."""
        bound = rounding_bound(terms, k)
        eps_sum = bound / k if k else 0.0
        detail = (f"cancelling sum: |error| <= k*eps32*sum|terms| = {k:g}*{EPS32:.3g}*{eps_sum / EPS32:.4g} "
                  f"= {bound:.2e}, sum|terms| from {source}")
        return self._compare(name, "loss", actual, expected, bound, "abs", detail)

    def bound(self, name: str, error: float, tol: float, detail: str = "") -> Check:
        """A scalar error computed by the caller (say how in ``detail``), passing when ``error <= tol``."""
        error = float(error)
        passed = bool(np.isfinite(error) and error <= tol)
        return self._add(Check(name, "bound", passed, error, error, tol, detail))

    def exact(self, name: str, actual, expected, detail: str = "") -> Check:
        actual_arr, expected_arr = np.asarray(actual), np.asarray(expected)
        if actual_arr.shape != expected_arr.shape:
            return self._add(Check(name, "exact", False, float("inf"), float("inf"), None,
                                   f"shape {actual_arr.shape} differs from the golden {expected_arr.shape}"))
        equal = bool(np.array_equal(actual_arr, expected_arr))
        if np.issubdtype(actual_arr.dtype, np.number) and np.issubdtype(expected_arr.dtype, np.number):
            max_abs, max_rel, _ = _errors(actual_arr, expected_arr)
        else:
            max_abs = max_rel = 0.0 if equal else float("inf")
        return self._add(Check(name, "exact", equal, max_abs, max_rel, None, detail))

    def condition(self, name: str, passed: bool, detail: str = "") -> Check:
        return self._add(Check(name, "condition", bool(passed), detail=detail))

    def info(self, name: str, detail: str = "") -> Check:
        return self._add(Check(name, "info", True, detail=detail))

    def failure(self, name: str, detail: str) -> Check:
        return self._add(Check(name, "condition", False, detail=detail))

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def worst(self, kinds: Sequence[str]) -> Optional[Check]:
        candidates = [c for c in self.checks if c.kind in kinds]
        return max(candidates, key=lambda c: c.error) if candidates else None

    def summary(self) -> str:
        failed = [c for c in self.checks if not c.passed]
        parts = [f"case {self.case}: {'PASS' if self.passed else 'FAIL'} ({len(self.checks)} checks"
                 + (f", {len(failed)} failed" if failed else "") + ")"]
        for kinds, label in ((("output",), "largest output abs error"), (("loss",), "largest loss rel error"),
                             (("gradient",), "largest gradient error rel to max|grad|"),
                             (("bound",), "largest other error")):
            worst = self.worst(kinds)
            if worst is not None:
                parts.append(f"{label} {worst.error:.3e} ({worst.name})")
        if not self.checks:
            parts.append("no check ran")
        return "; ".join(parts)


def run_cases(paper: str, cases: Sequence, check_case: Callable, print_fn: Callable[[str], None] = print) -> int:
    """Run ``check_case(case, report)`` for every case; 0 when all pass, 1 otherwise.

    An exception inside a case fails that case (with its message and the last traceback lines) and the next
    case still runs.
    """
    reports = []
    for case in cases:
        label = getattr(case, "name", str(case))
        print_fn(f"== {paper} case {label} ({case})")
        report = CaseReport(label, print_fn)
        missing = tuple(getattr(case, "missing", ()) or ())
        if missing:  # an incomplete case fails on one line naming what is missing; its check does not run
            report.failure("case files complete", getattr(case, "missing_text", lambda: ", ".join(missing))())
            print_fn(report.summary())
            reports.append(report)
            continue
        try:
            check_case(case, report)
        except Exception as err:  # a broken case is a failed case, the others still run
            tail = traceback.format_exc().strip().splitlines()[-3:]
            report.failure("case raised", f"{type(err).__name__}: {err} | " + " / ".join(t.strip() for t in tail))
        print_fn(report.summary())
        reports.append(report)
    passed = sum(r.passed for r in reports)
    print_fn(f"== {paper}: {passed}/{len(reports)} cases passed")
    return 0 if passed == len(reports) else 1


def gaussian_kl_terms(mu1, logvar1, mu2=0.0, logvar2=0.0, scale: float = 1.0) -> List[np.ndarray]:
    """The parts, in float64, whose sum is ``scale * sum KL(N(mu1, e^logvar1) || N(mu2, e^logvar2))`` over all
    elements: ``0.5 * (logvar2 - logvar1)``, ``(e^logvar1 + (mu1 - mu2)^2) / (2 e^logvar2)`` and ``-0.5`` per
    element. Their sum is a float64 recomputation of the KL; ``rounding_bound`` of them bounds its float32
    evaluation (the parts are of order 1 and cancel when the two Gaussians are close)."""
    mu1, logvar1 = np.asarray(mu1, np.float64), np.asarray(logvar1, np.float64)
    mu2, logvar2 = np.broadcast_to(np.asarray(mu2, np.float64), mu1.shape), np.broadcast_to(
        np.asarray(logvar2, np.float64), mu1.shape)
    log_ratio = 0.5 * (logvar2 - logvar1)
    quotient = (np.exp(logvar1) + np.square(mu1 - mu2)) / (2.0 * np.exp(logvar2))
    return [scale * log_ratio, scale * quotient, np.full(mu1.shape, -0.5 * scale)]


def sum_terms(terms: Iterable) -> float:
    """The float64 sum of ``terms`` (as given to ``rounding_bound``)."""
    return float(sum(float(np.sum(np.asarray(t, dtype=np.float64))) for t in terms))


# Finding cases by their file layout ---------------------------------------------------------------------------

Companion = Union[str, Tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class Layout:
    """How one kind of case lies on disk.

    ``anchor`` is a file-name pattern (``fnmatch``) with at most one ``*``: with a ``*`` (``"*_meta.json"``)
    every matching file in a folder is one case named by what the ``*`` matched (its *stem*); without one
    (``"golden.npz"``) the folder holding it is the case, named after the folder, unless ``name`` fixes the
    name (``"inventory"``). ``companions`` are the files the case also needs: patterns in which ``{stem}`` is
    replaced by the stem (or the folder name), each optionally paired with a description used when it is
    missing, e.g. ``("*.index", "the TF1 checkpoint")``. ``exclude`` lists anchor-matching file names that are
    something else (``data_goldens_meta.json`` is not a model case's meta file)."""

    kind: str
    anchor: str
    companions: Tuple[Companion, ...] = ()
    exclude: Tuple[str, ...] = ()
    name: Optional[str] = None

    def stem(self, filename: str) -> Optional[str]:
        """The part of ``filename`` the anchor's ``*`` matched ('' without a ``*``); None if it does not match."""
        if not fnmatch.fnmatchcase(filename, self.anchor) or any(fnmatch.fnmatchcase(filename, e)
                                                                 for e in self.exclude):
            return None
        if "*" not in self.anchor:
            return ""
        prefix, _, suffix = self.anchor.partition("*")
        stem = filename[len(prefix): len(filename) - len(suffix)]
        return stem or None


@dataclasses.dataclass(frozen=True)
class GoldenCase:
    """One case found by ``find_layout_cases``: ``files`` maps the anchor and every companion pattern (as
    given in the layout) to the file found; ``missing`` names the companions that are not there."""

    name: str
    kind: str
    directory: pathlib.Path
    anchor: pathlib.Path
    files: Dict[str, pathlib.Path]
    missing: Tuple[str, ...] = ()

    def file(self, pattern: str) -> pathlib.Path:
        """The file found for the layout pattern ``pattern`` (the anchor's name or a companion pattern)."""
        return self.files[pattern]

    def missing_text(self) -> str:
        return (f"case {self.name!r} ({self.anchor.name} in {self.directory}) is incomplete, missing: "
                + "; ".join(self.missing))

    def __str__(self) -> str:
        return str(self.directory)


def _companion_parts(companion: Companion) -> Tuple[str, str]:
    return (companion, "") if isinstance(companion, str) else (companion[0], companion[1])


def _cases_in_folder(folder: pathlib.Path, layouts: Sequence[Layout]) -> List[GoldenCase]:
    names = sorted(p.name for p in folder.iterdir())
    cases: List[GoldenCase] = []
    for layout in layouts:
        for filename in names:
            stem = layout.stem(filename)
            if stem is None or not (folder / filename).is_file():
                continue
            key = stem if "*" in layout.anchor else folder.name
            files = {layout.anchor: folder / filename}
            missing = []
            for companion in layout.companions:
                pattern, description = _companion_parts(companion)
                wanted = pattern.replace("{stem}", key)
                found = sorted(folder / n for n in names if fnmatch.fnmatchcase(n, wanted))
                if found:
                    files[pattern] = found[0]
                else:
                    what = "a file matching " + wanted if any(c in wanted for c in "*?[") else wanted
                    missing.append(what + (f" ({description})" if description else ""))
            cases.append(GoldenCase(layout.name or key, layout.kind, folder, folder / filename, files,
                                    tuple(missing)))
    return cases


def find_layout_cases(path, layouts: Sequence[Layout]) -> List[GoldenCase]:
    """The cases at ``path``, found by file layout only (any names).

    * ``path`` a file: the cases of its folder that it is the anchor or a companion of;
    * ``path`` a folder: the cases in it; when it holds none, the cases in each of its sub-folders (sorted).

    Order: by layout (as given), then by file / folder name. Incomplete cases are included, with ``missing``
    set, so that a caller reports them instead of skipping them."""
    path = pathlib.Path(path)
    if path.is_file():
        target = path.resolve()
        return [c for c in _cases_in_folder(path.parent, layouts)
                if any(f.resolve() == target for f in c.files.values())]
    if not path.is_dir():
        return []
    cases = _cases_in_folder(path, layouts)
    if cases:
        return cases
    found: List[GoldenCase] = []
    children = sorted(p for p in path.iterdir() if p.is_dir())
    per_child = [_cases_in_folder(child, layouts) for child in children]
    for layout in layouts:  # layout-major order across the sub-folders (the kinds of ``layouts`` differ)
        for child_cases in per_child:
            found.extend(c for c in child_cases if c.kind == layout.kind)
    return found
