"""Original MSPred (PyTorch) weights into the port and back, without needing PyTorch.

Sources: an ``.npz`` of state_dict arrays (PyTorch layout), or a ``.pth``/``.pt`` file written by ``torch.save``
holding either the original's checkpoint dict (``{"epoch", "model_state_dict", "optimizer_state_dict", ...}``)
or a bare state_dict. A ``.pth`` is read by a restricted unpickler of torch's zip format: the pickle may name
only ordered dicts, tensor rebuilders and typed storages; anything else is refused, naming the file and the
global. Tensors come back as NumPy arrays.

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
import collections
import io
import os
import pickle
import sys
import zipfile
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from vidpred_tf.fileio import write_atomically

IGNORED_KEYS = ("device_param",)

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class StateDictMismatchError(ValueError):
    """A state_dict does not fit the model; the message names the key and the source."""


class _StorageType:
    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


def _rebuild_tensor(storage, storage_offset, size, stride, *_unused):
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if not size:
        return storage[storage_offset].copy()
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride) if n > 0)
    if any(n == 0 for n in size):
        return np.zeros(size, dtype=storage.dtype)
    if storage_offset < 0 or last >= storage.size or min(stride) < 0:
        raise ValueError(f"tensor (offset {storage_offset}, size {size}, stride {stride}) exceeds its storage "
                         f"of {storage.size} elements")
    view = np.lib.stride_tricks.as_strided(storage[storage_offset:], shape=size,
                                           strides=tuple(s * storage.itemsize for s in stride))
    return np.array(view, copy=True)


def _rebuild_parameter(data, *_unused):
    return data


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _RestrictedTorchUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, path: str, little_endian: bool):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix, self.path, self.little_endian = archive, prefix, path, little_endian
        self.storages: Dict[str, np.ndarray] = {}

    def find_class(self, module, name):
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[(module, name)]
        raise pickle.UnpicklingError(f"{self.path}: refusing to load the global {module}.{name} (only tensors, "
                                     "storages and ordered dicts are read without PyTorch)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"{self.path}: unsupported persistent id {pid!r}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if key not in self.storages:
            raw = self.archive.read(f"{self.prefix}data/{key}")
            if storage_type.dtype == "bfloat16":
                halves = np.frombuffer(raw, dtype="<u2" if self.little_endian else ">u2").astype(np.uint32)
                array = (halves << 16).view(np.float32)
            else:
                dtype = np.dtype(storage_type.dtype).newbyteorder("<" if self.little_endian else ">")
                array = np.frombuffer(raw, dtype=dtype).astype(np.dtype(storage_type.dtype), copy=False)
            if array.size < numel:
                raise pickle.UnpicklingError(f"{self.path}: storage {key} holds {array.size} elements, "
                                             f"{numel} expected")
            self.storages[key] = array
        return self.storages[key]


def read_torch_file(path) -> object:
    """The object a ``torch.save`` zip file holds, tensors as NumPy arrays (no PyTorch needed)."""
    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a torch.save zip archive (the legacy pre-1.6 format is not supported; "
                         "re-save it with a current PyTorch or export it to .npz)")
    with zipfile.ZipFile(path) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("data.pkl")]
        if len(pickles) != 1:
            raise ValueError(f"{path}: expected one data.pkl in the archive, found {len(pickles)}")
        prefix = pickles[0][:-len("data.pkl")]
        byteorder = "little"
        if f"{prefix}byteorder" in archive.namelist():
            byteorder = archive.read(f"{prefix}byteorder").decode().strip()
        unpickler = _RestrictedTorchUnpickler(archive.read(pickles[0]), archive, prefix, path,
                                              byteorder == "little")
        try:
            return unpickler.load()
        except (pickle.UnpicklingError, KeyError, ValueError, TypeError) as err:
            raise ValueError(f"cannot read {path}: {err}") from err


def read_state_dict(path) -> Dict[str, np.ndarray]:
    """``{key: array}`` (PyTorch layout) from an ``.npz`` or a ``.pth`` (checkpoint dict or bare state_dict)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"state_dict file {path} not found")
    if path.endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        except ValueError as err:
            raise ValueError(f"cannot read {path} as an .npz of arrays: {err}") from err
    loaded = read_torch_file(path)
    if isinstance(loaded, Mapping) and "model_state_dict" in loaded:
        loaded = loaded["model_state_dict"]
    if not isinstance(loaded, Mapping) or not all(isinstance(v, np.ndarray) for v in loaded.values()):
        raise ValueError(f"{path} holds neither a state_dict nor a checkpoint dict with 'model_state_dict'")
    return {str(key): value for key, value in loaded.items()}


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
