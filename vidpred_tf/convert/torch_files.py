"""PyTorch weight files as NumPy arrays, PyTorch optional: the one reader both PyTorch converters use.

``torch.save`` zip archives (``.pth``/``.pt``/``.bin``, PyTorch >= 1.6) are read by a restricted unpickler: the
pickle may name only ordered dicts, tensor rebuilders and typed storages; anything else is refused, naming the
file and the global. The legacy (pre-1.6, non-zip) format, in which e.g. the torchvision ImageNet trunks are
published, needs PyTorch: it is read with ``torch.load(..., weights_only=True)`` when torch is installed.
An ``.npz`` holds the same ``{key: array}`` with no pickle at all.

Which key of a checkpoint dict holds the state_dict is the caller's (paper-specific) business: see ``unwrap``.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import zipfile
from typing import Dict, Mapping, Sequence

import numpy as np

from vidpred_tf.errors import InputError, MissingInputError

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class TorchNeededError(ImportError, InputError):
    """A legacy-format PyTorch file and no PyTorch to read it; a ValueError too, as for any unreadable file."""


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


def _tensors_to_numpy(value):
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if isinstance(value, Mapping):
        return type(value)((key, _tensors_to_numpy(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_tensors_to_numpy(item) for item in value)
    return value


def _read_legacy_with_torch(path: str) -> object:
    try:
        import torch  # noqa: PLC0415 - optional extra, only for legacy files
    except ImportError as err:
        raise TorchNeededError(
            f"{path} is not a torch.save zip archive (the legacy pre-1.6 format?): reading {path} needs PyTorch "
            "(pip install 'vidpred_tf[torch]'), or save the same state_dict as .npz: "
            "numpy.savez(out, **{k: v.numpy() for k, v in sd.items()})") from err
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for unreadable or unsafe files
        raise InputError(f"cannot read {path} as a PyTorch file: {err}") from err
    return _tensors_to_numpy(loaded)


def read_torch_file(path) -> object:
    """The object a ``torch.save`` file holds, tensors as NumPy arrays (PyTorch needed only for the legacy format)."""
    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        return _read_legacy_with_torch(path)
    with zipfile.ZipFile(path) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("data.pkl")]
        if len(pickles) != 1:
            raise InputError(f"{path}: expected one data.pkl in the archive, found {len(pickles)}")
        prefix = pickles[0][:-len("data.pkl")]
        byteorder = "little"
        if f"{prefix}byteorder" in archive.namelist():
            byteorder = archive.read(f"{prefix}byteorder").decode().strip()
        unpickler = _RestrictedTorchUnpickler(archive.read(pickles[0]), archive, prefix, path,
                                              byteorder == "little")
        try:
            return unpickler.load()
        except (pickle.UnpicklingError, KeyError, ValueError, TypeError, EOFError, IndexError,
                AttributeError, zipfile.BadZipFile) as err:
            raise InputError(f"cannot read {path}: {err}") from err


def read_state_dict(path, unwrap: Sequence[str] = ()) -> Dict[str, np.ndarray]:
    """``{key: array}`` (PyTorch layout) from an ``.npz`` or a PyTorch file.

    ``unwrap`` names the keys under which a checkpoint dict may hold the state_dict (``"model_state_dict"``
    for MSPred's checkpoints); the first one present is taken, else the file must hold a bare state_dict.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingInputError(f"weight file {path} not found")
    if path.endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise InputError(f"cannot read {path} as an .npz of arrays: {err}") from err
    loaded = read_torch_file(path)
    if isinstance(loaded, Mapping):
        loaded = next((loaded[key] for key in unwrap if key in loaded), loaded)
    if not isinstance(loaded, Mapping):
        raise InputError(f"{path} does not hold a state_dict (a mapping of names to tensors); got "
                         f"{type(loaded).__name__}")
    not_arrays = [str(key) for key, value in loaded.items() if not isinstance(value, np.ndarray)]
    if not_arrays:
        inside = f" (nor a checkpoint dict with {' or '.join(map(repr, unwrap))})" if unwrap else ""
        raise InputError(f"{path} does not hold a state_dict{inside}: {not_arrays[0]!r} is not a tensor")
    return {str(key): value for key, value in loaded.items()}
