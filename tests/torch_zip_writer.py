"""A torch.save-style zip archive written without PyTorch, for the torch-free readers' tests."""

import collections
import io
import pickle
import sys
import types
import zipfile

import numpy as np


def write_torch_zip(path, obj, arrays):
    """Write ``obj`` as a torch.save zip without torch: fake ``torch`` modules exist only while pickling.

    ``arrays`` maps storage keys to the float32 arrays that appear (by identity) in ``obj``."""
    fake_torch, fake_utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    fake_torch.FloatStorage = FloatStorage

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    fake_utils._rebuild_tensor_v2 = _rebuild_tensor_v2

    class Tensor:
        def __init__(self, key, shape):
            self.key, self.shape = key, shape

        def __reduce__(self):
            stride = tuple(int(np.prod(self.shape[i + 1:])) for i in range(len(self.shape)))
            return _rebuild_tensor_v2, (("storage", self.key), 0, self.shape, stride, False,
                                        collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, value):
            if isinstance(value, tuple) and len(value) == 2 and value[0] == "storage":
                return ("storage", FloatStorage, value[1], "cpu", int(arrays[value[1]].size))
            return None

    def convert_tree(value):
        if isinstance(value, np.ndarray):
            key = next(k for k, a in arrays.items() if a is value)
            return Tensor(key, tuple(value.shape))
        if isinstance(value, dict):
            return type(value)((k, convert_tree(v)) for k, v in value.items())
        return value

    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = fake_torch, fake_utils
    try:
        buffer = io.BytesIO()
        Pickler(buffer, protocol=2).dump(convert_tree(obj))
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ckpt/data.pkl", buffer.getvalue())
        archive.writestr("ckpt/byteorder", "little")
        for key, array in arrays.items():
            archive.writestr(f"ckpt/data/{key}", np.ascontiguousarray(array, "<f4").tobytes())
