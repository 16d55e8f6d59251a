"""Checkpoints with automatic resume, written by the chief only.

``tf.train.CheckpointManager`` writes every checkpoint under temporary names and renames them into place, and
rewrites its ``checkpoint`` index file atomically, so a run killed in the middle of a save leaves the previous
checkpoint as the latest one. Under MultiWorkerMirroredStrategy every worker has to take part in a save; the
non-chief workers write to a private temporary directory that is deleted right after.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import Callable, List, Optional, Sequence, Tuple

import keras
import tensorflow as tf


def indexed_weights(model: keras.Model) -> dict:
    """Every variable of ``model`` keyed by its position in ``model.weights``, for ``tf.train.Checkpoint``.

    ``tf.train.Checkpoint`` does not follow the lists a Keras 3 model keeps its layers in (``self.blocks =
    [...]``), so checkpointing the model object alone can silently miss those weights. Keras paths are no stable
    key either: auto-generated layer names (``dense_1``) change when a model is built twice in one process.
    The order of ``model.weights`` is fixed by the model's code, so the position is the key; shapes are
    checked on restore.
    """
    return {f"{index:05d}": variable for index, variable in enumerate(model.weights)}


TASK_OBJECT_PREFIX = "task_"


def task_object_attribute(name: str) -> str:
    """The attribute of the trainer's checkpoint under which the ``Task.checkpoint_objects`` entry ``name`` is
    saved."""
    return f"{TASK_OBJECT_PREFIX}{name}"


def task_variable_key(name: str) -> str:
    """The key, in a trainer checkpoint file, of the value of the ``tf.Variable`` that ``Task.checkpoint_objects``
    returns as ``name`` (what ``tf.train.load_checkpoint(prefix).get_tensor`` reads)."""
    return f"{task_object_attribute(name)}/.ATTRIBUTES/VARIABLE_VALUE"


def model_checkpoint(model: keras.Model, **others) -> tf.train.Checkpoint:
    """The checkpoint layout of the trainer: the model's weights by position, plus ``others``."""
    return tf.train.Checkpoint(model_weights=indexed_weights(model), **others)


def restore_model_weights(model: keras.Model, path: str) -> None:
    """Load the model weights of a trainer checkpoint (``ckpt-N`` or ``model.ckpt-N``) into ``model``.

    Optimiser slots and counters in the file are ignored; a model variable missing from the file, or of
    another shape, is a ``ValueError`` naming the checkpoint.
    """
    try:
        status = model_checkpoint(model).read(path)
        status.expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as err:
        raise ValueError(f"checkpoint {path} does not hold the weights of model {model.name!r} "
                         f"({len(model.weights)} variables): {err}") from err


class CheckpointDamagedError(RuntimeError):
    """Every checkpoint of a run directory is damaged (cut or missing files)."""


def non_finite_variables(variables: Sequence) -> List[str]:
    """Names of the floating-point ``variables`` that hold a NaN or an infinity (empty: all finite)."""
    bad = []
    for variable in variables:
        if not tf.as_dtype(variable.dtype).is_floating:
            continue
        if not bool(tf.reduce_all(tf.math.is_finite(variable))):
            bad.append(getattr(variable, "path", None) or variable.name)
    return bad


def describe_non_finite(bad: Sequence[str], total: int) -> str:
    """``3 of 42 tensors: a, b, c`` (at most three names)."""
    shown = ", ".join(bad[:3]) + (", ..." if len(bad) > 3 else "")
    return f"{len(bad)} of {total} tensors: {shown}"


# What reading a checkpoint whose files are cut, missing or overwritten raises (a model that does not fit the
# checkpoint raises AssertionError/ValueError instead, which stays an error); a cut data file surfaces from the
# C++ reader as IndexError("Read less bytes than requested").
DAMAGE_ERRORS = (IndexError, tf.errors.DataLossError, tf.errors.OutOfRangeError, tf.errors.NotFoundError,
                 tf.errors.InvalidArgumentError, tf.errors.FailedPreconditionError)


def _first_line(err: BaseException) -> str:
    message = getattr(err, "message", None) or str(err)
    return message.strip().splitlines()[0] if message.strip() else type(err).__name__


class CheckpointKeeper:
    def __init__(self, checkpoint: tf.train.Checkpoint, directory: str, *, chief: bool,
                 max_to_keep: int = 5, checkpoint_name: str = "ckpt"):
        self.checkpoint = checkpoint
        self.directory = directory
        self.chief = chief
        self._scratch = None if chief else tempfile.mkdtemp(prefix="vidpred_worker_ckpt_")
        self.manager = tf.train.CheckpointManager(
            checkpoint, directory if chief else self._scratch, max_to_keep=max_to_keep,
            checkpoint_name=checkpoint_name)

    @property
    def latest(self) -> Optional[str]:
        """The newest complete checkpoint in the (chief's) directory."""
        return tf.train.latest_checkpoint(self.directory)

    def candidates(self) -> List[str]:
        """The checkpoints of the (chief's) directory, newest first, as its state file lists them."""
        state = tf.train.get_checkpoint_state(self.directory)
        if state is None:
            return []
        paths = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
        if state.model_checkpoint_path and state.model_checkpoint_path not in paths:
            paths.append(state.model_checkpoint_path)
        # get_checkpoint_state already puts the directory before relative entries.
        number = re.compile(r"-(\d+)$")

        def key(path: str) -> int:
            match = number.search(path)
            return int(match.group(1)) if match else -1

        return sorted(dict.fromkeys(paths), key=key, reverse=True)

    def restore_latest(self, report: Optional[Callable[[str], None]] = None) -> Optional[str]:
        """Restore the newest checkpoint that reads whole; returns its path (``None``: fresh start).

        A checkpoint whose files are cut or missing (a disk that filled up, a copy that stopped) is refused by
        name and the next older one is tried; ``report`` (default: ``print``) gets one line per refused
        checkpoint and one naming the checkpoint used instead. A checkpoint of another model is an error.
        When every listed checkpoint is damaged, ``CheckpointDamagedError`` names them.
        """
        report = report or (lambda line: print(line, flush=True))
        damaged: List[Tuple[str, str]] = []
        for path in self.candidates():
            if not tf.io.gfile.exists(path + ".index"):
                damaged.append((path, "its .index file is missing"))
                report(f"Checkpoint {path} is damaged ({damaged[-1][1]}); trying the previous one")
                continue
            try:
                status = self.checkpoint.restore(path)
            except DAMAGE_ERRORS as err:
                damaged.append((path, _first_line(err)))
                report(f"Checkpoint {path} is damaged ({damaged[-1][1]}); trying the previous one")
                continue
            # Every tracked object must find its values: a checkpoint of another model is an error, not a
            # silent partial restore.
            status.assert_existing_objects_matched()
            if damaged:
                report(f"Resuming from {path}, the newest checkpoint that reads whole (refused: "
                       f"{', '.join(p for p, _ in damaged)})")
            return path
        if damaged:
            raise CheckpointDamagedError(
                f"no checkpoint of {self.directory} reads whole: " +
                "; ".join(f"{p}: {why}" for p, why in damaged) +
                " (move them away to start afresh)")
        return None

    def save(self, step: int) -> Optional[str]:
        path = self.manager.save(checkpoint_number=step)
        if not self.chief:
            shutil.rmtree(self._scratch, ignore_errors=True)
            os.makedirs(self._scratch, exist_ok=True)
            return None
        return path


_NAMED_PREFIX = "ckpt"
_NAMED_NUMBER = re.compile(rf"{_NAMED_PREFIX}-(\d+)")


def named_checkpoint_prefix(folder: str) -> Optional[str]:
    """The complete checkpoint of a named-checkpoint folder written by ``write_named_checkpoint`` (or None)."""
    if not os.path.isdir(folder):
        return None
    return tf.train.latest_checkpoint(folder)


def write_named_checkpoint(checkpoint: tf.train.Checkpoint, folder: str, *, chief: bool = True) -> Optional[str]:
    """Write ``checkpoint`` as the one checkpoint of ``folder`` (e.g. ``models/checkpoint_last_saved``).

    Scripts that name their checkpoints (``checkpoint_epoch_10``, ``checkpoint_epoch_final``) overwrite them;
    TensorFlow writes a checkpoint's index and data files one after the other, so overwriting in place could
    leave a torn pair. Instead each save gets a fresh number inside the folder, the folder's ``checkpoint``
    state file is then switched to it atomically, and only then the previous files are removed: a reader
    (or a run killed at any moment) always finds the previous or the new checkpoint complete. Returns the
    prefix written (``None`` on non-chief workers, which write to a scratch folder deleted right after, because
    every worker of a multi-worker strategy has to take part in a save).
    """
    if not chief:
        scratch = tempfile.mkdtemp(prefix="vidpred_worker_named_ckpt_")
        try:
            checkpoint.write(os.path.join(scratch, _NAMED_PREFIX))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return None
    # TensorFlow rewrites a relative state-file entry against the working directory when the folder is
    # relative too ("../../ckpt-1"), so work with the absolute folder.
    folder = os.path.abspath(folder)
    os.makedirs(folder, exist_ok=True)
    # Numbers also count leftovers of a save that was killed half-way, so nothing is written over them.
    numbers = [int(match.group(1)) for match in map(_NAMED_NUMBER.match, os.listdir(folder)) if match]
    prefix = os.path.join(folder, f"{_NAMED_PREFIX}-{max(numbers, default=0) + 1}")
    written = checkpoint.write(prefix)
    # A relative path in the state file keeps the folder movable (experiment directories get copied around).
    relative = os.path.basename(written)
    tf.compat.v1.train.update_checkpoint_state(folder, relative, all_model_checkpoint_paths=[relative])
    keep = os.path.basename(written) + "."
    for name in os.listdir(folder):
        if name.startswith(_NAMED_PREFIX + "-") and not name.startswith(keep):
            path = os.path.join(folder, name)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)
    return written
