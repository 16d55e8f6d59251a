"""Golden check of the frozen perceptual networks of hierchvid (AlexNet conv5 and the hourglass outputs).

A case is found by the KEYS of the npz files in a folder, whatever the files are called:

* a weights npz: ``hourglass_weights_1..414`` (Torch layout, as the original's files) and
  ``alexnet_<convK>_W`` / ``alexnet_<convK>_b`` (the golden's ``perceptual_penn_small.npz``);
* an outputs npz beside it: ``xtpn`` and ``perc/alexnet_conv5_of_xtpn``, ``perc/hourglass_layer{0..3}_of_xtpn``
  (the golden's ``imggen_penn_small.npz``).

The golden harness applied the original ``alexnet`` and ``hg_forward`` as ``model_analogy.py`` calls them, with
x01 = (xtpn + 1) / 2: ``alexnet(x01 * 255 - mean(x01 * 255))`` and ``hg_forward(x01)``; the port's
``AlexNetFeatures(xtpn)`` and ``StackedHourglassFeatures(xtpn)`` do the same inside. The same networks are also
run on the batch [xtpn, xtpn] as two groups (``num_groups=2``, the one-call form the image generator may use),
each half of which must give the golden again.

Tolerance: the outputs are large (tens, after many batch normalisations), so each is held to
``max |port - golden| <= 1e-4 * max |golden|`` (``RELATIVE_TOL``; the line prints max_abs and max_rel =
max_abs / max |golden|).
"""

from __future__ import annotations

import os
import pathlib
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf

from vidpred_tf.convert.hierchvid_perceptual import load_alexnet_weights, load_hourglass_weights
from vidpred_tf.golden.common import GoldenCase, Layout
from vidpred_tf.models.hierchvid.alexnet import AlexNetFeatures
from vidpred_tf.models.hierchvid.hourglass import NUM_PARAMS, StackedHourglassFeatures

WEIGHTS = "perceptual weights npz (hourglass_weights_<i>, alexnet_<convK>_W/_b)"
OUTPUTS = "perceptual outputs npz (xtpn, perc/alexnet_conv5_of_xtpn, perc/hourglass_layer<k>_of_xtpn)"
# Both files are npz files of any name; which is which is decided by their keys (``_kind_of``).
LAYOUTS = [Layout("perceptual", "*.npz", companions=(("*.npz", WEIGHTS), ("*.npz", OUTPUTS)))]
RELATIVE_TOL = 1e-4
ALEXNET_KEY = "perc/alexnet_conv5_of_xtpn"
HOURGLASS_KEYS = tuple(f"perc/hourglass_layer{k}_of_xtpn" for k in range(4))
INPUT_KEY = "xtpn"


def _keys(path: pathlib.Path) -> frozenset:
    try:
        with np.load(path) as data:
            return frozenset(data.files)
    except (OSError, ValueError):
        return frozenset()


def _kind_of(keys) -> Optional[str]:
    if "hourglass_weights_1" in keys and "alexnet_conv1_W" in keys:
        return "weights"
    if INPUT_KEY in keys and ALEXNET_KEY in keys:
        return "outputs"
    return None


def _folder_cases(folder: pathlib.Path) -> List[GoldenCase]:
    found: Dict[str, List[pathlib.Path]] = {"weights": [], "outputs": []}
    for path in sorted(folder.glob("*.npz")):
        kind = _kind_of(_keys(path))
        if kind is not None and path.is_file():
            found[kind].append(path)
    cases = []
    for outputs in found["outputs"]:
        weights = _matching_weights(outputs, found["weights"])
        files = {OUTPUTS: outputs}
        missing = ()
        if weights is None:
            missing = (f"a {WEIGHTS} in {folder}",)
        else:
            files[WEIGHTS] = weights
        cases.append(GoldenCase(f"{outputs.stem}_perceptual", "perceptual", folder, outputs, files, missing))
    if not found["outputs"]:
        for weights in found["weights"]:
            cases.append(GoldenCase(f"{weights.stem}_perceptual", "perceptual", folder, weights, {WEIGHTS: weights},
                                    (f"an {OUTPUTS} in {folder}",)))
    return cases


def _matching_weights(outputs: pathlib.Path, candidates: List[pathlib.Path]) -> Optional[pathlib.Path]:
    """The weights npz whose widths fit the recorded outputs (the only one, usually)."""
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    with np.load(outputs) as data:
        alexnet_width, hourglass_width = data[ALEXNET_KEY].shape[-1], data[HOURGLASS_KEYS[0]].shape[-1]
    for path in candidates:
        with np.load(path) as data:
            if (data["alexnet_conv5_W"].shape[-1] == alexnet_width
                    and data[f"hourglass_weights_{NUM_PARAMS - 1}"].shape[0] == hourglass_width):
                return path
    return candidates[0]


def find_cases(path) -> List[GoldenCase]:
    """The perceptual cases in ``path`` (a folder, searched with its sub-folders, or one of a case's files)."""
    path = pathlib.Path(path)
    if path.is_file():
        target = path.resolve()
        return [c for c in _folder_cases(path.parent) if any(f.resolve() == target for f in c.files.values())]
    if not path.is_dir():
        return []
    folders = [path] + sorted(pathlib.Path(root) / d for root, dirs, _ in os.walk(path) for d in dirs)
    return [case for folder in folders for case in _folder_cases(folder)]


def _compare(report, name, actual, expected, detail=""):
    expected = np.asarray(expected)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    tol = RELATIVE_TOL * scale if scale > 0 else RELATIVE_TOL
    note = f"tol = {RELATIVE_TOL:g} x max|golden| = {tol:.3e}" + (f"; {detail}" if detail else "")
    report.output(name, np.asarray(actual), expected, tol=tol, detail=note)


def check_case(case, report) -> None:
    if not isinstance(case, GoldenCase):
        found = find_cases(case)
        if len(found) != 1:
            report.failure("case layout", f"{case} is not one perceptual case ({len(found)} found)")
            return
        case = found[0]
    if case.missing:
        report.failure("case layout", case.missing_text())
        return
    weights_path, outputs_path = case.file(WEIGHTS), case.file(OUTPUTS)
    alexnet = AlexNetFeatures(load_alexnet_weights(weights_path))
    hourglass_params = load_hourglass_weights(weights_path)
    hourglass = StackedHourglassFeatures(hourglass_params)
    report.exact("hourglass arrays consumed", len(hourglass.params), NUM_PARAMS,
                 f"hourglass_weights_1..{len(hourglass_params)} of {weights_path.name}")
    with np.load(outputs_path) as data:
        images = np.asarray(data[INPUT_KEY], np.float32)
        expected = {key: np.asarray(data[key]) for key in (ALEXNET_KEY,) + HOURGLASS_KEYS if key in data.files}
    report.condition("outputs npz holds every perc/* output", len(expected) == 1 + len(HOURGLASS_KEYS),
                     f"found {sorted(expected)}")

    _compare(report, ALEXNET_KEY, alexnet(images), expected[ALEXNET_KEY], "alexnet(x01*255 - mean(x01*255))")
    features = hourglass(images)
    for key, feature in zip(HOURGLASS_KEYS, features):
        if key in expected:
            _compare(report, key, feature, expected[key], "hg_forward(x01), innermost first")

    pair = tf.concat([images, images], axis=0)
    batch = images.shape[0]
    grouped_alexnet = np.asarray(alexnet(pair, num_groups=2))
    grouped_features = [np.asarray(f) for f in hourglass(pair, num_groups=2)]
    for half in (0, 1):
        rows = slice(half * batch, (half + 1) * batch)
        _compare(report, f"num_groups=2 half {half}: {ALEXNET_KEY}", grouped_alexnet[rows], expected[ALEXNET_KEY])
        for key, feature in zip(HOURGLASS_KEYS, grouped_features):
            if key in expected:
                _compare(report, f"num_groups=2 half {half}: {key}", feature[rows], expected[key])
