"""The e3d readers (Moving MNIST .npz, KTH frame folders) vs the original's recorded batches, and their fake
writers."""

import random

import cv2
import numpy as np
import pytest
from fixtures.e3d_data import write_fake_kth, write_fake_mnist_npz
from PIL import Image

from vidpred_tf.data.batch import validate_batch
from vidpred_tf.data.kth.e3d_frames import KthHandle, kth_handle, load_kth_split
from vidpred_tf.data.moving_mnist.e3d_npz import MnistNpzHandle
from vidpred_tf.data.registry import get_reader


def test_mnist_reader_reproduces_the_original_batches(misc, golden):
    handle = MnistNpzHandle(str(misc / "fake_moving_mnist.npz"), batch_size=2)
    batches = np.stack(list(handle.batches(do_shuffle=False)))
    np.testing.assert_array_equal(batches, golden["mnist_batches_noshuffle"])
    assert batches.dtype == np.float32

    dataset = get_reader("moving_mnist_e3d")(str(misc / "fake_moving_mnist.npz"), batch_size=2, epochs=2)
    served = [b["images"].numpy() for b in dataset]
    assert len(served) == 6
    np.testing.assert_array_equal(np.stack(served[3:]), golden["mnist_batches_noshuffle"])


def test_mnist_fake_writer_layout_and_last_full_batch_dropped(tmp_path):
    path = write_fake_mnist_npz(str(tmp_path / "train.npz"), num_sequences=6, input_length=2, output_length=3,
                                height=4, width=5, channels=1, seed=3)
    with np.load(path) as archive:
        assert archive["clips"].dtype == np.int32 and archive["clips"].shape == (2, 6, 2)
        assert archive["dims"].tolist() == [[1, 4, 5]]
        raw = archive["input_raw_data"]
    assert raw.dtype == np.float32 and raw.shape == (30, 1, 4, 5)
    batches = list(MnistNpzHandle(path, 2).batches())
    assert len(batches) == 2  # 6 sequences, batches of 2: the third (last full) batch is never served
    expected_seq3 = np.transpose(raw[15:20], (0, 2, 3, 1))
    np.testing.assert_array_equal(batches[1][1], expected_seq3)

    # shuffling follows Python's random on the index list
    handle = MnistNpzHandle(path, 2, rng=random.Random(7))
    first = next(handle.batches(do_shuffle=True))
    order = list(range(6))
    random.Random(7).shuffle(order)
    np.testing.assert_array_equal(first[0], np.transpose(raw[order[0] * 5:order[0] * 5 + 5], (0, 2, 3, 1)))


def test_mnist_two_paths_use_frame_offsets(tmp_path):
    first = write_fake_mnist_npz(str(tmp_path / "a.npz"), num_sequences=3, seed=1)
    second = write_fake_mnist_npz(str(tmp_path / "b.npz"), num_sequences=4, seed=2)
    joined = MnistNpzHandle(f"{first},{second}", 1)
    assert joined.total() == 7
    second_alone = list(MnistNpzHandle(second, 1).batches())
    joined_batches = list(joined.batches())
    # 7 sequences in batches of 1 serve 6; the last 3 served are the second file's first 3 sequences
    for ours, theirs in zip(joined_batches[3:], second_alone[:3]):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        MnistNpzHandle(str(tmp_path / "missing.npz"), 1)


def test_kth_reader_reproduces_the_original(misc, golden):
    width = golden["kth_test_data"].shape[1]
    for split in ("train", "test"):
        data, indices = load_kth_split(str(misc / "fake_kth"), split, width, 4)
        assert indices == golden[f"kth_{split}_indices"].tolist()
        np.testing.assert_array_equal(data.astype(np.float32), golden[f"kth_{split}_data"])
    handle = kth_handle(str(misc / "fake_kth"), "test", image_width=width, seq_length=4, batch_size=2)
    np.testing.assert_array_equal(np.stack(list(handle.batches(do_shuffle=False))),
                                  golden["kth_test_batches_noshuffle"])
    dataset = get_reader("kth_e3d")(str(misc / "fake_kth"), split="test", image_width=width, seq_length=4,
                                       batch_size=2)
    np.testing.assert_array_equal(np.stack([b["images"].numpy() for b in dataset]),
                                  golden["kth_test_batches_noshuffle"])


def test_kth_fake_writer_gives_gap_aware_clips(tmp_path):
    root = write_fake_kth(str(tmp_path / "kth"), persons=("03", "20"), frame_numbers=(1, 2, 3, 4, 5, 7, 8, 9, 10),
                          height=6, width=10, seed=4)
    data, starts = load_kth_split(root, "train", 5, 4, cache=False)
    # per video: frames 1-5 and 7-10 (positions 0-4, 5-8); non-overlapping categories take clips ending at
    # 10 (7..10) and at 5 (2..5); jogging/running step back only 3 after a clip: 7..10 and 2..5 as well
    per_video = [5, 1]
    assert starts == [9 * v + p for v in range(5, -1, -1) for p in per_video]
    frame = np.array(Image.open(f"{root}/walking/person03_walking_d1_uncomp/image_0008.png"))[:, :, 0]
    expected = cv2.resize(np.float32(frame), (5, 5)) / 255
    walking_video = 3
    np.testing.assert_allclose(data[walking_video * 9 + 6, :, :, 0], expected)
    test_data, test_starts = load_kth_split(root, "test", 5, 4)
    assert len(test_data) == 54 and len(test_starts) == 12
    handle = KthHandle(data, starts, batch_size=4, seq_length=4)
    assert len(list(handle.batches())) == 2  # 12 clips in batches of 4: the last full batch is dropped
    with pytest.raises(FileNotFoundError, match="category folder .*boxing"):
        load_kth_split(str(tmp_path), "train", 5, 4)


def test_registered_npz_reader_checks_the_sequence_length(misc):
    reader = get_reader("moving_mnist_e3d")
    assert reader(str(misc / "fake_moving_mnist.npz"), batch_size=2, seq_length=6).element_spec["images"].shape == (
        2, 6, 8, 8, 1)
    with pytest.raises(ValueError, match="sequences have 6 frames .* --total_length is 20"):
        reader(str(misc / "fake_moving_mnist.npz"), batch_size=2, seq_length=20)


def test_shuffled_passes_follow_each_original_handle(tmp_path):
    """The npz handle reshuffles the file order every pass; the KTH handle reshuffles the previous pass's order
    in place. Past the last served batch both refuse, naming the reader."""
    path = write_fake_mnist_npz(str(tmp_path / "seq.npz"), num_sequences=7, input_length=1, output_length=1,
                                height=2, width=2, seed=5)
    with np.load(path) as archive:
        raw = archive["input_raw_data"]
    handle = MnistNpzHandle(path, 2, rng=random.Random(11))
    expected_rng = random.Random(11)
    for _ in range(2):
        order = list(range(7))
        expected_rng.shuffle(order)
        served = list(handle.batches(do_shuffle=True))
        assert len(served) == 3  # 7 sequences in batches of 2: the fourth batch (the last full one) is dropped
        expected = [np.transpose(raw[2 * k:2 * k + 2], (0, 2, 3, 1)) for k in order[:6]]
        np.testing.assert_array_equal(np.concatenate(served), np.stack(expected))
    with pytest.raises(RuntimeError, match=r"moving_mnist_e3d .*seq\.npz.*no batch left \(7 sequences, batch size 2\)"):
        handle.get_batch()

    data = np.arange(20, dtype=np.float64)[:, None, None, None] * np.ones((1, 2, 2, 1))
    starts = [0, 3, 6, 9, 12, 15]
    handle = KthHandle(data, starts, batch_size=2, seq_length=3, rng=random.Random(4))
    order, expected_rng = list(starts), random.Random(4)
    for _ in range(2):
        expected_rng.shuffle(order)  # in place: the second pass shuffles the first pass's order
        served = np.concatenate(list(handle.batches(do_shuffle=True)))
        np.testing.assert_array_equal(served[:, 0, 0, 0, 0], order[:4])
        np.testing.assert_array_equal(served[:, :, 0, 0, 0], [[s, s + 1, s + 2] for s in order[:4]])
    with pytest.raises(RuntimeError, match=r"kth_e3d: no batch left \(6 clips, batch size 2\)"):
        handle.get_batch()
    with pytest.raises(ValueError, match="kth_e3d: batch_size must be positive; got 0"):
        KthHandle(data, starts, batch_size=0, seq_length=3)


def test_readers_are_named_by_their_registered_names_and_serve_the_batch_contract(tmp_path, misc):
    """Both readers' errors start with the name they are registered under; their datasets serve float32
    ``images`` [B, T, H, W, C] (vidpred_tf.data.batch)."""
    npz = get_reader("moving_mnist_e3d")(str(misc / "fake_moving_mnist.npz"), batch_size=2)
    kth = get_reader("kth_e3d")(str(misc / "fake_kth"), split="test", image_width=8, seq_length=4, batch_size=2)
    for dataset in (npz, kth):
        assert list(dataset.element_spec) == ["images"]
        validate_batch(dataset.element_spec)
        validate_batch(next(iter(dataset)))
    with pytest.raises(FileNotFoundError, match=r"^moving_mnist_e3d: file .*absent\.npz not found"):
        get_reader("moving_mnist_e3d")(str(tmp_path / "absent.npz"), batch_size=2)
    with pytest.raises(ValueError, match=r"^moving_mnist_e3d \[.*fake_moving_mnist\.npz'\]: 7 sequences give no batch"):
        get_reader("moving_mnist_e3d")(str(misc / "fake_moving_mnist.npz"), batch_size=7)
    with pytest.raises(FileNotFoundError, match=r"^kth_e3d: category folder .*boxing is missing"):
        get_reader("kth_e3d")(str(tmp_path), split="test", image_width=8, seq_length=4, batch_size=2)
    with pytest.raises(ValueError, match=r"^kth_e3d .*fake_kth \(test\): \d+ clips of 4 frames give no batch of 1000"):
        get_reader("kth_e3d")(str(misc / "fake_kth"), split="test", image_width=8, seq_length=4, batch_size=1000)
