"""EPVA (Wichers et al. 2018) TF1 checkpoints <-> the port's ``EPVANetwork`` weights, and the original's warm starts.

The original trains with slim's ``Saver`` over every global variable: the model weights under their TF1 names
(``timestep/encoder/vgg_16/...``, ``timestep/predict/LSTMCell/W_0``, ``timestep/van/...``, ``Discriminator/...``),
the Adam slots ``<var>/Adam``, ``<var>/Adam_1``, ``beta{1,2}_power(_N)``, ``global_step`` and the two training
scalars ``Variable`` (fake_step) and ``Variable_1`` (both_step). Slots, step and scalars are skipped; every other
name must be one of ``EPVANetwork.original_variables()``, 1:1 and of the same shape (the legacy back-connection
``timestep/predict/Variable`` of ``use_legacy_vars`` is a model weight, not a scalar). No value is transformed:
the port keeps TF1's kernel layouts and the fused LSTM gate order.

Warm starts (the original's ``_get_init_fn``): :func:`warm_start_from_epva` (``--epv_pretrain_ckpt``) and
:func:`warm_start_from_vgg16` (``--imgnet_pretrain``, slim's ImageNet ``vgg_16.ckpt``).

``load(model, path)``, ``export(model, path)``, ``main(argv)``::

    python -m vidpred_tf.convert.epva --checkpoint pretrained_models/epva_human --output epva_human.weights.h5
    python -m vidpred_tf.convert.epva --to_tf1 --checkpoint epva_human.weights.h5 --output exported/model.ckpt
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

from vidpred_tf.convert.port_weights import load_port_weights, save_port_weights
from vidpred_tf.convert.tf1 import (
    DEFAULT_SKIP,
    CheckpointMismatchError,
    LoadReport,
    checkpoint_prefix,
    load_tf1_checkpoint,
    read_tf1_checkpoint,
    write_tf1_checkpoint,
)
from vidpred_tf.errors import InputError
from vidpred_tf.models.epva.config import MODES, EPVAConfig
from vidpred_tf.models.epva.network import EPVANetwork

# DEFAULT_SKIP already drops top-level Variable/Variable_N (fake_step, both_step), Adam slots, beta powers and
# global_step; a nested ".../Variable" stays a model weight.
SKIP = tuple(DEFAULT_SKIP)
WARM_START_SCOPES = ("timestep/encoder", "timestep/predict", "timestep/van")
WARM_START_EXCLUDED = ("Variable", "back_connect_init", "noise_dense")
ENCODER_PREFIX = "timestep/encoder/"
VGG_CONV = re.compile(r"^vgg_16/conv\d/conv\d_\d/(weights|biases)$")


def _mapping(model) -> Dict[str, object]:
    return dict(model.original_variables())


def load(model, path: str) -> LoadReport:
    """Assign ``model`` from the original TF1 checkpoint at ``path`` (prefix, ``.index`` or a folder with a
    ``checkpoint`` file); nothing is assigned unless every variable fits (``CheckpointMismatchError``)."""
    return load_tf1_checkpoint(path, _mapping(model), skip=SKIP)


def export(model, path: str) -> str:
    """The model's variables under their original names at TF1 prefix ``path`` (no slots, no step)."""
    return write_tf1_checkpoint(path, {name: variable.numpy() for name, variable in model.original_variables()})


def _assign_from(values: Dict[str, np.ndarray], pairs, prefix: str) -> List[str]:
    """Assign each (checkpoint name, variable) pair; refuse before assigning when a name is missing or misfits."""
    for source, variable in pairs:
        if source not in values:
            raise CheckpointMismatchError(f"checkpoint {prefix}: variable {source!r} {tuple(variable.shape)} "
                                          "needed by the warm start is missing")
        if tuple(values[source].shape) != tuple(variable.shape):
            raise CheckpointMismatchError(f"checkpoint {prefix}: variable {source!r} has shape "
                                          f"{tuple(values[source].shape)} but the port expects "
                                          f"{tuple(variable.shape)}")
    for source, variable in pairs:
        variable.assign(np.asarray(values[source], np.float32))
    return [source for source, _ in pairs]


def warm_start_from_epva(model, checkpoint: str) -> List[str]:
    """``--epv_pretrain_ckpt``: every trainable variable under ``timestep/encoder``, ``timestep/predict`` and
    ``timestep/van`` is restored by identical name, except names containing ``Variable``, ``back_connect_init``
    or ``noise_dense`` (left as initialised), as the original's ``init_from_checkpoint`` map. Returns the restored
    names (and prints how many, from where, as the original announced its fine-tuning)."""
    prefix = checkpoint_prefix(checkpoint)
    values = read_tf1_checkpoint(prefix, skip=SKIP)
    pairs = [(name, variable) for name, variable in model.original_variables()
             if variable.trainable and name.split("/")[0] + "/" + name.split("/")[1] in WARM_START_SCOPES
             and not any(word in name for word in WARM_START_EXCLUDED)]
    restored = _assign_from(values, pairs, prefix)
    print(f"Fine-tuning from {prefix}: restored {len(restored)} variables under "
          f"{', '.join(WARM_START_SCOPES)}")
    return restored


def warm_start_from_vgg16(model, checkpoint: str) -> List[str]:
    """``--imgnet_pretrain``: the encoder's VGG conv weights from slim's ImageNet checkpoint, whose names lack the
    ``timestep/encoder/`` prefix (``vgg_16/conv1/conv1_1/weights`` ...); fc6/fc7/fc8 of the file are ignored
    (the encoder has no fc layers; the original excluded fc8). Returns the restored (port) names."""
    prefix = checkpoint_prefix(checkpoint)
    values = read_tf1_checkpoint(prefix, skip=SKIP, include=r"^vgg_16/conv")
    pairs = [(name[len(ENCODER_PREFIX):], variable) for name, variable in model.original_variables()
             if name.startswith(ENCODER_PREFIX) and VGG_CONV.match(name[len(ENCODER_PREFIX):])]
    if not pairs:
        raise InputError("warm_start_from_vgg16: the model has no timestep/encoder/vgg_16 conv variables")
    restored = _assign_from(values, pairs, prefix)
    print(f"Fine-tuning from {prefix}: restored {len(restored)} vgg_16 conv variables into the encoder")
    return [ENCODER_PREFIX + name for name in restored]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vidpred_tf.convert.epva",
                                     description="Convert an original EPVA TF1 checkpoint into the port's weights "
                                                 "(or back).")
    parser.add_argument("--checkpoint", required=True, help="original checkpoint folder or prefix (with --to_tf1: "
                        "the port's .weights.h5 or TF2 checkpoint prefix)")
    parser.add_argument("--output", required=True, help=".weights.h5 file or TF2 checkpoint prefix (with "
                        "--to_tf1: TF1 checkpoint prefix)")
    parser.add_argument("--to_tf1", action="store_true", help="convert port weights into an original checkpoint")
    parser.add_argument("--model_mode", choices=MODES, default="e2e")
    parser.add_argument("--enc_size", type=int, default=64)
    parser.add_argument("--pose_dim", type=int, default=5)
    parser.add_argument("--joint_pos_dim", type=int, default=7)
    parser.add_argument("--pred_noise_std", type=float, default=0.0)
    parser.add_argument("--use_legacy_vars", action="store_true")
    parser.add_argument("--van_first_depth", type=int, default=64)
    parser.add_argument("--vgg_width_divisor", type=int, default=1)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    config = EPVAConfig.from_flags(vars(args))
    try:
        model = EPVANetwork(config)
        if args.to_tf1:
            load_port_weights(model, args.checkpoint)
            export(model, args.output)
        else:
            report = load(model, args.checkpoint)
            save_port_weights(model, args.output)
            print(f"{report.checkpoint}: {len(report.loaded)} variables -> {args.output} "
                  f"({len(report.skipped)} optimiser/step entries skipped)")
    except (InputError, FileNotFoundError) as err:
        print(f"{_parser().prog}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
