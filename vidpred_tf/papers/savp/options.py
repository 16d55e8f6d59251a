"""The options and hparams JSON files of SAVP's scripts, and their output-folder names.

Every SAVP script writes ``options.json`` (all its flags), ``dataset_hparams.json`` and ``model_hparams.json``
(the resolved hparams; ``json.dumps(sort_keys=True, indent=4)``) into its output folders, and reads them back
from the folder of ``--checkpoint`` (a folder, or a checkpoint prefix inside one):

* ``options.json`` gives ``dataset`` and ``model`` where the flags do not (it must exist);
* ``dataset_hparams.json`` and ``model_hparams.json`` are used when present (a note is printed otherwise).

Precedence (section 2.2 of the spec). Dataset hparams: class defaults < ``--dataset_hparams_dict`` file <
checkpoint ``dataset_hparams.json`` < ``--dataset_hparams``. Model hparams: class defaults <
``--model_hparams_dict`` file < checkpoint ``model_hparams.json`` < ``context_frames``/``sequence_length``/
``repeat`` taken from the dataset < ``--model_hparams``. (generate.py and evaluate.py have no ``*_dict`` flags.)

Output folders: train.py's default is ``<logs_dir>/<model_fname>`` + postfix (:func:`model_fname`);
generate.py's and evaluate.py's are ``<results_dir>/<basename of the checkpoint folder>``, or
``<results_dir>/model.<model>`` without a checkpoint.

Fix of quirk Q1: the scripts' ``--mode`` is the dataset split (``val`` or ``test``); the model only knows
``train`` and ``test``, and the original passed ``val`` through and crashed. :func:`model_mode` maps both
evaluation splits to the model's ``test`` mode.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.fileio import write_atomically

OPTIONS_JSON = "options.json"
DATASET_HPARAMS_JSON = "dataset_hparams.json"
MODEL_HPARAMS_JSON = "model_hparams.json"


def model_fname(model: Optional[str], model_hparams: Optional[str]) -> str:
    """train.py's folder name for a run: the text ``model=<model>,<model_hparams>`` (``None`` printed as
    ``None``, as ``'%s'`` did) with ``=`` and ``,`` turned into ``.``, brackets removed and commas inside brackets
    turned into ``..``: ``model=savp``, ``lr=2e-4,decay=[1,2]`` -> ``model.savp.lr.2e-4.decay.1..2``."""
    depth = 0
    pieces = []
    for char in "model=%s,%s" % (model, model_hparams):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "," and depth:
            pieces.append("..")
        elif char in "=,":
            pieces.append(".")
        elif char in "[]":
            continue
        else:
            pieces.append(char)
    return "".join(pieces)


def train_output_dir(logs_dir: str, model: Optional[str], model_hparams: Optional[str], postfix: str = "") -> str:
    """train.py's default ``--output_dir``: ``<logs_dir>/<model_fname>`` followed by ``--output_dir_postfix``."""
    return os.path.join(logs_dir, model_fname(model, model_hparams)) + (postfix or "")


def model_mode(dataset_mode: str) -> str:
    """The model mode for a dataset split (Q1 fixed): ``train`` -> ``train``; ``val`` and ``test`` -> ``test``."""
    if dataset_mode == "train":
        return "train"
    if dataset_mode in ("val", "test"):
        return "test"
    raise InputError(f"--mode {dataset_mode!r}: expected one of train, val, test")


def checkpoint_dir(checkpoint: str) -> str:
    """The folder of ``--checkpoint``: the path itself if it is a folder, else its parent (a checkpoint prefix
    such as ``models/bair/ours_savp/model-300000``). ``MissingInputError`` if that folder does not exist."""
    directory = os.path.normpath(checkpoint)
    if not os.path.isdir(checkpoint):
        directory = os.path.split(directory)[0]
    if not os.path.isdir(directory or "."):
        raise MissingInputError(f"--checkpoint {checkpoint}: folder {directory} does not exist")
    return directory


def read_json(path: str, what: str) -> Dict[str, Any]:
    """A JSON object from ``path``; ``MissingInputError`` / ``InputError`` naming ``what`` (a flag or file)."""
    if not os.path.isfile(path):
        raise MissingInputError(f"{what}: {path} does not exist")
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{what}: {path} is not readable JSON ({error})") from error
    if not isinstance(payload, dict):
        raise InputError(f"{what}: {path} must hold a JSON object; got {type(payload).__name__}")
    return payload


@dataclasses.dataclass
class CheckpointOptions:
    """What a checkpoint folder says about its run."""

    directory: str
    options: Dict[str, Any]
    dataset_hparams: Dict[str, Any]
    model_hparams: Dict[str, Any]


def load_checkpoint_options(checkpoint: str, log=print) -> CheckpointOptions:
    """Read ``options.json`` (required) and the two hparams JSONs (optional) of ``--checkpoint``'s folder."""
    directory = checkpoint_dir(checkpoint)
    options = read_json(os.path.join(directory, OPTIONS_JSON), f"--checkpoint {checkpoint}")
    log(f"loading options from checkpoint {checkpoint}")
    hparams = {}
    for name in (DATASET_HPARAMS_JSON, MODEL_HPARAMS_JSON):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            hparams[name] = read_json(path, f"--checkpoint {checkpoint}")
        else:
            log(f"{name} was not loaded because it does not exist")
            hparams[name] = {}
    return CheckpointOptions(directory, options, hparams[DATASET_HPARAMS_JSON], hparams[MODEL_HPARAMS_JSON])


@dataclasses.dataclass
class ResolvedOptions:
    """Dataset and model names and the hparams dicts to build them with (the comma strings come on top)."""

    dataset: str
    model: str
    dataset_hparams_dict: Dict[str, Any]
    model_hparams_dict: Dict[str, Any]
    checkpoint_dir: Optional[str]


def resolve_options(dataset: Optional[str], model: Optional[str], checkpoint: Optional[str] = None,
                    dataset_hparams_dict_path: Optional[str] = None, model_hparams_dict_path: Optional[str] = None,
                    log=print) -> ResolvedOptions:
    """The original scripts' option loading: the ``--*_hparams_dict`` files (train.py only), updated by the
    checkpoint folder's JSONs; ``--dataset``/``--model`` win over ``options.json``. Without a checkpoint both names
    are required."""
    dataset_hparams: Dict[str, Any] = {}
    model_hparams: Dict[str, Any] = {}
    if dataset_hparams_dict_path:
        dataset_hparams.update(read_json(dataset_hparams_dict_path, "--dataset_hparams_dict"))
    if model_hparams_dict_path:
        model_hparams.update(read_json(model_hparams_dict_path, "--model_hparams_dict"))
    directory = None
    if checkpoint:
        loaded = load_checkpoint_options(checkpoint, log=log)
        directory = loaded.directory
        dataset = dataset or loaded.options.get("dataset")
        model = model or loaded.options.get("model")
        dataset_hparams.update(loaded.dataset_hparams)
        model_hparams.update(loaded.model_hparams)
        if not dataset or not model:
            raise InputError(f"--checkpoint {checkpoint}: {OPTIONS_JSON} names no "
                             f"{'dataset' if not dataset else 'model'}; give --{'dataset' if not dataset else 'model'}")
    else:
        if not dataset:
            raise InputError("--dataset is required when --checkpoint is not given")
        if not model:
            raise InputError("--model is required when --checkpoint is not given")
    return ResolvedOptions(dataset, model, dataset_hparams, model_hparams, directory)


def results_output_dir(results_dir: str, output_dir: Optional[str], checkpoint_folder: Optional[str],
                       model: str) -> str:
    """generate.py's and evaluate.py's output folder: ``output_dir`` if given, else
    ``<results_dir>/<basename(checkpoint folder)>``, or ``<results_dir>/model.<model>`` without checkpoint."""
    if output_dir:
        return output_dir
    if checkpoint_folder is not None:
        return os.path.join(results_dir, os.path.split(checkpoint_folder)[1])
    return os.path.join(results_dir, "model.%s" % model)


def generate_output_dirs(results_dir: str, results_gif_dir: Optional[str], results_png_dir: Optional[str],
                         output_gif_dir: Optional[str], output_png_dir: Optional[str],
                         checkpoint_folder: Optional[str], model: str) -> Tuple[str, str]:
    """generate.py's GIF and PNG folders (``--results_*_dir`` default to ``--results_dir``)."""
    return (results_output_dir(results_gif_dir or results_dir, output_gif_dir, checkpoint_folder, model),
            results_output_dir(results_png_dir or results_dir, output_png_dir, checkpoint_folder, model))


def dumps(payload: Mapping[str, Any]) -> str:
    """The original's JSON text: sorted keys, indent 4."""
    return json.dumps(dict(payload), sort_keys=True, indent=4)


def write_text(path: str, text: str) -> None:
    def write(temp_path: str) -> None:
        with open(temp_path, "w", encoding="utf-8") as handle:
            handle.write(text)

    write_atomically(path, write)


def write_run_jsons(output_dirs: Sequence[str], options: Mapping[str, Any], dataset_hparams: Mapping[str, Any],
                    model_hparams: Mapping[str, Any]) -> None:
    """Create each folder and write ``options.json``, ``dataset_hparams.json`` and ``model_hparams.json``."""
    for output_dir in output_dirs:
        if os.path.exists(output_dir) and not os.path.isdir(output_dir):
            raise InputError(f"output folder {output_dir} is a file, not a directory")
        os.makedirs(output_dir, exist_ok=True)
        write_text(os.path.join(output_dir, OPTIONS_JSON), dumps(options))
        write_text(os.path.join(output_dir, DATASET_HPARAMS_JSON), dumps(dataset_hparams))
        write_text(os.path.join(output_dir, MODEL_HPARAMS_JSON), dumps(model_hparams))


def flag_options(flag_values, names: Sequence[str]) -> Dict[str, Any]:
    """``vars(args)`` of an absl script: ``{name: value}`` for the script's own flags, after the defaults the
    script derived (it sets them on ``flag_values`` first, as the original set them on ``args``). Any object with
    the flags as attributes works (absl's ``FLAGS``, a namespace)."""
    return {name: getattr(flag_values, name) for name in names}


def print_options(options: Mapping[str, Any], log=print) -> None:
    """The original's options banner."""
    log("----------------------------------- Options ------------------------------------")
    for name in sorted(options):
        log(name, "=", options[name])
    log("------------------------------------- End --------------------------------------")
