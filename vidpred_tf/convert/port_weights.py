"""The port's own weight files, which every converter writes and reads back: Keras ``.weights.h5`` or a TF2
checkpoint prefix in the trainer's layout (``vidpred_tf.training.checkpoint.model_checkpoint``, what the paper
scripts' ``--checkpoint``/``--pretrained_model`` flags read). Both are written atomically."""

from __future__ import annotations

import os
import tempfile

import keras

from vidpred_tf.fileio import save_keras_weights
from vidpred_tf.training.checkpoint import model_checkpoint, restore_model_weights


def move_staged_checkpoint(staging_dir: str, staging_prefix: str, prefix: str) -> None:
    """Move ``staging_prefix.*`` to ``prefix.*``, the index last (it is what readers look for)."""
    base = os.path.basename(staging_prefix)
    index = None
    for name in sorted(os.listdir(staging_dir)):
        if not name.startswith(base + "."):
            continue
        target = prefix + name[len(base):]
        if name.endswith(".index"):
            index = (os.path.join(staging_dir, name), target)
        else:
            os.replace(os.path.join(staging_dir, name), target)
    if index is not None:
        os.replace(*index)


def save_port_weights(model: keras.Model, output: str) -> str:
    """``.weights.h5`` (Keras) or a TF2 checkpoint prefix, written atomically; returns ``output``."""
    output = os.fspath(output)
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, exist_ok=True)
    if output.endswith(".weights.h5"):
        return save_keras_weights(model, output)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".tf2ckpt-") as staging_dir:
        staging_prefix = os.path.join(staging_dir, "ckpt")
        model_checkpoint(model).write(staging_prefix)
        move_staged_checkpoint(staging_dir, staging_prefix, output)
    return output


def load_port_weights(model: keras.Model, path: str) -> None:
    """Inverse of :func:`save_port_weights` (a trainer checkpoint's optimiser and step are ignored)."""
    path = os.fspath(path)
    if path.endswith(".weights.h5"):
        if not os.path.exists(path):
            raise FileNotFoundError(f"weights file {path} not found")
        model.load_weights(path)
        return
    if not os.path.exists(path + ".index"):
        raise FileNotFoundError(f"TF2 checkpoint {path} not found (no {path}.index)")
    restore_model_weights(model, path)
