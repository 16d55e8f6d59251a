"""Torch7 binary serialisation (``torch.save`` of Lua Torch, what the ``torchfile`` package reads), torch-free.

Enough of the format for the ``*_meta64x64.t7`` files of Denton's KTH release (a list of tables with the
string keys ``vid`` and ``files``) and for writing real-format files in tests.

Layout, little-endian: every object starts with an int32 type code. nil (0) has no payload; a number (1) is a
float64; a string (2) is an int32 length and the bytes; a boolean (5) is an int32 (1 = true). A table (3) or a
Torch object (4) is an int32 reference index followed, the first time that index appears, by the object
itself; later occurrences are the index alone (shared and recursive references). A table is an int32 entry
count and that many key/value object pairs. A Torch object is its version string ``"V <n>"`` and class name
(both length-prefixed strings); tensors then hold int32 ndim, int64 sizes, int64 strides, the int64 1-based
storage offset and the storage object; storages hold an int64 element count and the raw elements.

Reading follows ``torchfile``'s defaults, so that code written against it reads the same values: strings stay
``bytes``; integral numbers become ``int``; a table whose keys are exactly 1..n becomes a ``list`` (0-based);
other tables become ``dict``; tensors and storages become numpy arrays; other Torch classes become
``TorchObject(class_name, state)``. Lua functions are not supported (an error names the file and offset).
"""

from __future__ import annotations

import dataclasses
import os
import struct
from typing import Any, Dict, Optional

import numpy as np

from vidpred_tf.fileio import write_atomically

TYPE_NIL = 0
TYPE_NUMBER = 1
TYPE_STRING = 2
TYPE_TABLE = 3
TYPE_TORCH = 4
TYPE_BOOLEAN = 5
# Codes of serialised Lua functions (6, legacy recursive 7, recursive 8): recognised only to name them.
FUNCTION_TYPES = (6, 7, 8)

# Torch class name prefix -> numpy element type of its tensors and storages.
TORCH_ELEMENT_TYPES = {
    "Double": np.dtype("<f8"),
    "Float": np.dtype("<f4"),
    "Long": np.dtype("<i8"),
    "Int": np.dtype("<i4"),
    "Short": np.dtype("<i2"),
    "Char": np.dtype("<i1"),
    "Byte": np.dtype("<u1"),
}
_CLASS_PREFIX_OF_DTYPE = {dtype: prefix for prefix, dtype in TORCH_ELEMENT_TYPES.items()}
# cutorch types (saved GPU tensors hold their data the same way); read as host arrays, never written.
TORCH_ELEMENT_TYPES.update({"Cuda": np.dtype("<f4"), "CudaDouble": np.dtype("<f8"), "CudaLong": np.dtype("<i8"),
                            "CudaInt": np.dtype("<i4"), "CudaByte": np.dtype("<u1")})


class Torch7FormatError(ValueError):
    """A byte string that is not (a supported part of) the Torch7 binary format."""


@dataclasses.dataclass
class TorchObject:
    """A Torch class instance other than a tensor or storage: its class name and its serialised state."""
    class_name: str
    state: Any


class _HashableDict(dict):
    """A table read as a dict: hashable by identity (Lua tables can be keys, and compare by identity too)."""

    def __hash__(self):
        return id(self)


class _Reader:
    def __init__(self, data: bytes, source: str):
        self.data = memoryview(data)
        self.source = source
        self.position = 0
        self.objects: Dict[int, Any] = {}

    def fail(self, message: str, at: Optional[int] = None) -> Torch7FormatError:
        offset = self.position if at is None else at
        return Torch7FormatError(f"{self.source}: {message} (byte offset {offset})")

    def take(self, count: int) -> memoryview:
        if count < 0:
            raise self.fail(f"negative length {count}")
        end = self.position + count
        if end > len(self.data):
            raise self.fail(f"truncated Torch7 data: needs {count} more bytes, {len(self.data) - self.position} "
                            "left")
        chunk = self.data[self.position:end]
        self.position = end
        return chunk

    def int32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def int64(self) -> int:
        return struct.unpack("<q", self.take(8))[0]

    def float64(self) -> float:
        return struct.unpack("<d", self.take(8))[0]

    def string(self) -> bytes:
        return bytes(self.take(self.int32()))

    def read_object(self) -> Any:
        start = self.position
        type_code = self.int32()
        if type_code == TYPE_NIL:
            return None
        if type_code == TYPE_NUMBER:
            value = self.float64()
            return int(value) if value.is_integer() else value
        if type_code == TYPE_STRING:
            return self.string()
        if type_code == TYPE_BOOLEAN:
            return self.int32() == 1
        if type_code in (TYPE_TABLE, TYPE_TORCH):
            index = self.int32()
            if index in self.objects:
                return self.objects[index]
            if type_code == TYPE_TABLE:
                return self.read_table(index)
            return self.read_torch_object(index, start)
        if type_code in FUNCTION_TYPES:
            raise self.fail(f"serialised Lua functions (type code {type_code}) are not supported", start)
        raise self.fail(f"unknown Torch7 type code {type_code}", start)

    def read_table(self, index: int) -> Any:
        size = self.int32()
        if size < 0:
            raise self.fail(f"negative table size {size}")
        table = _HashableDict()
        # Registered before its entries are read, so that a table referring to itself resolves.
        self.objects[index] = table
        for _ in range(size):
            key_at = self.position
            key = self.read_object()
            try:
                hash(key)
            except TypeError as error:
                raise self.fail(f"unhashable table key of type {type(key).__name__}", key_at) from error
            table[key] = self.read_object()
        keys_are_one_to_n = all(isinstance(key, int) and not isinstance(key, bool) and key > 0 for key in table)
        if keys_are_one_to_n and sum(table) == size * (size + 1) // 2:
            as_list = [table[position + 1] for position in range(size)]
            self.objects[index] = as_list
            return as_list
        return table

    def read_torch_object(self, index: int, start: int) -> Any:
        version = self.string()
        if version.startswith(b"V "):
            class_name = self.string().decode("ascii", errors="replace")
        else:  # written before Torch versioned its objects: the first string is the class name
            class_name = version.decode("ascii", errors="replace")
        kind = class_name.rpartition(".")[2]
        element = None
        for prefix, dtype in TORCH_ELEMENT_TYPES.items():
            if kind == f"{prefix}Tensor":
                element = ("tensor", dtype)
            elif kind == f"{prefix}Storage":
                element = ("storage", dtype)
        if element is None:
            result = TorchObject(class_name, None)
            self.objects[index] = result
            result.state = self.read_object()
            return result
        if element[0] == "storage":
            count = self.int64()
            raw = self.take(count * element[1].itemsize)
            storage = np.frombuffer(raw, dtype=element[1]).copy()
            self.objects[index] = storage
            return storage
        ndim = self.int32()
        sizes = [self.int64() for _ in range(ndim)]
        strides = [self.int64() for _ in range(ndim)]
        offset = self.int64() - 1
        storage = self.read_object()
        if storage is None:
            storage = np.zeros((0,), element[1])
        if ndim == 0:
            tensor = np.zeros((0,), element[1])
        else:
            span = offset + sum((size - 1) * stride for size, stride in zip(sizes, strides)) + 1
            if offset < 0 or (min(sizes) > 0 and span > storage.size):
                raise self.fail(f"{class_name} of sizes {sizes}, strides {strides}, offset {offset} does not fit "
                                f"its storage of {storage.size} elements", start)
            tensor = np.lib.stride_tricks.as_strided(
                storage[offset:], shape=sizes, strides=[stride * storage.itemsize for stride in strides]).copy()
        self.objects[index] = tensor
        return tensor


def loads_torch7(data: bytes, source: str = "<bytes>") -> Any:
    """The object serialised in ``data`` (see the module docstring for the Python types returned)."""
    reader = _Reader(data, source)
    result = reader.read_object()
    return result


def read_torch7(path) -> Any:
    """The object in the Torch7 file ``path``; a missing file or malformed content raises an error naming it."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Torch7 file {path} does not exist")
    with open(path, "rb") as handle:
        data = handle.read()
    return loads_torch7(data, source=path)


class _Writer:
    def __init__(self):
        self.chunks = []
        self.indices: Dict[int, int] = {}
        self.keep_alive = []  # ids stay unique only while the objects they name are alive

    def int32(self, value: int) -> None:
        self.chunks.append(struct.pack("<i", value))

    def int64(self, value: int) -> None:
        self.chunks.append(struct.pack("<q", value))

    def string(self, value: bytes) -> None:
        self.int32(len(value))
        self.chunks.append(value)

    def reference(self, type_code: int, obj: Any) -> bool:
        """Write the type and reference index; True when the object's body still has to be written."""
        self.int32(type_code)
        known = self.indices.get(id(obj))
        if known is not None:
            self.int32(known)
            return False
        index = len(self.indices) + 1
        self.indices[id(obj)] = index
        self.keep_alive.append(obj)
        self.int32(index)
        return True

    def write_object(self, obj: Any) -> None:
        if obj is None:
            self.int32(TYPE_NIL)
        elif isinstance(obj, (bool, np.bool_)):
            self.int32(TYPE_BOOLEAN)
            self.int32(1 if obj else 0)
        elif isinstance(obj, (int, float, np.integer, np.floating)):
            self.int32(TYPE_NUMBER)
            self.chunks.append(struct.pack("<d", float(obj)))
        elif isinstance(obj, (bytes, str)):
            self.int32(TYPE_STRING)
            self.string(obj.encode("utf-8") if isinstance(obj, str) else obj)
        elif isinstance(obj, (list, tuple)):
            if self.reference(TYPE_TABLE, obj):
                self.int32(len(obj))
                for position, value in enumerate(obj):
                    self.write_object(position + 1)
                    self.write_object(value)
        elif isinstance(obj, dict):
            if self.reference(TYPE_TABLE, obj):
                self.int32(len(obj))
                for key, value in obj.items():
                    if key is None:
                        raise TypeError("a Torch7 table key cannot be None (Lua tables have no nil keys)")
                    self.write_object(key)
                    self.write_object(value)
        elif isinstance(obj, np.ndarray):
            self.write_tensor(obj)
        elif isinstance(obj, TorchObject):
            if self.reference(TYPE_TORCH, obj):
                self.string(b"V 1")
                self.string(obj.class_name.encode("ascii"))
                self.write_object(obj.state)
        else:
            raise TypeError(f"cannot write a {type(obj).__name__} in the Torch7 format")

    def write_tensor(self, array: np.ndarray) -> None:
        prefix = _CLASS_PREFIX_OF_DTYPE.get(array.dtype.newbyteorder("<"))
        if prefix is None:
            raise TypeError(f"no Torch7 tensor type holds numpy {array.dtype} (supported: "
                            f"{sorted(str(d) for d in _CLASS_PREFIX_OF_DTYPE)})")
        if array.ndim == 0:
            raise TypeError("Torch7 tensors have at least one dimension; write a 0-d array as a number")
        if not self.reference(TYPE_TORCH, array):
            return
        self.string(b"V 1")
        self.string(f"torch.{prefix}Tensor".encode("ascii"))
        data = np.ascontiguousarray(array, dtype=TORCH_ELEMENT_TYPES[prefix])
        self.int32(data.ndim)
        for size in data.shape:
            self.int64(size)
        for stride in data.strides:
            self.int64(stride // data.itemsize)
        self.int64(1)
        storage = data.reshape(-1)
        self.reference(TYPE_TORCH, storage)
        self.string(b"V 1")
        self.string(f"torch.{prefix}Storage".encode("ascii"))
        self.int64(storage.size)
        self.chunks.append(storage.tobytes())


def dumps_torch7(obj: Any) -> bytes:
    """``obj`` in the Torch7 binary format: None, bool, int/float, bytes/str (as UTF-8), lists/tuples (tables
    keyed 1..n), dicts, numpy arrays (tensors) and ``TorchObject``. Shared lists/dicts are written once."""
    writer = _Writer()
    writer.write_object(obj)
    return b"".join(writer.chunks)


def write_torch7(path, obj: Any) -> None:
    """Write ``obj`` (see ``dumps_torch7``) to the Torch7 file ``path``, atomically."""
    payload = dumps_torch7(obj)

    def write(temp_path: str) -> None:
        with open(temp_path, "wb") as handle:
            handle.write(payload)

    write_atomically(path, write)
