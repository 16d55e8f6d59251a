"""MSPred experiment directories, as the original CONFIG.py, lib/config.py, lib/logger.py and lib/arguments.py.

An experiment is ``<cwd>/experiments/<exp_directory>/<name>/`` holding ``experiment_params.json`` (groups
dataset, model, loss, training, eval and _general), ``logs.txt`` (timestamped lines appended by every script),
``plots/`` and ``tboard_logs/``; training adds ``models/`` and ``model_architecture.txt``.

``DEFAULTS`` is the original's dict with one bug fixed: the original names the model ``model.model_name``
(02_train.py reads ``model.model_type``) and has no ``training.patience``, so an experiment created without
``--config`` could not be trained. Here ``model_type`` is "SpatioTempHierarchConvLSTM" and ``patience`` 20 (the
value of the three shipped configs). The shipped configs are package data (``vidpred_tf/models/mspred/configs``).
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import traceback
from typing import Mapping, Optional

from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.fileio import write_atomically, write_json
from vidpred_tf.models.mspred import CONFIGS_DIR as MODEL_CONFIGS_DIR

PARAMS_FILE = "experiment_params.json"
LOGS_FILE = "logs.txt"
ARCHITECTURE_FILE = "model_architecture.txt"
CONFIGS_DIR = os.fspath(MODEL_CONFIGS_DIR)
GROUPS = ("dataset", "model", "loss", "training", "eval")
# Groups whose missing keys aux_update_exp_params fills from DEFAULTS (the original leaves "eval" alone).
UPDATED_GROUPS = ("dataset", "model", "training", "loss")
MESSAGE_TYPES = ("new_exp", "info", "warning", "error", "params")

DEFAULTS = {
    "dataset": {
        "dataset_name": "custom_moving_mnist",
        "img_size": 64,
        "num_channels": 3,
    },
    "model": {
        "model_type": "SpatioTempHierarchConvLSTM",  # the original wrote "model_name", which nothing reads
        "enc_dec_type": "DCGAN",
        "enc_dec": {"dim": 512, "num_filters": 64, "extra_deep": False},
        "LSTM": {"num_layers": 2, "hidden_dim": 256},
        "LSTM_Prior": {"latent_dim": 10, "num_layers": 1, "hidden_dim": 64},
        "LSTM_Posterior": {"latent_dim": 10, "num_layers": 1, "hidden_dim": 64},
        "HierarchLSTM": {
            "num_layers": 4,
            "num_hierarch": 3,
            "periods": [1, 4, 8],
            "hidden_dim": 128,
            "aux_outputs": True,
            "stochastic": True,
            "ancestral_sampling": True,
        },
        "autoreg_mode": "LAST_PRED_FEATS",
        "last_context_residuals": True,
    },
    "loss": {
        "reconst_losses": ["mse", "mse", "mse"],
        "w_easy_kpts": 0.7,
        "beta": 1e-4,
        "beta0": 1e-4,
        "beta_warmup_steps": 0,
        "alphas": [1.0, 0.5, 0.5],
    },
    "training": {
        "num_iters": 500,
        "num_epochs": 200,
        "save_frequency": 30,
        "log_frequency": 250,
        "batch_size": 8,
        "lr": 1e-3,
        "lr_factor": 0.1,
        "lr_warmup_steps": 10,
        "lr_decay_steps": [50, 100],
        "patience": 20,  # missing in the original, whose plateau/step schedulers read it
        "momentum": 0,
        "nesterov": False,
        "optimizer": "adam",
        "scheduler": "warmup",
        "tf_epochs": 0,
        "context": 5,
        "num_preds": 5,
    },
    "eval": {
        "batch_size": 8,
        "context": 5,
        "num_preds": 5,
        "openloop_gen": False,
    },
}


def timestamp() -> str:
    """``YYYY-MM-DD_HH-MM-SS``, the original's experiment and TensorBoard folder suffix."""
    return datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def experiments_root() -> str:
    """``<cwd>/experiments``: as the original, scripts are run from the repository root."""
    return os.path.join(os.getcwd(), "experiments")


def available_configs() -> list:
    """Names of the shipped configs (without ``.json``)."""
    if not os.path.isdir(CONFIGS_DIR):
        return []
    return sorted(name[:-5] for name in os.listdir(CONFIGS_DIR) if name.endswith(".json"))


def config_path(config: str) -> str:
    """The json file of ``--config``: a shipped config name (".json" appended when missing) or a json path."""
    if not config:
        raise InputError("--config is empty")
    if os.path.isfile(config):
        return os.path.abspath(config)
    name = config if config.endswith(".json") else f"{config}.json"
    path = os.path.join(CONFIGS_DIR, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--config={config}: no config {name} in {CONFIGS_DIR} "
                                f"(available: {', '.join(available_configs()) or 'none'}) and no such file")
    return path


def load_config(config: Optional[str]) -> dict:
    """The parameter groups of ``--config`` (a deep copy of DEFAULTS when ``config`` is None or empty)."""
    if not config:
        return copy.deepcopy(DEFAULTS)
    path = config_path(config)
    try:
        with open(path, encoding="utf-8") as handle:
            params = json.load(handle)
    except json.JSONDecodeError as err:
        raise InputError(f"config {path} is not valid JSON: {err}") from err
    missing = [group for group in GROUPS if group not in params]
    if missing:
        raise InputError(f"config {path} lacks the groups {missing}")
    return params


def resolve_exp_directory(exp_directory: str, create: bool = False) -> str:
    """The absolute experiment path of ``-d`` (lib/arguments.process_experiment_directory_argument).

    A leading ``experiments/`` is stripped and the rest is taken under ``<cwd>/experiments``; an absolute path
    inside the experiments folder is kept. A missing directory is created with ``create``, otherwise an error.
    """
    if not exp_directory:
        raise InputError("-d/--exp_directory is empty")
    root = experiments_root()
    path = os.path.normpath(exp_directory)
    if not os.path.isabs(path):
        parts = path.split(os.sep)
        if parts[0] == os.path.basename(root):
            parts = parts[1:]
        path = os.path.join(root, *parts) if parts else root
    if not os.path.isdir(path):
        if not create:
            raise MissingInputError(f"-d {exp_directory}: experiment directory {path} does not exist "
                                    f"(relative paths are taken under {root})")
        os.makedirs(path, exist_ok=True)
    return path


class Logger:
    """Appends ``<YYYY-MM-DD-HH:MM:SS>    <TYPE>: message`` lines to ``<exp>/logs.txt`` (lib/logger.Logger).

    ``new_exp`` messages are preceded by three blank lines. Unlike the original, an ``error`` message does not
    exit the program: the caller decides. With ``hold`` the lines are kept in memory until :meth:`release`
    (called once the run's inputs are checked), so a run refused for bad input leaves ``logs.txt`` as it was.
    """

    def __init__(self, exp_path: str, file_name: str = LOGS_FILE, hold: bool = False):
        self.logs_path = os.path.join(exp_path, file_name)
        self._held = [] if hold else None

    def release(self) -> None:
        """Write the held lines (if any) and write every later line at once."""
        held, self._held = self._held, None
        if held:
            self._write("".join(held))

    def _write(self, text: str) -> None:
        with open(self.logs_path, "a", encoding="utf-8") as handle:
            handle.write(text)

    def log_info(self, message: str, message_type: str = "info") -> None:
        if message_type not in MESSAGE_TYPES:
            message_type = "info"
        prefix = "\n\n\n" if message_type == "new_exp" else ""
        now = datetime.datetime.now().strftime("%Y-%m-%d-%H:%M:%S")
        line = f"{prefix}{now}    {message_type.upper()}: {message}\n"
        if self._held is not None:
            self._held.append(line)
        else:
            self._write(line)

    def print_(self, message: str, message_type: str = "info") -> None:
        """Print and log (the original's ``print_``)."""
        print(message, flush=True)
        self.log_info(message, message_type)

    def log_params(self, params: Mapping) -> None:
        for name, value in params.items():
            self.log_info(f"    {name}:{value}", message_type="params")

    def log_exception(self, error: BaseException) -> None:
        self.log_info("".join(traceback.format_exception(type(error), error, error.__traceback__)), "error")


def create_experiment(exp_directory: str, name: Optional[str] = None, config: Optional[str] = None) -> str:
    """01_create_experiment.py: make ``experiments/<exp_directory>/<name>`` with its json; returns its path.

    ``name`` None or empty gives ``experiment_<timestamp>``. An existing experiment is never overwritten
    (``FileExistsError``). A bad ``config`` removes nothing that existed before and leaves no experiment behind.
    """
    params = load_config(config)  # first, so that a bad --config creates no folder
    name = name if name else f"experiment_{timestamp()}"
    parent = resolve_exp_directory(exp_directory, create=True)
    exp_path = os.path.join(parent, name)
    if os.path.exists(exp_path):
        raise FileExistsError(f"Experiment {name} already in experiment directory {parent}: not overwriting it")
    os.makedirs(exp_path)
    logger = Logger(exp_path)
    # The original's logged create_directory calls start logs.txt even without --config: so does this line.
    logger.log_info(f"Creating experiment {name} in {parent}")
    os.makedirs(os.path.join(exp_path, "plots"))
    os.makedirs(os.path.join(exp_path, "tboard_logs"))
    now = timestamp()
    params["_general"] = {
        "config": config_path(config) if config else "DEFAULTS",
        "exp_path": exp_path,
        "created_time": now,
        "last_loaded": now,
    }
    if config:
        logger.print_(f"Creating experiment parameters file from config {config}...")
    write_json(os.path.join(exp_path, PARAMS_FILE), params)
    return exp_path


def load_exp_params(exp_path: str) -> dict:
    """``<exp>/experiment_params.json`` with ``_general.last_loaded`` set to now (as lib/config does)."""
    path = os.path.join(exp_path, PARAMS_FILE)
    if not os.path.isfile(path):
        raise MissingInputError(f"experiment parameters file {path} does not exist")
    try:
        with open(path, encoding="utf-8") as handle:
            params = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(params, dict):
        raise InputError(f"{path}: expected a JSON object of parameter groups; got {type(params).__name__}")
    missing = [group for group in GROUPS if group not in params]
    if missing:
        raise InputError(f"{path} lacks the parameter groups {missing}")
    params.setdefault("_general", {"exp_path": exp_path})
    params["_general"]["last_loaded"] = timestamp()
    return params


def save_exp_params(exp_path: str, params: Mapping) -> None:
    write_json(os.path.join(exp_path, PARAMS_FILE), params)


def update_config(exp_params: dict) -> dict:
    """Fill the keys missing from the dataset, model, training and loss groups with DEFAULTS (one level of
    nested dicts deep), as lib/config.Config.update_config; existing values are kept."""
    for group in UPDATED_GROUPS:
        target = exp_params.setdefault(group, {})
        for key, default in DEFAULTS[group].items():
            if key not in target:
                target[key] = {} if isinstance(default, dict) else copy.deepcopy(default)
            if isinstance(default, dict):
                for inner, value in default.items():
                    target[key].setdefault(inner, copy.deepcopy(value))
    return exp_params


def aux_update_exp_params(exp_path: str) -> dict:
    """aux_update_exp_params.py: rewrite the experiment's json with the missing DEFAULTS keys added."""
    params = update_config(load_exp_params(exp_path))
    save_exp_params(exp_path, params)
    return params


def write_model_architecture(model, exp_path: str) -> str:
    """``model_architecture.txt``: the total trainable parameter count, then per child layer its count and a
    summary line (lib/utils.log_architecture; the Keras layer's name and class stand in for the torch repr)."""
    def count(layer) -> int:
        return int(sum(int(v.numpy().size) for v in layer.trainable_weights))

    def children(layer) -> list:
        return list(layer._flatten_layers(include_self=False, recursive=False))

    lines = [f"Total Params: {count(model)}"]
    for layer in children(model):
        lines.append("")
        lines.append(f"Params: {count(layer)}")
        lines.append(f"{layer.name} ({type(layer).__name__})")
        for child in children(layer):
            lines.append(f"  ({child.name}): {type(child).__name__} - {count(child)} params")
    path = os.path.join(exp_path, ARCHITECTURE_FILE)

    def write(temp_path: str) -> None:
        with open(temp_path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    write_atomically(path, write)
    return path
