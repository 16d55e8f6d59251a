"""Registry of dataset readers: one name, one function that turns files into a ``tf.data.Dataset``.

Each dataset format is one module, grouped per dataset (``vidpred_tf/data/<dataset>/<format>.py``, a format of one
paper's own named after it) or generic (``vidpred_tf/data/tfrecord.py``), and registers its reader here::

    @register_reader("moving_mnist_e3d", description="Moving MNIST .npz of the PredRNN family (clips/dims/...)")
    def read_e3d_npz(paths, *, seq_length, ...) -> tf.data.Dataset: ...

Names follow one scheme: ``<dataset>`` for the package's own formats and the standard files, ``<dataset>_<paper>``
for the format of one paper's code. Every module of ``vidpred_tf.data`` is imported to find the readers (nothing
lists them), and so are the ``datasets`` modules of the papers' descriptors.

A reader returns a dataset of *unbatched* examples following the batch contract of
``vidpred_tf.data.batch`` (``images`` float32 [T, H, W, C] in [0, 1], optional ``actions``...), unless
its docstring says it reproduces an original batching (then it documents the batch axis).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
from typing import Callable, Dict

import tensorflow as tf

from vidpred_tf.papers import all_papers

ReaderFn = Callable[..., tf.data.Dataset]


@dataclasses.dataclass(frozen=True)
class ReaderEntry:
    name: str
    fn: ReaderFn
    description: str


_READERS: Dict[str, ReaderEntry] = {}

def register_reader(name: str, description: str = "") -> Callable[[ReaderFn], ReaderFn]:
    """Decorator registering ``fn`` under ``name``; a second registration of the same name is an error."""

    def decorator(fn: ReaderFn) -> ReaderFn:
        if name in _READERS and _READERS[name].fn is not fn:
            raise ValueError(f"dataset reader {name!r} is already registered by {_READERS[name].fn.__module__}")
        _READERS[name] = ReaderEntry(name, fn, description or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return decorator


def _import_reader_modules() -> None:
    """Import every module of ``vidpred_tf.data`` and the papers' ``datasets`` modules: importing registers."""
    for info in pkgutil.walk_packages([os.path.dirname(os.path.abspath(__file__))], prefix="vidpred_tf.data."):
        importlib.import_module(info.name)
    for paper in all_papers().values():
        for module in paper.datasets:
            importlib.import_module(module)


def get_reader(name: str) -> ReaderFn:
    """The reader registered as ``name``; ``KeyError`` lists the known names."""
    if name not in _READERS:
        _import_reader_modules()
    if name not in _READERS:
        raise KeyError(f"unknown dataset reader {name!r}; known readers: {', '.join(sorted(_READERS))}")
    return _READERS[name].fn


def list_readers() -> Dict[str, str]:
    """Name -> one-line description of every registered reader."""
    _import_reader_modules()
    return {name: entry.description for name, entry in sorted(_READERS.items())}
