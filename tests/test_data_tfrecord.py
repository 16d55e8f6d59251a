"""The project TFRecord format: round trip, contract checks, sharding, and errors that name a corrupt file."""

import os
import struct

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.data import registry, tfrecord


def _examples(count, length=3, size=(5, 6), channels=3, action_dim=2, seed=0):
    rng = np.random.default_rng(seed)
    return [{"images": rng.integers(0, 256, (length,) + size + (channels,), dtype=np.uint8),
             "actions": rng.normal(size=(length, action_dim)).astype(np.float32)} for _ in range(count)]


def _as_numpy(dataset):
    return [{key: value.numpy() for key, value in element.items()} for element in dataset]


def _record_offsets(path):
    """(start, payload_length) of every record, from the TFRecord framing: u64 length, u32 crc, data, u32 crc."""
    raw = open(path, "rb").read()
    offsets, position = [], 0
    while position < len(raw):
        (length,) = struct.unpack("<Q", raw[position:position + 8])
        offsets.append((position, length))
        position += 8 + 4 + length + 4
    return offsets


def test_round_trip_over_shards_keeps_values_and_order(tmp_path):
    examples = _examples(7)
    prefix = str(tmp_path / "sub" / "videos")
    files = tfrecord.write_tfrecords(prefix, examples, num_shards=3)

    assert [os.path.basename(f) for f in files] == [f"videos-0000{i}-of-00003.tfrecord" for i in range(3)]
    assert sorted(os.listdir(tmp_path / "sub")) == sorted(os.path.basename(f) for f in files)  # no temp files
    # Round robin over the shards: 7 examples -> 3, 2, 2 records.
    assert [len(_record_offsets(f)) for f in files] == [3, 2, 2]

    dataset = tfrecord.read_tfrecords(str(tmp_path / "sub" / "videos-*.tfrecord"))
    assert dataset.element_spec["images"].shape == (3, 5, 6, 3)
    assert dataset.element_spec["images"].dtype == tf.float32
    assert dataset.element_spec["actions"].shape == (3, 2)
    read = _as_numpy(dataset)
    assert len(read) == 7
    for original, back in zip(examples, read):
        assert sorted(back) == ["actions", "images"]
        np.testing.assert_array_equal(back["images"], original["images"].astype(np.float32) / 255.0)
        np.testing.assert_array_equal(back["actions"], original["actions"])


def test_float_frames_are_quantised_to_8_bits(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.random((2, 4, 4, 1)).astype(np.float32)
    images[0, 0, 0, 0], images[0, 0, 1, 0] = 0.0, 1.0
    files = tfrecord.write_tfrecords(str(tmp_path / "f"), [{"images": images}])
    (back,) = _as_numpy(tfrecord.read_tfrecords(files))
    expected = np.round(images.astype(np.float64) * 255.0) / 255.0
    np.testing.assert_allclose(back["images"], expected, atol=1e-7)
    assert np.abs(back["images"] - images).max() <= 0.5 / 255.0 + 1e-7


def test_shuffled_file_order_is_fixed_by_the_seed(tmp_path):
    examples = _examples(8, length=1, size=(2, 2), channels=1)
    files = tfrecord.write_tfrecords(str(tmp_path / "v"), examples, num_shards=4)

    def order(seed):
        dataset = tfrecord.read_tfrecords(files, shuffle_files=True, seed=seed, cycle_length=1)
        return [tuple(e["actions"].ravel()) for e in _as_numpy(dataset)]

    written = [tuple(e["actions"].ravel()) for e in examples]
    first = order(3)
    assert order(3) == first
    assert sorted(first) == sorted(written)
    assert any(order(seed) != first for seed in (4, 5, 6))


def test_input_pipelines_read_disjoint_files_or_elements(tmp_path):
    examples = _examples(6, length=1, size=(2, 2), channels=1)
    written = sorted(tuple(e["actions"].ravel()) for e in examples)

    def union_over_pipelines(files):
        seen = []
        for pipeline in range(2):
            context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline)
            dataset = tfrecord.read_tfrecords(files, input_context=context)
            part = [tuple(e["actions"].ravel()) for e in _as_numpy(dataset)]
            assert len(part) == 3
            seen.extend(part)
        return sorted(seen)

    four_files = tfrecord.write_tfrecords(str(tmp_path / "four"), examples, num_shards=4)
    assert union_over_pipelines(four_files) == written
    one_file = tfrecord.write_tfrecords(str(tmp_path / "one"), examples, num_shards=1)
    assert union_over_pipelines(one_file) == written  # fewer files than pipelines: element sharding


def test_registered_as_tfrecord_reader():
    assert registry.get_reader("tfrecord") is tfrecord.read_tfrecords


@pytest.mark.parametrize("key, good, bad, message", [
    ("actions", np.zeros((3, 2), np.float32), np.zeros((4, 2), np.float32), "'actions' must have T=3"),
    ("images", np.zeros((3, 5, 6, 3), np.float32), np.full((3, 5, 6, 3), 1.5, np.float32),
     "'images' must lie in [0, 1]"),
    ("masks", np.zeros((3, 5, 6, 1), np.float32), np.zeros((3, 5, 7, 1), np.float32), "'masks' must share H, W"),
    ("states", np.zeros((3, 1), np.float32), np.array([[np.nan]] * 3, np.float32), "'states' holds NaN"),
])
def test_contract_violation_names_example_and_key(tmp_path, key, good, bad, message):
    examples = [{**example, key: good} for example in _examples(3)]
    examples[1][key] = bad
    with pytest.raises(ValueError) as caught:
        tfrecord.write_tfrecords(str(tmp_path / "bad"), examples, num_shards=2)
    assert "example 1" in str(caught.value)
    assert message in str(caught.value)
    assert os.listdir(tmp_path) == []  # nothing half-written is left behind


def test_examples_with_different_entries_are_refused(tmp_path):
    examples = _examples(2)
    del examples[1]["actions"]
    with pytest.raises(ValueError, match="example 1: entries"):
        tfrecord.write_tfrecords(str(tmp_path / "mixed"), examples)


def _write_three_shards(tmp_path):
    return tfrecord.write_tfrecords(str(tmp_path / "v"), _examples(6), num_shards=3)


def test_flipped_payload_byte_raises_error_naming_the_file(tmp_path):
    files = _write_three_shards(tmp_path)
    damaged = files[1]
    start, length = _record_offsets(damaged)[1]
    raw = bytearray(open(damaged, "rb").read())
    raw[start + 12 + length // 2] ^= 0x40  # inside the payload of record 1
    open(damaged, "wb").write(bytes(raw))

    assert tfrecord.find_corrupt_record(files[:1] + files[2:]) is None
    path, index, reason = tfrecord.find_corrupt_record(files)
    assert (path, index) == (damaged, 1)
    assert "corrupt" in reason

    dataset = tfrecord.read_tfrecords(files)
    with pytest.raises(tf.errors.DataLossError):  # what tf.data alone reports
        _as_numpy(dataset)
    with pytest.raises(tfrecord.CorruptRecordError) as caught:
        list(tfrecord.iterate_checked(dataset, files))
    assert damaged in str(caught.value) and "record 1" in str(caught.value)
    assert caught.value.path == damaged

    with pytest.raises(tfrecord.CorruptRecordError, match=damaged):
        tfrecord.read_tfrecords(files, validate=True)
    assert isinstance(tfrecord.error_naming_file(tf.errors.DataLossError(None, None, "x"), files),
                      tfrecord.CorruptRecordError)


def test_truncated_file_raises_error_naming_the_file(tmp_path):
    files = _write_three_shards(tmp_path)
    damaged = files[2]
    raw = open(damaged, "rb").read()
    open(damaged, "wb").write(raw[:-30])

    path, index, reason = tfrecord.find_corrupt_record(files)
    assert (path, index) == (damaged, 1)
    assert "truncated" in reason
    with pytest.raises(tfrecord.CorruptRecordError, match=f"{damaged}: record 1"):
        list(tfrecord.iterate_checked(tfrecord.read_tfrecords(files), files))


def test_foreign_example_is_reported_with_the_missing_feature(tmp_path):
    path = str(tmp_path / "foreign.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        feature = {"image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"png"]))}
        writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    path_found, index, reason = tfrecord.find_corrupt_record([path])
    assert (path_found, index) == (path, 0)
    assert "video/format_version" in reason
    with pytest.raises(tfrecord.CorruptRecordError, match="foreign.tfrecord"):
        tfrecord.read_tfrecords(path)


def test_unmatched_pattern_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        tfrecord.read_tfrecords(str(tmp_path / "nothing-here-*.tfrecord"))


def test_too_few_examples_for_the_shards_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="2 examples cannot fill 3 shards"):
        tfrecord.write_tfrecords(str(tmp_path / "few"), _examples(2), num_shards=3)
    with pytest.raises(ValueError, match="0 examples"):
        tfrecord.write_tfrecords(str(tmp_path / "none"), [])
    assert os.listdir(tmp_path) == []
