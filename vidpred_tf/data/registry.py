"""Registry of dataset readers: one name, one function that turns files into a ``tf.data.Dataset``.

Each original dataset format is one module in ``vidpred_tf/data`` that registers its reader here::

    @register_reader("e3d_npz", description="Moving MNIST .npz of the PredRNN family (clips/dims/input_raw_data)")
    def read_e3d_npz(paths, *, seq_length, ...) -> tf.data.Dataset: ...

A reader returns a dataset of *unbatched* examples following the batch contract of
``vidpred_tf.data.batch`` (``images`` float32 [T, H, W, C] in [0, 1], optional ``actions``...), unless
its docstring says it reproduces an original batching (then it documents the batch axis).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Callable, Dict

import tensorflow as tf

ReaderFn = Callable[..., tf.data.Dataset]


@dataclasses.dataclass(frozen=True)
class ReaderEntry:
    name: str
    fn: ReaderFn
    description: str


_READERS: Dict[str, ReaderEntry] = {}

# Modules that register readers when imported; listed here so ``get_reader`` finds them lazily.
_READER_MODULES = (
    "vidpred_tf.data.tfrecord",
    "vidpred_tf.data.moving_mnist",
    "vidpred_tf.data.e3d_npz",
    "vidpred_tf.data.kth_frames",
)


def register_reader(name: str, description: str = "") -> Callable[[ReaderFn], ReaderFn]:
    """Decorator registering ``fn`` under ``name``; a second registration of the same name is an error."""

    def decorator(fn: ReaderFn) -> ReaderFn:
        if name in _READERS and _READERS[name].fn is not fn:
            raise ValueError(f"dataset reader {name!r} is already registered by {_READERS[name].fn.__module__}")
        _READERS[name] = ReaderEntry(name, fn, description or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return decorator


def _import_reader_modules() -> None:
    for module in _READER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            # A reader module of a paper that is not ported yet; anything else missing is a real error.
            if err.name != module:
                raise


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
