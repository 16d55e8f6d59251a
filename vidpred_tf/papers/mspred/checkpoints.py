"""MSPred checkpoints in ``<exp>/models/``: the port's own, and the original's ``.pth`` files.

The port saves what 02_train.py saved (model, optimizer, scheduler state, epoch) under the original's names,
each a folder holding one TensorFlow checkpoint replaced atomically (``Trainer.save_named``):

* ``checkpoint_last_saved/`` after every epoch;
* ``checkpoint_epoch_<e>/`` after epoch e when e % save_frequency == 0 and e > 0;
* ``checkpoint_epoch_final/`` at the end;
* ``emergency_checkpoint_epoch_<e>/`` when an exception or Ctrl-C stops epoch e.

``--checkpoint`` takes the README's names with or without ``.pth``: a file of exactly that name in ``models/``
(an original PyTorch checkpoint, or an ``.npz`` state_dict) is read through ``vidpred_tf.convert.mspred``;
otherwise ``.pth`` is dropped and the port's folder of that name is used.

A port checkpoint holds, beside the weights and the optimizer, the task's host-side state (``STATE_KEY``, the
JSON of ``MSPredTask.state``: the epoch and the LR scheduler's state_dict) and the trainer's epoch counter.
"""

from __future__ import annotations

import json
import os
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from vidpred_tf.checkpoint_check import check_model_checkpoint
from vidpred_tf.convert import mspred as convert_mspred
from vidpred_tf.convert import torch_files
from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.models.mspred.build import build_model
from vidpred_tf.models.mspred.params import n_hmap_channels
from vidpred_tf.models.mspred.task import STATE_OBJECT
from vidpred_tf.papers.mspred.experiment import load_exp_params, resolve_exp_directory
from vidpred_tf.training.checkpoint import named_checkpoint_prefix, restore_model_weights, task_variable_key

MODELS_DIR = "models"
LAST_SAVED = "checkpoint_last_saved"
FINAL = "checkpoint_epoch_final"
# Where the trainer saves MSPredTask's state and its own epoch counter in a checkpoint file.
STATE_KEY = task_variable_key(STATE_OBJECT)
EPOCH_KEY = "epoch/.ATTRIBUTES/VARIABLE_VALUE"


def epoch_checkpoint_name(epoch: int) -> str:
    return f"checkpoint_epoch_{epoch}"


def emergency_checkpoint_name(epoch: int) -> str:
    return f"emergency_checkpoint_epoch_{epoch}"


def models_dir(exp_path: str) -> str:
    return os.path.join(exp_path, MODELS_DIR)


def resolve_checkpoint(exp_path: str, name: str) -> Tuple[str, str]:
    """``("port", prefix)`` or ``("original", file)`` for ``--checkpoint name``; a clear error when neither exists."""
    if not name:
        raise InputError("--checkpoint is empty")
    directory = models_dir(exp_path)
    candidate = os.path.join(directory, name)
    if os.path.isfile(candidate) and name.endswith((".pth", ".pt", ".npz")):
        return "original", candidate
    stem = name[:-4] if name.endswith(".pth") else name
    prefix = named_checkpoint_prefix(os.path.join(directory, stem))
    if prefix is None:
        available = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
        raise MissingInputError(f"--checkpoint {name}: no checkpoint {stem} (port) or {name} (original file) in "
                                f"{directory}; available: {', '.join(available) or 'none'}")
    return "port", prefix


def read_port_state(prefix: str) -> dict:
    """The host-side state stored with a port checkpoint: ``epoch`` (the last epoch trained, as the original's
    checkpoint['epoch']), ``scheduler`` (its state_dict), and ``epochs_completed``. A checkpoint without that
    state (not written by 02_train.py) is an ``InputError`` naming it."""
    reader = tf.train.load_checkpoint(prefix)
    names = reader.get_variable_to_shape_map()
    if STATE_KEY not in names:
        raise InputError(f"checkpoint {prefix} holds no MSPred training state ({STATE_KEY}): it was not saved by "
                         "02_train.py")
    raw = reader.get_tensor(STATE_KEY)
    state = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    if EPOCH_KEY in names:
        state["epochs_completed"] = int(reader.get_tensor(EPOCH_KEY))
    return state


def read_original_state_dict(path: str) -> dict:
    """The model state_dict of an original checkpoint file (``.pth`` checkpoint dict or state_dict, ``.npz``);
    an ``InputError`` naming the file when it is unreadable or refused."""
    return torch_files.read_state_dict(path, unwrap=(convert_mspred.STATE_DICT_KEY,))


def read_original_epoch(path: str) -> Optional[int]:
    """``epoch`` of an original checkpoint dict (None for a bare state_dict or an .npz)."""
    if path.endswith(".npz"):
        return None
    loaded = torch_files.read_torch_file(path)
    if isinstance(loaded, dict) and "epoch" in loaded:
        return int(np.asarray(loaded["epoch"]))
    return None


def load_weights(model, exp_path: str, name: str) -> Tuple[str, str]:
    """Load only the model weights of ``--checkpoint name`` into a built ``model``; returns (kind, path)."""
    kind, path = resolve_checkpoint(exp_path, name)
    if kind == "port":
        check_model_checkpoint(model, path, what=f"--checkpoint {name}:")  # one line naming the misfits
        restore_model_weights(model, path)
    else:
        convert_mspred.load(model, path)
    return kind, path


def prepare_exp_params(exp_params: dict) -> dict:
    """Set ``model.HierarchLSTM.n_hmap_channels`` from the dataset, as 02/03 do after loading the data."""
    model = exp_params["model"]
    hierarch = model.setdefault("HierarchLSTM", {})
    if hierarch.get("aux_outputs", False):
        hierarch["n_hmap_channels"] = n_hmap_channels(exp_params["dataset"]["dataset_name"])
    return exp_params


def load_model_for_evaluation(exp_dir: str, checkpoint_name: str, model_factory=None):
    """``(model, exp_params, epoch)`` for evaluation: the experiment's model with the weights of
    ``checkpoint_name`` (port checkpoint or original ``.pth``/``.npz``). ``epoch`` is the last epoch trained
    (None when the file does not say). ``exp_dir`` is an experiment path (relative ones under experiments/)."""
    exp_path = exp_dir if os.path.isfile(os.path.join(exp_dir, "experiment_params.json")) \
        else resolve_exp_directory(exp_dir)
    exp_params = prepare_exp_params(load_exp_params(exp_path))
    kind, path = resolve_checkpoint(exp_path, checkpoint_name)
    state_dict = None
    if kind == "original":
        state_dict = read_original_state_dict(path)  # an unreadable or refused file is named before the build
    model = build_model(exp_params, model_factory)
    if state_dict is None:
        load_weights(model, exp_path, checkpoint_name)
    else:
        convert_mspred.load(model, state_dict, source=path)
    if kind == "port":
        epoch = read_port_state(path).get("epoch")
    else:
        epoch = read_original_epoch(path)
    return model, exp_params, epoch
