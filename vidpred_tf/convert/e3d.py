"""E3D-LSTM study (kevinstan/video_prediction) TF1 checkpoints <-> the port's ``E3DLSTM`` weights.

The original saves every global variable under its TF1 name (``generator/e3d-lstm/e3d0/conv3d/kernel``...),
plus hand-written Adam slots ``Variable_*`` and EMA shadows ``*/ExponentialMovingAverage``; the slots are
skipped, the shadows are loaded instead of the weights with ``use_ema``. Kernel layouts are the same as
Keras' (``[kd, kh, kw, in, out]``), so no value is transformed. The names come from
``E3DLSTM.original_variables()``; reading and writing is the shared :mod:`vidpred_tf.convert.tf1`.

* ``load(model, path, *, use_ema=False)``: an original checkpoint into the model (strict: every name 1:1);
* ``export(model, path)``: the model as a checkpoint in the original's names (model variables only);
* ``main(argv)``: the command line (``vidpred convert e3d``)::

    python -m vidpred_tf.convert.e3d --checkpoint pretrain/model.ckpt-80000 --model_name original_e3d_lstm \\
        --preset mnist --cell_kernel 2,5,5 --output mm_e3d.weights.h5
    python -m vidpred_tf.convert.e3d --to_tf1 --checkpoint mm_e3d.weights.h5 --model_name ... --output model.ckpt

``--output`` ending in ``.weights.h5`` writes Keras weights, anything else a TF2 checkpoint prefix in the
trainer's layout (``vidpred_tf.training.checkpoint.model_checkpoint``, which ``--pretrained_model`` reads).
Google's pretrained E3D-LSTM checkpoints have the upstream architecture: ``original_e3d_lstm`` with
``--cell_kernel 2,5,5`` (or ``original_e3d_lstm_residuals``, same variables).
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from vidpred_tf.convert.port_weights import load_port_weights, save_port_weights
from vidpred_tf.convert.tf1 import CheckpointMismatchError, LoadReport, load_tf1_checkpoint, write_tf1_checkpoint
from vidpred_tf.models.e3d.config import L2_FORMS, MODEL_NAMES, RESIDUAL_MODES, E3DConfig
from vidpred_tf.models.e3d.model import E3DLSTM, build_model

# Geometry of the original's shell scripts (run.py's own defaults are img_width 64, patch 1, T 20).
PRESETS = {
    "mnist": dict(img_width=64, patch_size=4, input_length=10, total_length=20, img_channel=1),
    "kth": dict(img_width=128, patch_size=8, input_length=10, total_length=30, img_channel=1),
}

ORIGINAL_SCOPE = r"^generator/"


def load(model: E3DLSTM, path: str, *, use_ema: bool = False) -> LoadReport:
    """Assign the model from the original TF1 checkpoint at ``path`` (prefix, ``.index`` or directory); nothing is
    assigned unless every variable fits: ``CheckpointMismatchError`` names the first misfit. ``use_ema``: the EMA
    shadows where the checkpoint has them."""
    return load_tf1_checkpoint(path, model.original_variables(), include=ORIGINAL_SCOPE, use_ema=use_ema)


def export(model: E3DLSTM, path: str) -> str:
    """Write the model's variables under their original TF1 names at prefix ``path`` (model variables only, no
    optimiser slots or EMA shadows), atomically; returns the prefix."""
    values = {name: variable.numpy() for name, variable in model.original_variables().items()}
    return write_tf1_checkpoint(path, values)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vidpred_tf.convert.e3d",
        description="Convert an original E3D-LSTM-study TF1 checkpoint into the port's weights (or back).")
    parser.add_argument("--checkpoint", required=True,
                        help="original TF1 checkpoint prefix (or, with --to_tf1, the port's weights)")
    parser.add_argument("--output", required=True, help=".weights.h5 file or TF2 checkpoint prefix "
                        "(with --to_tf1: TF1 checkpoint prefix)")
    parser.add_argument("--to_tf1", action="store_true", help="convert port weights into an original checkpoint")
    parser.add_argument("--model_name", default="e3d_lstm", help=f"one of {', '.join(MODEL_NAMES)}")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="geometry of the original scripts")
    parser.add_argument("--img_width", type=int)
    parser.add_argument("--img_channel", type=int)
    parser.add_argument("--patch_size", type=int)
    parser.add_argument("--input_length", type=int)
    parser.add_argument("--total_length", type=int)
    parser.add_argument("--num_hidden", default="64,64,64,64")
    parser.add_argument("--layer_norm", default="True", choices=["True", "False"])
    parser.add_argument("--cell_kernel", help="e.g. 2,5,5 (default: the model_name's kernel)")
    parser.add_argument("--eidetic_attention", choices=["True", "False"])
    parser.add_argument("--residual_mode", choices=RESIDUAL_MODES)
    parser.add_argument("--l2_form", choices=L2_FORMS)
    parser.add_argument("--use_ema", action="store_true", help="load the EMA shadows instead of the weights")
    return parser


def _config_from_args(args) -> E3DConfig:
    geometry = dict(img_width=64, patch_size=1, input_length=10, total_length=20, img_channel=1)
    if args.preset:
        geometry.update(PRESETS[args.preset])
    for name in geometry:
        if getattr(args, name) is not None:
            geometry[name] = getattr(args, name)
    knobs = {}
    if args.cell_kernel:
        knobs["cell_kernel"] = args.cell_kernel
    if args.eidetic_attention:
        knobs["eidetic_attention"] = args.eidetic_attention == "True"
    if args.residual_mode:
        knobs["residual_mode"] = args.residual_mode
    if args.l2_form:
        knobs["l2_form"] = args.l2_form
    return E3DConfig(model_name=args.model_name, num_hidden=args.num_hidden, layer_norm=args.layer_norm == "True",
                     **geometry, **knobs)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = _config_from_args(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    model = build_model(config)
    try:
        if args.to_tf1:
            load_port_weights(model, args.checkpoint)
            export(model, args.output)
            print(f"wrote original checkpoint {args.output} ({model.parameter_count()} parameters)")
        else:
            report = load(model, args.checkpoint, use_ema=args.use_ema)
            save_port_weights(model, args.output)
            print(f"loaded {len(report.loaded)} variables from {report.checkpoint} "
                  f"({len(report.from_ema)} from EMA shadows, {len(report.skipped)} names skipped); "
                  f"wrote {args.output} ({model.parameter_count()} parameters)")
    except (CheckpointMismatchError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
