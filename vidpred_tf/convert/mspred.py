"""Original MSPred (PyTorch) weights into the port and back, without needing PyTorch.

Sources: an ``.npz`` of state_dict arrays (PyTorch layout), or a ``.pth``/``.pt`` file written by ``torch.save``
holding either the original's checkpoint dict (``{"epoch", "model_state_dict", "optimizer_state_dict", ...}``)
or a bare state_dict, read without PyTorch by :mod:`vidpred_tf.convert.torch_files`.

Every MSPred-family model lists its original names through ``torch_parameters()`` (see
:mod:`vidpred_tf.models.mspred.blocks`); loading is strict (a missing, unexpected or misshaped key is an error
naming it and the source; nothing is assigned unless everything fits). Kernels are transposed OIHW -> HWIO
(ConvTranspose2d: (in, out, kh, kw) -> (kh, kw, out, in)), dense weights (out, in) -> (in, out); every other
tensor (biases, BN gamma/beta, an LSTMCell's ``bias_ih`` and ``bias_hh``) maps 1:1 onto its port variable.
A state_dict exported by an earlier port version (an LSTM's summed bias in ``bias_ih``, zeros in ``bias_hh``)
still loads, and gives the same forward pass.

Command line (torch-free export of a checkpoint's model weights to ``.npz``)::

    python -m vidpred_tf.convert.mspred checkpoint_epoch_final.pth weights.npz
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from vidpred_tf.convert import torch_files
from vidpred_tf.errors import InputError
from vidpred_tf.fileio import write_atomically

IGNORED_KEYS = ("device_param",)

# The object a torch.save file holds (e.g. a checkpoint dict's "epoch"), tensors as NumPy arrays.
read_torch_file = torch_files.read_torch_file


class StateDictMismatchError(InputError):
    """A state_dict does not fit the model; the message names the key and the source."""


def read_state_dict(path) -> Dict[str, np.ndarray]:
    """``{key: array}`` (PyTorch layout) from an ``.npz`` or a ``.pth`` (checkpoint dict or bare state_dict)."""
    return torch_files.read_state_dict(path, unwrap=("model_state_dict",))


def _to_port(array: np.ndarray, layout: str) -> np.ndarray:
    if layout in ("conv2d", "conv2d_transpose"):
        return array.transpose(2, 3, 1, 0)
    if layout in ("linear", "lstm_weight"):
        return array.T
    return array


def _to_torch(array: np.ndarray, layout: str) -> np.ndarray:
    if layout in ("conv2d", "conv2d_transpose"):
        return array.transpose(3, 2, 0, 1)
    if layout in ("linear", "lstm_weight"):
        return array.T
    return array


def _describe(source) -> str:
    return f"the state_dict in {source}" if source else "the state_dict"


def load_state_dict_into_model(model, state_dict, source: Optional[str] = None) -> int:
    """Assign an original state_dict (a mapping, or a path to .npz/.pth) to ``model``; returns the number of
    original keys used. Strict: every key but ``device_param`` must match one port variable with its shape."""
    from vidpred_tf.models.mspred.blocks import torch_shape

    if not isinstance(state_dict, Mapping):
        source = source or os.fspath(state_dict)
        state_dict = read_state_dict(state_dict)
    where = _describe(source)
    params = model.torch_parameters()
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
        values.append((param.variable, _to_port(array.astype(np.float32), param.layout)))
    for variable, value in values:
        variable.assign(value)
    return len(params)


def state_dict_from_model(model, include_device_param: bool = True) -> Dict[str, np.ndarray]:
    """The model's weights as an original state_dict (PyTorch layout, the original's key order)."""
    state: Dict[str, np.ndarray] = {}
    if include_device_param:
        state["device_param"] = np.zeros((0,), dtype=np.float32)
    for key, param in model.torch_parameters().items():
        value = np.asarray(param.variable.numpy())
        state[key] = np.ascontiguousarray(_to_torch(value, param.layout))
    return state


def save_state_dict_npz(state_dict: Mapping[str, np.ndarray], path) -> None:
    """Write a state_dict as ``.npz`` atomically."""
    write_atomically(path, lambda temp: np.savez(temp, **{k: np.asarray(v) for k, v in state_dict.items()}))


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
        state = read_state_dict(args.checkpoint)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    save_state_dict_npz(state, args.output)
    print(f"wrote {len(state)} tensors to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
