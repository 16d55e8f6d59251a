"""MSPred (AIS-Bonn/MSPred) PyTorch state_dicts (``.pth``/``.npz``) <-> the port's MSPred-family models, no PyTorch.

Sources: an ``.npz`` of state_dict arrays (PyTorch layout), or a ``.pth``/``.pt`` file written by ``torch.save``
holding either the original's checkpoint dict (``{"epoch", "model_state_dict", "optimizer_state_dict", ...}``)
or a bare state_dict, read without PyTorch by the shared reader :mod:`vidpred_tf.convert.torch_files`.

* ``load(model, path)``: the state_dict of ``path`` into the model. Every MSPred-family model lists its original
  names through ``original_variables()`` (:mod:`vidpred_tf.models.mspred.blocks`); loading is strict (a
  missing, unexpected or misshaped key is an error naming it and the source; nothing is assigned unless
  everything fits). Kernels are transposed OIHW -> HWIO (ConvTranspose2d: (in, out, kh, kw) -> (kh, kw, out,
  in)), dense weights (out, in) -> (in, out); every other tensor (biases, BN gamma/beta, an LSTMCell's
  ``bias_ih`` and ``bias_hh``) maps 1:1 onto its port variable. A state_dict exported by an earlier port version
  (an LSTM's summed bias in ``bias_ih``, zeros in ``bias_hh``) still loads, and gives the same forward pass.
* ``export(model, path)``: the model's weights as an ``.npz`` state_dict under the original's names, in the
  original's order (with its empty ``device_param``), which ``numpy.load`` + ``torch.from_numpy`` give back to
  the original.
* ``main(argv)``, the command line (torch-free export of a checkpoint's model weights to ``.npz``)::

    python -m vidpred_tf.convert.mspred checkpoint_epoch_final.pth weights.npz
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from vidpred_tf.convert import torch_files
from vidpred_tf.errors import InputError
from vidpred_tf.fileio import write_atomically
from vidpred_tf.models.mspred.blocks import from_original_layout, to_original_layout, torch_shape

# The key of the original's checkpoint dict (02_train.py's torch.save) that holds the model's state_dict.
STATE_DICT_KEY = "model_state_dict"
# The original models register an empty buffer to find their device; it holds no weight.
IGNORED_KEYS = ("device_param",)

Source = Union[str, os.PathLike, Mapping[str, np.ndarray]]


class StateDictMismatchError(InputError):
    """A state_dict does not fit the model; the message names the key and the source."""


def _read(path) -> Dict[str, np.ndarray]:
    return torch_files.read_state_dict(path, unwrap=(STATE_DICT_KEY,))


def load(model, path: Source, *, source: Optional[str] = None) -> List[str]:
    """Assign the original state_dict of ``path`` (an ``.npz``, a ``.pth`` checkpoint dict or state_dict, or a
    state_dict already read from one with :func:`vidpred_tf.convert.torch_files.read_state_dict`) to ``model``;
    returns the original names loaded, in the model's order. ``source`` names an in-memory state_dict's file in
    the errors. Strict: every key but ``device_param`` must match one port variable with its shape."""
    if isinstance(path, Mapping):
        state_dict = path
    else:
        source = source or os.fspath(path)
        state_dict = _read(path)
    where = f"the state_dict in {source}" if source else "the state_dict"
    params = model.original_variables()
    given = {k: np.asarray(v) for k, v in state_dict.items() if k not in IGNORED_KEYS}
    missing = [key for key in params if key not in given]
    if missing:
        raise StateDictMismatchError(f"{where} lacks {len(missing)} key(s) of {type(model).__name__}: "
                                     + ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else ""))
    unexpected = [key for key in given if key not in params]
    if unexpected:
        raise StateDictMismatchError(f"{where} has {len(unexpected)} key(s) {type(model).__name__} does not know: "
                                     + ", ".join(unexpected[:8]) + (" ..." if len(unexpected) > 8 else ""))
    values = []
    for key, param in params.items():
        array = given[key]
        expected = torch_shape(param)
        if tuple(array.shape) != expected:
            raise StateDictMismatchError(f"{where}: key {key} has shape {tuple(array.shape)}, the model expects "
                                         f"{expected}")
        values.append((param.variable, from_original_layout(array.astype(np.float32), param.layout)))
    for variable, value in values:
        variable.assign(value)
    return list(params)


def _write_npz(state_dict: Mapping[str, np.ndarray], path) -> str:
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise InputError(f"{path}: a state_dict is written as .npz (numpy.savez); give a path ending in .npz")
    write_atomically(path, lambda temp: np.savez(temp, **{k: np.asarray(v) for k, v in state_dict.items()}))
    return path


def export(model, path) -> str:
    """Write the model's weights to the ``.npz`` ``path`` as the original's state_dict (PyTorch layout, the
    original's key order, ``device_param`` first), atomically; returns the path."""
    state: Dict[str, np.ndarray] = {"device_param": np.zeros((0,), dtype=np.float32)}
    for key, param in model.original_variables().items():
        value = np.asarray(param.variable.numpy())
        state[key] = np.ascontiguousarray(to_original_layout(value, param.layout))
    return _write_npz(state, path)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vidpred_tf.convert.mspred",
                                     description="Export the model weights of an original MSPred checkpoint "
                                                 "(.pth) to .npz without PyTorch.")
    parser.add_argument("checkpoint", help="original .pth (checkpoint dict or state_dict) or .npz")
    parser.add_argument("output", help="the .npz to write")
    args = parser.parse_args(argv)
    if not args.output.endswith(".npz"):
        print(f"error: output {args.output} must end in .npz", file=sys.stderr)
        return 2
    try:
        state = _read(args.checkpoint)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    _write_npz(state, args.output)
    print(f"wrote {len(state)} tensors to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
