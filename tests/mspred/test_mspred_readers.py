"""MSPred's dataset formats as registered readers (``vidpred evaluate --dataset NAME``): each yields unbatched
examples of the batch contract (``images`` float32 [T, H, W, C] in [0, 1]) with the documented extras, the items
of the dataset classes in order."""

import numpy as np
import pytest
from fixtures.mspred_data import write_fake_kth_keypoints, write_fake_precomputed_moving_mnist, write_fake_synpick

from vidpred_tf.data.batch import validate_batch
from vidpred_tf.data.kth.mspred_keypoints import KTH_CLASSES, KTHActionsDataset
from vidpred_tf.data.moving_mnist.mspred import CustomMovingMNIST, PrecomputedMovingMNIST
from vidpred_tf.data.registry import get_reader, list_readers
from vidpred_tf.data.synpick.mspred import SynpickDataset
from vidpred_tf.evaluation import load_dataset_videos

READERS = ("moving_mnist_mspred", "custom_moving_mnist_mspred", "kth_mspred", "synpick_mspred")


@pytest.fixture(scope="module")
def datasets_root(tmp_path_factory):
    """One datasets folder holding all three on-disk formats, small."""
    root = tmp_path_factory.mktemp("datasets")
    write_fake_precomputed_moving_mnist(root, num_train=0, num_test=3, num_frames=6, img_size=40)
    write_fake_kth_keypoints(root, img_size=16, sequence_lengths=(8,), file_splits=("test",), missing_fraction=0.0)
    write_fake_synpick(root, "test", num_episodes=1, frames_per_episode=130, frame_size=(34, 60), seed=5)
    return root


def _cases(root):
    """reader name -> (positional arguments, keyword arguments, the dataset object it reads, its class names)."""
    return {
        "moving_mnist_mspred": ((root,), dict(num_frames=6, num_channels=1, num_test_sequences=3),
                                PrecomputedMovingMNIST(root, "test", 6, 1, num_test_sequences=3), ()),
        "custom_moving_mnist_mspred": ((), dict(num_frames=4, img_size=40),
                                       CustomMovingMNIST("test", 4, 3, 40), ()),
        "kth_mspred": ((root,), dict(num_frames=6, img_size=16), KTHActionsDataset(root, "test", 6, img_size=16),
                       KTH_CLASSES),
        "synpick_mspred": ((root / "SYNPICK",), dict(num_frames=5, img_size=[16, 28]),
                           SynpickDataset(root, "test", 5, img_size=(16, 28)), ()),
    }


def test_every_format_is_registered():
    listed = list_readers()
    for name in READERS:
        assert name in listed and listed[name]
        assert callable(get_reader(name))


@pytest.mark.parametrize("name", READERS)
def test_reader_yields_the_items_as_contract_examples(datasets_root, name):
    args, kwargs, dataset, classes = _cases(datasets_root)[name]
    examples = get_reader(name)(*args, **kwargs)
    spec = examples.element_spec
    assert spec["images"].shape.rank == 4 and spec["images"].dtype.name == "float32"
    assert sorted(spec) == ["class_id", "heatmap_1", "heatmap_2", "images"]
    read = list(examples.take(3).as_numpy_iterator())
    assert len(read) == min(3, len(dataset))
    for index, example in enumerate(read):
        item = dataset[index]
        images = example["images"]
        assert images.dtype == np.float32 and 0.0 <= images.min() and images.max() <= 1.0
        np.testing.assert_array_equal(images, item["frames"])
        np.testing.assert_array_equal(example["heatmap_1"], item["heatmaps"][0])
        np.testing.assert_array_equal(example["heatmap_2"], item["heatmaps"][1])
        expected_class = classes.index(item["class_name"]) if item["class_name"] else -1
        assert example["class_id"] == expected_class
    validate_batch(next(examples.batch(2).as_numpy_iterator()), source=name)


def test_evaluate_reads_a_registered_mspred_format(datasets_root):
    """What ``vidpred evaluate --dataset kth_mspred --data ROOT --dataset_arg ...`` loads."""
    videos = load_dataset_videos("kth_mspred", str(datasets_root), {"num_frames": 6, "img_size": 16}, num_videos=4)
    assert videos.shape == (4, 6, 16, 16, 3) and videos.dtype == np.float32
    first = KTHActionsDataset(datasets_root, "test", 6, img_size=16)[0]["frames"]
    np.testing.assert_array_equal(videos[0], first)
