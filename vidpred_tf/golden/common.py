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
``exact``      actual == expected everywhere                          -
``condition``  a boolean the paper module computed                    -
``info``       always (informational line, e.g. a racy original)      -
=============  =====================================================  ======================

A paper module may pass other tolerances when its case README says so.
"""

from __future__ import annotations

import dataclasses
import traceback
from typing import Callable, List, Optional, Sequence

import numpy as np

OUTPUT_TOL = 1e-4
LOSS_TOL = 1e-4
GRADIENT_TOL = 1e-3


@dataclasses.dataclass
class Check:
    name: str
    kind: str
    passed: bool
    max_abs: float = 0.0
    max_rel: float = 0.0
    tol: Optional[float] = None
    detail: str = ""

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
            text += f" tol={self.tol:.1e}" if self.tol is not None else " (must be equal)"
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
        return self._add(Check(name, kind, bool(value <= tol), max_abs, max_rel, tol, detail))

    def output(self, name: str, actual, expected, tol: float = OUTPUT_TOL, detail: str = "") -> Check:
        return self._compare(name, "output", actual, expected, tol, "abs", detail)

    def loss(self, name: str, actual, expected, tol: float = LOSS_TOL, detail: str = "") -> Check:
        return self._compare(name, "loss", actual, expected, tol, "rel", detail)

    def gradient(self, name: str, actual, expected, tol: float = GRADIENT_TOL, detail: str = "") -> Check:
        return self._compare(name, "gradient", actual, expected, tol, "rel", detail)

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
