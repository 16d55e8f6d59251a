"""hierchvid (Villegas et al. 2017) TF1 checkpoints <-> the port's weights, by the original variable names.

Every hierchvid network of the port exposes ``original_variables()`` (original TF1 name -> variable): the pose LSTM
(``lm_enc/*``, ``GEN/G_LSTM/rnn/multi_rnn_cell/cell_<k>/basic_lstm_cell/*``, ``GEN/G_LSTM/dec_fc2/*``) and the
image generator / discriminator (``GEN/<layer>/{w,biases}``, ``DIS/...``). The port keeps the original layouts
(linear ``[in, out]``, LSTM kernel ``[in + h, 4h]`` with gates i, j, f, o, conv ``[k, k, in, out]``, deconv
``[k, k, out, in]``), so no value is transformed.

The original's ``tf.train.Saver`` writes every global variable; loading keeps only what the model has:

* training state is skipped: the step ``Variable``, the RMSProp slots ``<var>/optimizer`` and ``<var>/optimizer_1``
  (the LSTM's optimiser is named ``optimizer``), Adam slots ``<var>/Adam[_1]`` with ``beta1_power``/``beta2_power``,
  and the ``Variable_N`` copies of the frozen perceptual networks in an image-generator train checkpoint;
* names under a top-level scope the model has none of are skipped (``DIS/*`` when only the generator is loaded,
  as the original's test graph restores GEN alone from a train checkpoint);
* every other name must be one of the model's, with its shape, and every model variable must be there
  (``CheckpointMismatchError`` naming the first misfit; nothing is assigned unless all fit).

``load(model, path)``, ``export(model, path)``, ``main(argv)``::

    python -m vidpred_tf.convert.hierchvid --dataset penn --checkpoint models/PENNACTION_DET_LSTM_... \\
        --output det_lstm_penn.weights.h5
    python -m vidpred_tf.convert.hierchvid --dataset penn --to_tf1 --checkpoint det_lstm_penn.weights.h5 \\
        --output exported/DET_LSTM.model-0

An exported checkpoint gets a ``checkpoint`` state file, so the original's ``load`` (``get_checkpoint_state``)
finds it; with ``optimizer=`` (a ``TF1RMSProp``) it also holds the step and the RMSProp slots, which the original
train script's ``Saver`` needs to resume.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Callable, Dict, Mapping, Optional, Sequence

import numpy as np

from vidpred_tf.checkpoint_check import checkpoint_reader, read_tensor
from vidpred_tf.convert.port_weights import load_port_weights, save_port_weights
from vidpred_tf.convert.tf1 import (
    DEFAULT_SKIP,
    CheckpointMismatchError,
    LoadReport,
    checkpoint_prefix,
    load_tf1_checkpoint,
    write_tf1_checkpoint,
)
from vidpred_tf.errors import InputError
from vidpred_tf.models.hierchvid.pose_lstm import PRESETS, PoseLSTM
from vidpred_tf.training.optimizers import TF1RMSProp

# DEFAULT_SKIP drops the top-level Variable / Variable_N (global step, perceptual copies), Adam slots and the beta
# powers; the LSTM's RMSPropOptimizer(name='optimizer') adds slots named after it.
RMSPROP_SLOTS = ("optimizer", "optimizer_1")  # mean square, momentum
TRAINING_ONLY = tuple(DEFAULT_SKIP) + (r"(^|/)optimizer(_\d+)?$",)
STEP_NAME = "Variable"


def original_mapping(model) -> Dict[str, object]:
    """``{original name: variable}`` of ``model.original_variables()`` (a dict, or a list of pairs)."""
    variables = model.original_variables()
    return dict(variables.items() if isinstance(variables, Mapping) else variables)


def _foreign_scopes_pattern(mapping: Mapping[str, object]) -> str:
    """A regex matching the names outside every top-level scope of ``mapping``."""
    scopes = sorted({name.split("/", 1)[0] for name in mapping})
    return r"^(?!(?:" + "|".join(re.escape(s) for s in scopes) + r")(?:/|$))"


def skip_patterns(model) -> tuple:
    """What ``load`` leaves out of a checkpoint for ``model``: training state and other networks' scopes."""
    return TRAINING_ONLY + (_foreign_scopes_pattern(original_mapping(model)),)


def load(model, path: str) -> LoadReport:
    """Assign ``model`` from the original TF1 checkpoint at ``path`` (prefix, ``.index`` or a folder with a
    ``checkpoint`` file); nothing is assigned unless every variable fits (``CheckpointMismatchError``)."""
    return load_tf1_checkpoint(path, original_mapping(model), skip=skip_patterns(model))


def load_rmsprop_slots(model, optimizer: TF1RMSProp, path: str) -> int:
    """Set ``optimizer``'s slots (built over ``model``'s variables) from the original's ``<var>/optimizer`` (mean
    square) and ``<var>/optimizer_1`` (momentum), and its step from ``Variable`` when present (the original saved
    a doubled step, spec section 8: the value is taken as it is). Returns the step read (0 without one)."""
    prefix = checkpoint_prefix(path)
    reader, names = checkpoint_reader(prefix)
    mapping = original_mapping(model)
    values = {}
    for name, variable in mapping.items():
        for slot_name, slot in zip(RMSPROP_SLOTS, optimizer.slots(variable)):
            key = f"{name}/{slot_name}"
            if key not in names:
                raise CheckpointMismatchError(f"checkpoint {prefix}: RMSProp slot {key!r} is missing")
            if tuple(names[key]) != tuple(slot.shape):
                raise CheckpointMismatchError(f"checkpoint {prefix}: RMSProp slot {key!r} has shape "
                                              f"{tuple(names[key])} but the port expects {tuple(slot.shape)}")
            values[key] = (slot, read_tensor(reader, key, prefix))
    for slot, value in values.values():
        slot.assign(np.asarray(value, np.float32))
    step = int(read_tensor(reader, STEP_NAME, prefix)) if STEP_NAME in names else 0
    optimizer.iterations.assign(step)
    return step


def export(model, path: str, optimizer: Optional[TF1RMSProp] = None) -> str:
    """The model's variables under their original names at TF1 prefix ``path``, plus a ``checkpoint`` state file
    naming it. With ``optimizer`` (a ``TF1RMSProp`` built over the model), also ``Variable`` (its step) and the
    RMSProp slots, i.e. everything the original train graph's ``Saver`` restores."""
    mapping = original_mapping(model)
    values = {name: np.asarray(variable.numpy()) for name, variable in mapping.items()}
    if optimizer is not None:
        for name, variable in mapping.items():
            for slot_name, slot in zip(RMSPROP_SLOTS, optimizer.slots(variable)):
                values[f"{name}/{slot_name}"] = np.asarray(slot.numpy())
        values[STEP_NAME] = np.int32(int(optimizer.iterations.numpy()))
    prefix = write_tf1_checkpoint(path, values)
    directory, base = os.path.split(os.path.abspath(prefix))
    with open(os.path.join(directory, "checkpoint"), "w", encoding="utf-8") as handle:
        handle.write(f'model_checkpoint_path: "{base}"\nall_model_checkpoint_paths: "{base}"\n')
    return prefix


# Command line -----------------------------------------------------------------------------------------------------

def _pose_lstm(args) -> PoseLSTM:
    return PoseLSTM(PRESETS[args.dataset](num_layer=args.num_layer, lstm_units=args.lstm_units))


# --part -> builder of the port's network from the parsed flags.
BUILDERS: Dict[str, Callable] = {"lstm": _pose_lstm}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vidpred_tf.convert.hierchvid",
                                     description="Convert an original hierchvid TF1 checkpoint into the port's "
                                                 "weights (or back).")
    parser.add_argument("--checkpoint", required=True, help="original checkpoint folder or prefix (with --to_tf1: "
                        "the port's .weights.h5 or TF2 checkpoint prefix)")
    parser.add_argument("--output", required=True, help=".weights.h5 file or TF2 checkpoint prefix (with "
                        "--to_tf1: TF1 checkpoint prefix, e.g. models/<prefix>/DET_LSTM.model-0)")
    parser.add_argument("--to_tf1", action="store_true", help="convert port weights into an original checkpoint")
    parser.add_argument("--part", choices=sorted(BUILDERS), default="lstm", help="which network")
    parser.add_argument("--dataset", choices=sorted(PRESETS), default="penn",
                        help="penn (13 joints) or h36m (32 joints)")
    parser.add_argument("--num_layer", type=int, default=1)
    parser.add_argument("--lstm_units", type=int, default=1024)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        model = BUILDERS[args.part](args)
        if args.to_tf1:
            load_port_weights(model, args.checkpoint)
            prefix = export(model, args.output)
            print(f"{args.checkpoint} -> {prefix} ({len(original_mapping(model))} variables)")
        else:
            report = load(model, args.checkpoint)
            save_port_weights(model, args.output)
            print(f"{report.checkpoint}: {len(report.loaded)} variables -> {args.output} "
                  f"({len(report.skipped)} training-state / other-network entries skipped)")
    except (InputError, FileNotFoundError) as err:
        print(f"{_parser().prog}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
