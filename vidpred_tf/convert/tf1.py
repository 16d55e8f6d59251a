"""Load TF1 name-based checkpoints (``.index`` + ``.data-*``) into a port's variables, and write them back.

A port supplies a mapping ``original TF1 name -> port variable`` (optionally with a value transform per
name). ``load_tf1_checkpoint`` reads the checkpoint with ``tf.train.load_checkpoint``, drops the names that
are not model weights (optimiser slots, EMA shadows, the global step: see ``DEFAULT_SKIP``), and refuses a
misfit, naming the first one: a mapped name missing from the checkpoint, a checkpoint name nobody maps, or a
shape that differs. Nothing is assigned unless everything fits.

``use_ema=True`` loads ``<name>/ExponentialMovingAverage`` instead of ``<name>`` where the shadow exists
(frozen variables have none and keep their raw value).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from vidpred_tf.checkpoint_check import checkpoint_reader, read_tensor
from vidpred_tf.errors import InputError

EMA_SUFFIX = "/ExponentialMovingAverage"

# Names that never hold model weights in the TF1 codebases we port.
DEFAULT_SKIP = (
    r"(^|/)ExponentialMovingAverage$",  # EMA shadows (selected separately with use_ema)
    r"^Variable(_\d+)?$",  # hand-written Adam slots and step counters (e3d: Variable, Variable_1, ...)
    r"(^|/)(Adam|Adam_\d+|Momentum|RMSProp(_\d+)?)$",  # tf.train optimiser slots
    r"^(global_step|beta1_power|beta2_power)(_\d+)?$",
    r"(^|/)_CHECKPOINTABLE_OBJECT_GRAPH$",
)


class CheckpointMismatchError(InputError):
    """The checkpoint does not fit the port's variables; the message names the first misfit."""


@dataclasses.dataclass
class LoadReport:
    """What ``load_tf1_checkpoint`` did."""

    checkpoint: str
    loaded: List[str]
    skipped: List[str]
    from_ema: List[str]


def checkpoint_prefix(path: str) -> str:
    """Accepts a prefix (``model.ckpt``), a directory with a ``checkpoint`` file, or ``<prefix>.index``."""
    path = os.fspath(path)
    if os.path.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            raise FileNotFoundError(f"no TF checkpoint found in directory {path}")
        return latest
    if path.endswith(".index"):
        path = path[: -len(".index")]
    if not os.path.exists(path + ".index"):
        raise FileNotFoundError(f"TF checkpoint {path} not found (no {path}.index)")
    return path


_checkpoint_prefix = checkpoint_prefix  # the earlier private name, still used below


def read_tf1_checkpoint(path: str, skip: Sequence[str] = DEFAULT_SKIP,
                        include: Optional[str] = None) -> Dict[str, np.ndarray]:
    """All tensors of a checkpoint as ``name -> array``, without names matching ``skip`` (regexes).

    ``include`` (a regex searched in the name) keeps only matching names, e.g. ``r"^generator/"``.
    """
    prefix = _checkpoint_prefix(path)
    reader, _ = checkpoint_reader(prefix)
    patterns = [re.compile(p) for p in skip]
    keep = re.compile(include) if include else None
    values = {}
    for name in sorted(reader.get_variable_to_shape_map()):
        if any(p.search(name) for p in patterns):
            continue
        if keep is not None and not keep.search(name):
            continue
        values[name] = read_tensor(reader, name, prefix)
    return values


def load_tf1_checkpoint(path: str, mapping: Mapping[str, "tf.Variable"], *,
                        skip: Sequence[str] = DEFAULT_SKIP, include: Optional[str] = None,
                        use_ema: bool = False,
                        transforms: Optional[Mapping[str, Callable[[np.ndarray], np.ndarray]]] = None
                        ) -> LoadReport:
    """Assign every variable of ``mapping`` (TF1 name -> variable) from the checkpoint at ``path``.

    Raises ``CheckpointMismatchError`` naming the first misfit (missing name, extra name, wrong shape) before
    assigning anything. ``transforms[name]`` converts an original value to the port's layout.
    """
    prefix = _checkpoint_prefix(path)
    reader, shapes = checkpoint_reader(prefix)
    patterns = [re.compile(p) for p in skip]
    keep = re.compile(include) if include else None
    transforms = dict(transforms or {})

    def considered(name: str) -> bool:
        if any(p.search(name) for p in patterns):
            return False
        return keep is None or bool(keep.search(name))

    skipped = sorted(n for n in shapes if not considered(n))
    values, from_ema = {}, []
    for name, variable in mapping.items():
        if name not in shapes:
            raise CheckpointMismatchError(
                f"checkpoint {prefix}: variable {name!r} {tuple(variable.shape)} of the port is missing")
        source = name
        if use_ema and (name + EMA_SUFFIX) in shapes:
            source = name + EMA_SUFFIX
            from_ema.append(name)
        value = read_tensor(reader, source, prefix)
        if name in transforms:
            value = transforms[name](value)
        if tuple(value.shape) != tuple(variable.shape):
            raise CheckpointMismatchError(
                f"checkpoint {prefix}: variable {source!r} has shape {tuple(value.shape)} but the port "
                f"expects {tuple(variable.shape)}")
        values[name] = value
    extra = sorted(n for n in shapes if considered(n) and n not in mapping)
    if extra:
        raise CheckpointMismatchError(
            f"checkpoint {prefix}: variable {extra[0]!r} {tuple(shapes[extra[0]])} has no counterpart in the "
            f"port ({len(extra)} unmapped name(s))")
    for name, variable in mapping.items():
        variable.assign(np.asarray(values[name], dtype=tf.as_dtype(variable.dtype).as_numpy_dtype))
    return LoadReport(checkpoint=prefix, loaded=list(mapping), skipped=skipped, from_ema=from_ema)


def write_tf1_checkpoint(path: str, values: Mapping[str, np.ndarray]) -> str:
    """Write ``name -> array`` as a TF1 name-based checkpoint at prefix ``path`` (readable by ``tf.train.Saver``).

    The files are written under a temporary prefix in the same directory and then renamed (index last), so
    a reader never sees a half-written checkpoint. Returns the prefix.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".tf1ckpt-") as staging:
        staging_prefix = os.path.join(staging, "ckpt")
        with tf.Graph().as_default():
            variables, feeds = {}, {}
            for name, value in values.items():
                value = np.asarray(value)
                # Fed through a placeholder so that large weights do not end up as graph constants.
                initial = tf.compat.v1.placeholder(tf.as_dtype(value.dtype), value.shape)
                variables[name] = tf.compat.v1.Variable(initial, name=name.replace("/", "__"))
                feeds[initial] = value
            saver = tf.compat.v1.train.Saver(variables, write_version=tf.compat.v1.train.SaverDef.V2)
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer(), feed_dict=feeds)
                saver.save(session, staging_prefix, write_meta_graph=False, write_state=False)
        produced = sorted(os.listdir(staging))
        data_files = [f for f in produced if f.startswith("ckpt.data-")]
        for name in data_files:
            os.replace(os.path.join(staging, name), path + name[len("ckpt"):])
        os.replace(staging_prefix + ".index", path + ".index")
    return path


def tf1_names(path: str, skip: Iterable[str] = ()) -> Dict[str, tuple]:
    """``name -> shape`` of every tensor in the checkpoint (no filtering unless ``skip`` is given)."""
    reader = tf.train.load_checkpoint(_checkpoint_prefix(path))
    patterns = [re.compile(p) for p in skip]
    return {n: tuple(s) for n, s in sorted(reader.get_variable_to_shape_map().items())
            if not any(p.search(n) for p in patterns)}
