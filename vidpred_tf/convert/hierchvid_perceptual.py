"""The frozen perceptual weights of hierchvid (Villegas et al. 2017) in their original on-disk layout, for the
port's :class:`~vidpred_tf.models.hierchvid.alexnet.AlexNetFeatures` and
:class:`~vidpred_tf.models.hierchvid.hourglass.StackedHourglassFeatures`.

The original reads, relative to its working directory:

* ``perceptual_models/alexnet/bvlc_alexnet.npy``: a pickled Python-2 dict ``{convK: [W, b]}`` (W in HWIO; the
  real file also holds fc6..fc8, unused), read here with ``allow_pickle=True, encoding='latin1'``;
* ``perceptual_models/hourglass/hourglass_weights_<i>.npy``, i = 1..800: Torch arrays (convs OIHW). Only files
  1..414 are consumed (the original loads all 800, twice); they are read once here. A 4-D array is turned into
  HWIO exactly as the original's ``swapaxes(0, 1).swapaxes(0, 2).swapaxes(1, 3)``, which is
  ``transpose(2, 3, 1, 0)``: (O, I, kh, kw) -> (kh, kw, I, O).

The golden npz of the port's checks (``perceptual_penn_small.npz``) packs the same arrays as
``hourglass_weights_<i>`` (Torch layout, as the i-th file) and ``alexnet_<convK>_W`` / ``alexnet_<convK>_b``;
every loader here accepts it in place of the folder.

``load_alexnet_weights(path)`` -> ``{convK: (W, b)}``; ``load_hourglass_weights(path)`` -> the 414 HWIO arrays;
``load(model, path)`` assigns either network; ``export(model, path)`` writes the original layout;
``main(argv)`` checks a ``perceptual_models`` folder::

    python -m vidpred_tf.convert.hierchvid_perceptual perceptual_models
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.models.hierchvid.alexnet import LAYER_NAMES, AlexNetFeatures, check_alexnet_weights
from vidpred_tf.models.hierchvid.hourglass import NUM_PARAMS, StackedHourglassFeatures, check_hourglass_params

ALEXNET_FILE = pathlib.Path("alexnet") / "bvlc_alexnet.npy"
HOURGLASS_FOLDER = pathlib.Path("hourglass")
HOURGLASS_FILE = "hourglass_weights_{}.npy"
HOURGLASS_KEY = "hourglass_weights_{}"
ALEXNET_KEYS = ("alexnet_{}_W", "alexnet_{}_b")


def torch_to_hwio(array: np.ndarray) -> np.ndarray:
    """The original's swapaxes(0,1), (0,2), (1,3) of a 4-D Torch array: (O, I, kh, kw) -> (kh, kw, I, O)."""
    return np.ascontiguousarray(np.transpose(array, (2, 3, 1, 0))) if array.ndim == 4 else array


def hwio_to_torch(array: np.ndarray) -> np.ndarray:
    """Inverse of :func:`torch_to_hwio`."""
    return np.ascontiguousarray(np.transpose(array, (3, 2, 0, 1))) if array.ndim == 4 else array


def _is_npz(path: pathlib.Path) -> bool:
    return path.is_file() and path.suffix == ".npz"


def _npz(path: pathlib.Path):
    try:
        return np.load(path)
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable npz file ({err})") from err


# AlexNet -------------------------------------------------------------------------------------------------------

def alexnet_file(path) -> pathlib.Path:
    """``bvlc_alexnet.npy`` given itself, its ``alexnet`` folder or the ``perceptual_models`` folder."""
    path = pathlib.Path(path)
    for candidate in (path, path / ALEXNET_FILE.name, path / ALEXNET_FILE):
        if candidate.is_file():
            return candidate
    raise MissingInputError(f"{path / ALEXNET_FILE if path.is_dir() else path}: no such file (the AlexNet weights "
                            f"bvlc_alexnet.npy)")


def load_alexnet_weights(path) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """``{convK: (W HWIO, b)}`` float32 from ``bvlc_alexnet.npy`` (file or folder) or the golden npz."""
    path = pathlib.Path(path)
    if _is_npz(path):
        data = _npz(path)
        weights = {}
        for name in LAYER_NAMES:
            keys = [k.format(name) for k in ALEXNET_KEYS]
            missing = [k for k in keys if k not in data.files]
            if missing:
                raise InputError(f"{path}: no key {missing[0]} (AlexNet {name} of the perceptual weights)")
            weights[name] = tuple(np.asarray(data[k], np.float32) for k in keys)
        source = str(path)
    else:
        file = alexnet_file(path)
        try:
            loaded = np.load(file, allow_pickle=True, encoding="latin1")
            table = loaded.item() if isinstance(loaded, np.ndarray) and loaded.dtype == object else loaded
        except (OSError, ValueError, EOFError) as err:
            raise InputError(f"{file}: not a readable pickled .npy dict of AlexNet weights ({err})") from err
        if not isinstance(table, dict):
            raise InputError(f"{file}: holds {type(table).__name__}, expected a dict {{convK: [W, b]}}")
        table = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in table.items()}
        weights = {}
        for name in LAYER_NAMES:
            entry = table.get(name)
            if entry is None or len(entry) != 2:
                raise InputError(f"{file}: no {name} entry [W, b] (has {sorted(table)})")
            weights[name] = tuple(np.asarray(a, np.float32) for a in entry)
        source = str(file)
    try:
        check_alexnet_weights(weights, source)
    except ValueError as err:
        raise InputError(str(err)) from err
    return weights


# Hourglass -----------------------------------------------------------------------------------------------------

def hourglass_folder(path) -> pathlib.Path:
    """The folder of the ``hourglass_weights_<i>.npy`` files, given itself or the ``perceptual_models`` folder."""
    path = pathlib.Path(path)
    for candidate in (path, path / HOURGLASS_FOLDER):
        if (candidate / HOURGLASS_FILE.format(1)).is_file():
            return candidate
    if not path.exists():
        raise MissingInputError(f"{path}: no such folder (the hourglass weights)")
    folder = path / HOURGLASS_FOLDER if (path / HOURGLASS_FOLDER).is_dir() else path
    raise MissingInputError(f"{folder / HOURGLASS_FILE.format(1)}: no such file (the hourglass weights)")


def load_hourglass_weights(path) -> List[np.ndarray]:
    """The 414 arrays ``hg_forward`` consumes, in traversal order, convs in HWIO, float32, from the folder of
    ``hourglass_weights_<i>.npy`` (or ``perceptual_models``) or the golden npz; files past 414 are not read."""
    path = pathlib.Path(path)
    params: List[np.ndarray] = []
    names: List[str] = []
    if _is_npz(path):
        data = _npz(path)
        for i in range(1, NUM_PARAMS + 1):
            key = HOURGLASS_KEY.format(i)
            if key not in data.files:
                raise InputError(f"{path}: no key {key} (hourglass weight {i} of {NUM_PARAMS})")
            params.append(torch_to_hwio(np.asarray(data[key], np.float32)))
            names.append(f"{path}[{key}]")
    else:
        folder = hourglass_folder(path)
        for i in range(1, NUM_PARAMS + 1):
            file = folder / HOURGLASS_FILE.format(i)
            if not file.is_file():
                raise MissingInputError(f"{file}: no such file (hourglass weight {i} of {NUM_PARAMS})")
            try:
                array = np.load(file, allow_pickle=False)
            except (OSError, ValueError, EOFError) as err:
                raise InputError(f"{file}: not a readable .npy array ({err})") from err
            params.append(torch_to_hwio(np.asarray(array, np.float32)))
            names.append(str(file))
    try:
        check_hourglass_params(params, [f"{n} (as HWIO)" if p.ndim == 4 else n for n, p in zip(names, params)])
    except ValueError as err:
        raise InputError(str(err)) from err
    return params


# The contract: load / export / main -----------------------------------------------------------------------------

def load(model, path) -> int:
    """Assign ``model`` (an ``AlexNetFeatures`` or ``StackedHourglassFeatures``) from ``path``; returns the number
    of arrays assigned. Nothing is assigned unless every array fits."""
    if isinstance(model, AlexNetFeatures):
        weights = load_alexnet_weights(path)
        pairs = [(model.kernels[n], weights[n][0]) for n in LAYER_NAMES]
        pairs += [(model.biases[n], weights[n][1]) for n in LAYER_NAMES]
    elif isinstance(model, StackedHourglassFeatures):
        pairs = list(zip(model.params, load_hourglass_weights(path)))
    else:
        raise TypeError(f"load: expected AlexNetFeatures or StackedHourglassFeatures, got {type(model).__name__}")
    wrong = [(tuple(v.shape), a.shape) for v, a in pairs if tuple(v.shape) != a.shape]
    if wrong:
        raise InputError(f"{path}: shapes differ from the model's (model {wrong[0][0]}, file {wrong[0][1]}; "
                         f"{len(wrong)} arrays)")
    for variable, value in pairs:
        variable.assign(value)
    return len(pairs)


def export(model, path) -> str:
    """Write ``model``'s weights in the original layout under the ``perceptual_models`` folder ``path``:
    ``alexnet/bvlc_alexnet.npy`` or ``hourglass/hourglass_weights_1..414.npy`` (Torch layout)."""
    root = pathlib.Path(path)
    if isinstance(model, AlexNetFeatures):
        target = root / ALEXNET_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        table = {n: [np.asarray(model.kernels[n]), np.asarray(model.biases[n])] for n in LAYER_NAMES}
        np.save(target, np.array(table, dtype=object), allow_pickle=True)
        return str(target)
    if isinstance(model, StackedHourglassFeatures):
        folder = root / HOURGLASS_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        for i, variable in enumerate(model.params, start=1):
            np.save(folder / HOURGLASS_FILE.format(i), hwio_to_torch(np.asarray(variable)))
        return str(folder)
    raise TypeError(f"export: expected AlexNetFeatures or StackedHourglassFeatures, got {type(model).__name__}")


def _count(arrays) -> int:
    return int(sum(int(np.prod(np.shape(a))) for a in arrays))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vidpred_tf.convert.hierchvid_perceptual",
                                     description="Check the hierchvid perceptual weights (the perceptual_models "
                                                 "folder of the original, or a golden npz) and count them.")
    parser.add_argument("path", help="perceptual_models folder (alexnet/bvlc_alexnet.npy, hourglass/"
                        "hourglass_weights_<i>.npy) or an npz with hourglass_weights_<i> and alexnet_<convK>_W/_b")
    parser.add_argument("--npz", default=None, help="also pack the arrays into this npz (golden key layout)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        alexnet = load_alexnet_weights(args.path)
        hourglass = load_hourglass_weights(args.path)
        widths = ", ".join(f"{n} {alexnet[n][0].shape[-1]}" for n in LAYER_NAMES)
        print(f"AlexNet: {2 * len(LAYER_NAMES)} arrays, {_count(a for p in alexnet.values() for a in p):,} "
              f"parameters ({widths})")
        print(f"hourglass: {len(hourglass)} arrays, {_count(hourglass):,} parameters "
              f"(output width {hourglass[-1].shape[0]})")
        if args.npz:
            packed = {ALEXNET_KEYS[j].format(n): alexnet[n][j] for n in LAYER_NAMES for j in range(2)}
            packed.update({HOURGLASS_KEY.format(i): hwio_to_torch(a) for i, a in enumerate(hourglass, start=1)})
            os.makedirs(os.path.dirname(os.path.abspath(args.npz)), exist_ok=True)
            np.savez(args.npz, **packed)
            print(f"packed into {args.npz}")
    except (InputError, FileNotFoundError) as err:
        print(f"{_parser().prog}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
