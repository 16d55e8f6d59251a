"""SAVP (alexlee-gk/video_prediction) TF1 checkpoints <-> the port's ``VideoPredictionModel`` weights.

The original's ``train.py`` saves ``model-<step>`` with a ``tf.train.Saver`` over the global step and every
global variable the model made: the weights under their TF1 names (``generator/...``, ``discriminator/...``,
the spectral-norm ``.../u``), the Adam slots ``<var>/Adam``, ``<var>/Adam_1`` and ``beta{1,2}_power(_1)`` of
its two optimisers. The slots and the step are skipped; every other name must be a variable of the port
(``VideoPredictionModel.original_variables()``), 1:1, same shape. Kernel layouts and the gate order i, j, f, o
of the TF1 LSTM cells are kept by the port, so no value is transformed.

* Older checkpoints name the cell ``dna_cell`` instead of ``savp_cell``; as the original's
  ``SAVPVideoPredictionModel.restore`` did, a ``savp_cell`` name missing from the file is read as ``dna_cell``.
* A test-mode model has no discriminator: the file's ``discriminator/...`` entries are then ignored (generate
  and evaluate load the generator of a training checkpoint).
* Multi-GPU checkpoints made with ``--aggregate_nccl 1`` hold tower 0's variables under the plain names and
  replicas under ``v1/``, ``v2/``...: the replicas are ignored.

``load(model, path)``, ``export(model, path)``, ``main(argv)`` (``vidpred convert savp``)::

    python -m vidpred_tf.convert.savp --checkpoint pretrained_models/bair_action_free/ours_savp \\
        --output ours_savp.weights.h5
    python -m vidpred_tf.convert.savp --to_tf1 --checkpoint ours_savp.weights.h5 \\
        --options_dir pretrained_models/bair_action_free/ours_savp --output exported/model-300000

The model is built from the checkpoint folder's ``options.json`` / ``model_hparams.json`` /
``dataset_hparams.json`` (as generate.py does) with the image shape of the port's ``vidpred_model.json`` (written
by train.py) or else of the dataset, or from ``--model``, ``--model_hparams(_dict)`` and ``--image_shape``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, Optional, Sequence

from vidpred_tf.convert.port_weights import load_port_weights, save_port_weights
from vidpred_tf.convert.tf1 import (
    DEFAULT_SKIP,
    CheckpointMismatchError,
    LoadReport,
    load_tf1_checkpoint,
    tf1_names,
    write_tf1_checkpoint,
)
from vidpred_tf.errors import InputError
from vidpred_tf.manifest import read_manifest
from vidpred_tf.models.savp.model import MODEL_NAMES, build_model, model_hparams_with_dataset, resolve_model_hparams

# Tower replicas of --aggregate_nccl 1 (v1/..., v2/...) are not weights of the model.
SKIP = tuple(DEFAULT_SKIP) + (r"^v\d+/",)
OLD_CELL, CELL = "dna_cell", "savp_cell"
# The frames and actions/states of the datasets the published models were trained on (BAIR, KTH), for a published
# checkpoint folder, which records only options.json and the hparams; other datasets need --image_shape.
DATASET_IMAGE_SHAPES = {"bair": (64, 64, 3), "softmotion": (64, 64, 3), "kth": (64, 64, 1)}
DATASET_ACTION_STATE = {"bair": (4, 3), "softmotion": (4, 3)}


def _mapping(model, path: str) -> Dict[str, object]:
    """The model's TF1 names, with ``savp_cell`` read as ``dna_cell`` where the file has only the old name."""
    in_file = tf1_names(path, skip=SKIP)
    mapping = {}
    for name, variable in model.original_variables().items():
        if name not in in_file and f"/{CELL}/" in name:
            old = name.replace(f"/{CELL}/", f"/{OLD_CELL}/")
            if old in in_file:
                name = old
        mapping[name] = variable
    return mapping


def load(model, path: str) -> LoadReport:
    """Assign ``model`` from the original TF1 checkpoint at ``path`` (prefix, ``.index`` or folder); nothing is
    assigned unless every variable fits (``CheckpointMismatchError`` names the first misfit)."""
    include = r"^(generator|discriminator)/" if model.discriminator is not None else r"^generator/"
    return load_tf1_checkpoint(path, _mapping(model, path), skip=SKIP, include=include)


def export(model, path: str) -> str:
    """The model's variables under their original names at TF1 prefix ``path`` (no optimiser slots), atomically."""
    values = {name: variable.numpy() for name, variable in model.original_variables().items()}
    return write_tf1_checkpoint(path, values)


def checkpoint_dir(path: str) -> str:
    """The folder of a checkpoint given as a folder or a prefix (the original's ``--checkpoint`` rule)."""
    path = os.path.normpath(path)
    return path if os.path.isdir(path) else os.path.dirname(path)


def _read_json(path: str) -> Optional[dict]:
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable JSON file ({err})") from err


def model_from_checkpoint_folder(folder: str, model_name: Optional[str] = None, model_hparams: Optional[str] = None,
                                 model_hparams_dict: Optional[dict] = None, image_shape=None, mode: str = "test",
                                 sequence_length: Optional[int] = None):
    """Build the model a checkpoint folder describes (``options.json``, ``model_hparams.json``,
    ``dataset_hparams.json``), with the caller's overrides on top, as generate.py/evaluate.py did."""
    options = _read_json(os.path.join(folder, "options.json")) or {}
    hparams_dict = dict(_read_json(os.path.join(folder, "model_hparams.json")) or {})
    hparams_dict.update(model_hparams_dict or {})
    dataset_hparams = _read_json(os.path.join(folder, "dataset_hparams.json")) or {}
    model_name = model_name or options.get("model")
    if not model_name:
        raise InputError(f"{folder}: no options.json naming the model; pass --model")
    dataset = options.get("dataset")
    use_state = bool(dataset_hparams.get("use_state", False))
    action_dim, state_dim = DATASET_ACTION_STATE.get(dataset, (0, 0)) if use_state else (0, 0)
    # The port's train.py records the shapes it trained on beside the checkpoints (vidpred_model.json); the
    # published folders have only the original's JSONs, and their datasets' shapes.
    manifest = read_manifest(folder)
    if manifest is not None and image_shape is None:
        image_shape = tuple(manifest["image_size"]) + (int(manifest["channels"]),)
        action_dim = int(manifest["config"].get("action_dim", action_dim))
        state_dim = int(manifest["config"].get("state_dim", state_dim))
    if image_shape is None:
        if dataset not in DATASET_IMAGE_SHAPES:
            raise InputError(f"{folder}: cannot tell the image shape of dataset {dataset!r}; pass --image_shape")
        image_shape = DATASET_IMAGE_SHAPES[dataset]
        if dataset_hparams.get("scale_size") or dataset_hparams.get("crop_size"):
            size = int(dataset_hparams.get("scale_size") or dataset_hparams.get("crop_size"))
            image_shape = (size, size, image_shape[2])
    if all(key in dataset_hparams for key in ("context_frames", "sequence_length", "time_shift")):
        hparams_dict = model_hparams_with_dataset(hparams_dict, dataset_hparams)
    if sequence_length is not None:
        hparams_dict["sequence_length"] = sequence_length
    hparams = resolve_model_hparams(model_name, hparams_dict, model_hparams)
    return build_model(model_name, hparams, image_shape, action_dim, state_dim, mode=mode)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vidpred_tf.convert.savp",
        description="Convert an original SAVP TF1 checkpoint into the port's weights (or back).")
    parser.add_argument("--checkpoint", required=True, help="original checkpoint folder or prefix (with --to_tf1: "
                        "the port's .weights.h5 or TF2 checkpoint prefix)")
    parser.add_argument("--output", required=True, help=".weights.h5 file or TF2 checkpoint prefix (with "
                        "--to_tf1: TF1 checkpoint prefix)")
    parser.add_argument("--to_tf1", action="store_true", help="convert port weights into an original checkpoint")
    parser.add_argument("--options_dir", help="folder with options.json / model_hparams.json / dataset_hparams.json "
                        "(default: the checkpoint's folder)")
    parser.add_argument("--model", choices=MODEL_NAMES, help="model name (default: options.json)")
    parser.add_argument("--model_hparams", help="comma list of model hparams overrides")
    parser.add_argument("--model_hparams_dict", help="JSON file of model hparams")
    parser.add_argument("--image_shape", help="H,W,C (default: from the dataset in options.json)")
    parser.add_argument("--mode", choices=("train", "test"), default="train",
                        help="train: generator and discriminator; test: the generator only")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        folder = args.options_dir or checkpoint_dir(args.checkpoint)
        hparams_dict = _read_json(args.model_hparams_dict) if args.model_hparams_dict else None
        if args.model_hparams_dict and hparams_dict is None:
            raise InputError(f"--model_hparams_dict: {args.model_hparams_dict} does not exist")
        image_shape = None
        if args.image_shape:
            try:
                image_shape = tuple(int(v) for v in args.image_shape.split(","))
            except ValueError:
                raise InputError(f"--image_shape: expected H,W,C; got {args.image_shape!r}") from None
        model = model_from_checkpoint_folder(folder, args.model, args.model_hparams, hparams_dict, image_shape,
                                             mode=args.mode)
        if args.to_tf1:
            load_port_weights(model, args.checkpoint)
            export(model, args.output)
            print(f"wrote original checkpoint {args.output} ({model.parameter_count()} parameters)")
        else:
            report = load(model, args.checkpoint)
            save_port_weights(model, args.output)
            print(f"loaded {len(report.loaded)} variables from {report.checkpoint} ({len(report.skipped)} names "
                  f"skipped); wrote {args.output} ({model.parameter_count()} trainable parameters)")
    except (InputError, FileNotFoundError, CheckpointMismatchError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2 if isinstance(err, InputError) and not isinstance(err, CheckpointMismatchError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
