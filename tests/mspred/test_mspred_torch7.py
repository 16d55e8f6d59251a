"""The torch-free Torch7 reader/writer: hand-built byte strings in the documented layout, round trips, errors."""

import struct

import numpy as np
import pytest

from vidpred_tf.data.torch7 import (
    Torch7FormatError,
    TorchObject,
    dumps_torch7,
    loads_torch7,
    read_torch7,
    write_torch7,
)


def i32(value):
    return struct.pack("<i", value)


def i64(value):
    return struct.pack("<q", value)


def number(value):
    return i32(1) + struct.pack("<d", value)


def string(text):
    return i32(2) + i32(len(text)) + text


def table_head(index, size):
    return i32(3) + i32(index) + i32(size)


def denton_meta_bytes():
    """A Lua ``{ {vid="person01_boxing_d1", files={ {"image-001.png","image-002.png"}, {"image-003.png"} }},
    {vid="person02_boxing_d1", files=<the same files table as video 1>} }``, written as Torch's File:writeObject
    would write it: type, reference index, then (first time only) the body; keys and values in pairs."""
    files_table = (table_head(3, 2)
                   + number(1) + table_head(4, 2) + number(1) + string(b"image-001.png")
                   + number(2) + string(b"image-002.png")
                   + number(2) + table_head(5, 1) + number(1) + string(b"image-003.png"))
    video_1 = table_head(2, 2) + string(b"vid") + string(b"person01_boxing_d1") + string(b"files") + files_table
    # The second video refers to the already-written files table by its index alone.
    video_2 = (table_head(6, 2) + string(b"files") + i32(3) + i32(3)
               + string(b"vid") + string(b"person02_boxing_d1"))
    return table_head(1, 2) + number(1) + video_1 + number(2) + video_2


def test_reads_hand_built_denton_meta_with_shared_reference():
    videos = loads_torch7(denton_meta_bytes())
    assert isinstance(videos, list) and len(videos) == 2
    assert videos[0][b"vid"] == b"person01_boxing_d1"
    assert videos[0][b"files"] == [[b"image-001.png", b"image-002.png"], [b"image-003.png"]]
    assert videos[1][b"vid"] == b"person02_boxing_d1"
    # The memo returns the very same object for the back reference.
    assert videos[1][b"files"] is videos[0][b"files"]


def test_reads_scalars_booleans_nil_and_non_sequence_tables():
    assert loads_torch7(i32(0)) is None
    assert loads_torch7(number(3.0)) == 3 and isinstance(loads_torch7(number(3.0)), int)
    assert loads_torch7(number(-2.5)) == -2.5
    assert loads_torch7(i32(5) + i32(1)) is True
    assert loads_torch7(i32(5) + i32(0)) is False
    assert loads_torch7(string(b"")) == b""
    # Keys 1 and 3 (not 1..n): stays a dict; so does an empty-free string-keyed table.
    sparse = loads_torch7(table_head(1, 2) + number(1) + string(b"a") + number(3) + string(b"c"))
    assert sparse == {1: b"a", 3: b"c"}
    # Keys 2, 1 in any order still make a list.
    unordered = loads_torch7(table_head(1, 2) + number(2) + string(b"b") + number(1) + string(b"a"))
    assert unordered == [b"a", b"b"]


def test_reads_hand_built_strided_float_tensor():
    # A 2x3 view with strides (1, 2) of a 6-element storage starting at 1-based offset 1: the transpose of
    # the row-major 3x2 matrix [[0, 1], [2, 3], [4, 5]].
    storage = (i32(4) + i32(2) + string(b"V 1")[4:] + string(b"torch.FloatStorage")[4:] + i64(6)
               + np.arange(6, dtype="<f4").tobytes())
    tensor = (i32(4) + i32(1) + string(b"V 1")[4:] + string(b"torch.FloatTensor")[4:]
              + i32(2) + i64(2) + i64(3) + i64(1) + i64(2) + i64(1) + storage)
    array = loads_torch7(tensor)
    assert array.dtype == np.float32
    np.testing.assert_array_equal(array, np.arange(6, dtype=np.float32).reshape(3, 2).T)


def test_round_trip_of_nested_values_tensors_and_torch_objects(tmp_path):
    shared = [1, 2, 3]
    value = [
        {"vid": b"v", "files": [[b"a", b"b"]], "count": 7, "scale": 0.25, "flag": False},
        {"a": shared, "b": shared},
        np.arange(24, dtype=np.int64).reshape(2, 3, 4),
        np.array([[1.5, -2.0]], dtype=np.float64),
        np.arange(5, dtype=np.uint8),
        TorchObject("nn.Linear", {"weight": np.ones((2, 2), np.float32)}),
        "text",
    ]
    path = tmp_path / "value.t7"
    write_torch7(path, value)
    back = read_torch7(path)
    assert back[0] == {b"vid": b"v", b"files": [[b"a", b"b"]], b"count": 7, b"scale": 0.25, b"flag": False}
    assert back[1][b"a"] == [1, 2, 3] and back[1][b"a"] is back[1][b"b"]
    for original, restored in zip(value[2:5], back[2:5]):
        assert restored.dtype == original.dtype
        np.testing.assert_array_equal(restored, original)
    assert back[5].class_name == "nn.Linear"
    np.testing.assert_array_equal(back[5].state[b"weight"], np.ones((2, 2), np.float32))
    assert back[6] == b"text"
    assert dumps_torch7(value) == path.read_bytes()


def test_writer_bytes_match_the_hand_built_layout():
    # The same structure as the first two tables of the hand-built file, written by the writer.
    written = dumps_torch7([{b"vid": b"x"}])
    expected = table_head(1, 1) + number(1) + table_head(2, 1) + string(b"vid") + string(b"x")
    assert written == expected


def test_errors_name_the_file_and_offset(tmp_path):
    truncated = tmp_path / "truncated.t7"
    truncated.write_bytes(denton_meta_bytes()[:-5])
    with pytest.raises(Torch7FormatError, match=r"truncated\.t7.*truncated Torch7 data.*byte offset"):
        read_torch7(truncated)
    with pytest.raises(Torch7FormatError, match=r"unknown Torch7 type code 42 \(byte offset 0\)"):
        loads_torch7(i32(42))
    with pytest.raises(Torch7FormatError, match="Lua functions"):
        loads_torch7(i32(6) + i32(1) + i32(0))
    with pytest.raises(FileNotFoundError, match=r"missing\.t7"):
        read_torch7(tmp_path / "missing.t7")
    with pytest.raises(TypeError, match="cannot write a set"):
        dumps_torch7({1, 2})
    with pytest.raises(TypeError, match="no Torch7 tensor type holds numpy bool"):
        dumps_torch7(np.zeros(2, bool))


def test_reads_a_cutorch_tensor_as_float32():
    storage = (i32(4) + i32(2) + string(b"V 1")[4:] + string(b"torch.CudaStorage")[4:] + i64(2)
               + np.array([0.5, -1.0], "<f4").tobytes())
    tensor = (i32(4) + i32(1) + string(b"V 1")[4:] + string(b"torch.CudaTensor")[4:]
              + i32(1) + i64(2) + i64(1) + i64(1) + storage)
    array = loads_torch7(tensor)
    assert array.dtype == np.float32
    np.testing.assert_array_equal(array, [0.5, -1.0])
    # The writer names float32 arrays torch.FloatTensor, not the GPU type.
    assert b"torch.FloatTensor" in dumps_torch7(array)
