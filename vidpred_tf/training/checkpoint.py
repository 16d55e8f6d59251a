"""Checkpoints with automatic resume, written by the chief only.

``tf.train.CheckpointManager`` writes every checkpoint under temporary names and renames them into place, and
rewrites its ``checkpoint`` index file atomically, so a run killed in the middle of a save leaves the previous
checkpoint as the latest one. Under MultiWorkerMirroredStrategy every worker has to take part in a save; the
non-chief workers write to a private temporary directory that is deleted right after.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Optional

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

    def restore_latest(self) -> Optional[str]:
        """Restore the newest checkpoint if there is one; returns its path (``None``: fresh start)."""
        path = self.latest
        if path is not None:
            # Every tracked object must find its values: a checkpoint of another model is an error, not a
            # silent partial restore.
            self.checkpoint.restore(path).assert_existing_objects_matched()
        return path

    def save(self, step: int) -> Optional[str]:
        path = self.manager.save(checkpoint_number=step)
        if not self.chief:
            shutil.rmtree(self._scratch, ignore_errors=True)
            os.makedirs(self._scratch, exist_ok=True)
            return None
        return path
