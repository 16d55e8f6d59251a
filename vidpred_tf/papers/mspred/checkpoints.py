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
"""

from __future__ import annotations

import json
import os
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.training.checkpoint import named_checkpoint_prefix, restore_model_weights

MODELS_DIR = "models"
LAST_SAVED = "checkpoint_last_saved"
FINAL = "checkpoint_epoch_final"
STATE_KEY = "task_state/.ATTRIBUTES/VARIABLE_VALUE"
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
    checkpoint['epoch']), ``scheduler`` (its state_dict), and ``epochs_completed``."""
    reader = tf.train.load_checkpoint(prefix)
    names = reader.get_variable_to_shape_map()
    state = {}
    if STATE_KEY in names:
        raw = reader.get_tensor(STATE_KEY)
        state = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    if EPOCH_KEY in names:
        state["epochs_completed"] = int(reader.get_tensor(EPOCH_KEY))
    return state


def read_original_epoch(path: str) -> Optional[int]:
    """``epoch`` of an original checkpoint dict (None for a bare state_dict or an .npz)."""
    if path.endswith(".npz"):
        return None
    from vidpred_tf.convert.torch_files import read_torch_file

    loaded = read_torch_file(path)
    if isinstance(loaded, dict) and "epoch" in loaded:
        return int(np.asarray(loaded["epoch"]))
    return None


def load_weights(model, exp_path: str, name: str) -> Tuple[str, str]:
    """Load only the model weights of ``--checkpoint name`` into a built ``model``; returns (kind, path)."""
    kind, path = resolve_checkpoint(exp_path, name)
    if kind == "port":
        from vidpred_tf.checkpoint_check import check_model_checkpoint

        check_model_checkpoint(model, path, what=f"--checkpoint {name}:")  # one line naming the misfits
        restore_model_weights(model, path)
    else:
        from vidpred_tf.convert.mspred import load_state_dict_into_model, read_state_dict

        load_state_dict_into_model(model, read_state_dict(path), source=path)
    return kind, path


def prepare_exp_params(exp_params: dict) -> dict:
    """Set ``model.HierarchLSTM.n_hmap_channels`` from the dataset, as 02/03 do after loading the data."""
    from vidpred_tf.papers.mspred.data import N_HMAP_CHANNELS

    model = exp_params["model"]
    hierarch = model.setdefault("HierarchLSTM", {})
    if hierarch.get("aux_outputs", False):
        name = exp_params["dataset"]["dataset_name"]
        if name not in N_HMAP_CHANNELS:
            raise ValueError(f"dataset.dataset_name {name!r} is not one of {sorted(N_HMAP_CHANNELS)}")
        hierarch["n_hmap_channels"] = list(N_HMAP_CHANNELS[name])
    return exp_params


def build_model_for(exp_params: dict, model_factory=None):
    """The experiment's model with its variables created (called once on zeros of the training length)."""
    from vidpred_tf.papers.mspred.experiment import hierarchical_num_preds
    from vidpred_tf.models.mspred.task import dummy_input

    if model_factory is None:
        from vidpred_tf.models.mspred.build import setup_model

        model_factory = setup_model
    model = model_factory(exp_params)
    training = exp_params["training"]
    hierarchical = "Hierarch" in exp_params["model"]["model_type"]
    num_preds = hierarchical_num_preds(exp_params) if hierarchical else training["num_preds"]
    model(tf.constant(dummy_input(exp_params)), context=int(training["context"]), num_preds=num_preds,
          training=False, seed=tf.constant([0, 0], tf.int32))
    return model


def load_model_for_evaluation(exp_dir: str, checkpoint_name: str, model_factory=None):
    """``(model, exp_params, epoch)`` for evaluation: the experiment's model with the weights of
    ``checkpoint_name`` (port checkpoint or original ``.pth``/``.npz``). ``epoch`` is the last epoch trained
    (None when the file does not say). ``exp_dir`` is an experiment path (relative ones under experiments/)."""
    from vidpred_tf.papers.mspred.experiment import load_exp_params, resolve_exp_directory

    exp_path = exp_dir if os.path.isfile(os.path.join(exp_dir, "experiment_params.json")) \
        else resolve_exp_directory(exp_dir)
    exp_params = prepare_exp_params(load_exp_params(exp_path))
    kind, path = resolve_checkpoint(exp_path, checkpoint_name)
    state_dict = None
    if kind == "original":
        from vidpred_tf.convert.mspred import load_state_dict_into_model, read_state_dict

        state_dict = read_state_dict(path)  # an unreadable or refused file is named before the model is built
    model = build_model_for(exp_params, model_factory)
    if state_dict is None:
        load_weights(model, exp_path, checkpoint_name)
    else:
        load_state_dict_into_model(model, state_dict, source=path)
    if kind == "port":
        epoch = read_port_state(path).get("epoch")
    else:
        epoch = read_original_epoch(path)
    return model, exp_params, epoch
