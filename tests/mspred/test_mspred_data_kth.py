"""KTH-Actions with keypoint heat maps (spec 3.3, checklist item 19) on a fake tree in the real on-disk layout."""

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
from fixtures.mspred_data import write_fake_kth_keypoints
from PIL import Image

from vidpred_tf.data.heatmaps import HeatmapGenerator
from vidpred_tf.data.kth.mspred_keypoints import (
    KTH_CLASSES,
    KTHActionsDataset,
    flip_channel_order,
    heatmap_weights,
    read_kth_meta,
)
from vidpred_tf.data.torch7 import read_torch7

IMG = 32
LENGTHS = (30, 12)  # every video: one 30-frame and one 12-frame sequence


@pytest.fixture(scope="module")
def kth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    write_fake_kth_keypoints(root, img_size=IMG, sequence_lengths=LENGTHS, seed=3)
    return root


class ScriptedRandom:
    """Stands in for Python's ``random``: returns the scripted values and records the calls."""

    def __init__(self, values):
        self.values = list(values)
        self.calls = []

    def randint(self, low, high):
        self.calls.append((low, high))
        return self.values.pop(0)


def read_frame(root, class_name, video, name):
    path = os.path.join(root, f"KTH_{IMG}", "processed", class_name, video, name)
    return np.asarray(Image.open(path), np.float64) / 255.0


def expected_heatmaps(root, class_name, file_split, key):
    path = os.path.join(root, f"KTH_{IMG}", "processed", class_name, f"{file_split}_keypoints{IMG}x{IMG}.json")
    with open(path) as handle:
        points = json.load(handle)[key]
    return (HeatmapGenerator((IMG, IMG), 9, 1)(points[:9]), HeatmapGenerator((IMG, IMG), 1, 1)(points[9:]))


def test_fake_tree_has_the_real_layout(kth_root):
    processed = os.path.join(kth_root, f"KTH_{IMG}", "processed")
    meta = read_torch7(os.path.join(processed, "walking", f"train_meta{IMG}x{IMG}.t7"))
    # What torchfile gives: a list of tables with bytes keys and values.
    assert meta[0][b"vid"] == b"person01_walking_d1"
    assert [len(seq) for seq in meta[0][b"files"]] == list(LENGTHS)
    assert meta[0][b"files"][0][0] == f"image-001_{IMG}x{IMG}.png".encode()
    assert read_kth_meta(os.path.join(processed, "boxing", f"test_meta{IMG}x{IMG}.t7"))[0][0] == \
        "person17_boxing_d1"
    with open(os.path.join(processed, "walking", f"train_keypoints{IMG}x{IMG}.json")) as handle:
        keypoints = json.load(handle)
    entry = keypoints[f"person01_walking_d1/image-001_{IMG}x{IMG}.png"]
    assert len(entry) == 10 and all(len(point) == 2 for point in entry)
    assert os.path.isfile(os.path.join(processed, "walking", "person01_walking_d1", f"image-042_{IMG}x{IMG}.png"))


def test_valid_sequences_and_the_29_frame_rule(kth_root):
    # T = 20: only the 30-frame sequences, one per class, in class order.
    test_set = KTHActionsDataset(kth_root, "test", 20, img_size=IMG)
    assert [entry[0] for entry in test_set.sequences] == list(KTH_CLASSES)
    assert [test_set.sequence_length(i) for i in range(len(test_set))] == [30] * 6
    # T = 40: 30 >= 29 admits the walking/running/jogging sequences only (they get padded).
    long_set = KTHActionsDataset(kth_root, "test", 40, img_size=IMG)
    assert [entry[0] for entry in long_set.sequences] == ["walking", "running", "jogging"]
    # T = 12: every sequence.
    assert len(KTHActionsDataset(kth_root, "test", 12, img_size=IMG)) == 12


def test_train_val_split_is_the_seeded_shuffle(kth_root):
    train = KTHActionsDataset(kth_root, "train", 12, img_size=IMG)
    val = KTHActionsDataset(kth_root, "val", 12, img_size=IMG)
    state = random.getstate()
    try:
        random.seed(13)  # what the original trainer does before building the train split
        order = list(range(12))
        random.shuffle(order)
    finally:
        random.setstate(state)
    assert train.positions == order[:int(12 * 0.98)] == order[:11]
    assert val.positions == order[11:]
    assert len(train) == 11 and len(val) == 1


def test_test_items_start_at_the_per_item_seeded_frame(kth_root):
    test_set = KTHActionsDataset(kth_root, "test", 20, img_size=IMG)
    first = random.Random(1234).randint(0, 30 - 20)
    item = test_set[2]
    again = test_set[2]
    assert item["class_name"] == "handwaving"
    assert item["frames"].shape == (20, IMG, IMG, 3) and item["frames"].dtype == np.float32
    assert item["heatmaps"][0].shape == (20, IMG, IMG, 9) and item["heatmaps"][1].shape == (20, IMG, IMG, 1)
    np.testing.assert_array_equal(item["frames"], again["frames"])
    for step in (0, 19):
        name = f"image-{first + step + 1:03d}_{IMG}x{IMG}.png"
        np.testing.assert_allclose(item["frames"][step],
                                   read_frame(kth_root, "handwaving", "person17_handwaving_d1", name), atol=1e-7)
        level_1, level_2 = expected_heatmaps(kth_root, "handwaving", "test", f"person17_handwaving_d1/{name}")
        np.testing.assert_array_equal(item["heatmaps"][0][step], level_1)
        np.testing.assert_array_equal(item["heatmaps"][1][step], level_2)


def test_short_sequences_are_padded_with_the_last_frame(kth_root):
    long_set = KTHActionsDataset(kth_root, "test", 40, img_size=IMG)
    item = long_set[0]  # walking, 30 frames
    last = f"image-030_{IMG}x{IMG}.png"
    np.testing.assert_allclose(item["frames"][29], read_frame(kth_root, "walking", "person17_walking_d1", last),
                               atol=1e-7)
    for step in range(30, 40):
        np.testing.assert_array_equal(item["frames"][step], item["frames"][29])
        np.testing.assert_array_equal(item["heatmaps"][0][step], item["heatmaps"][0][29])
        np.testing.assert_array_equal(item["heatmaps"][1][step], item["heatmaps"][1][29])


def test_horizontal_flip_mirrors_and_swaps_left_right_channels(kth_root):
    """Checklist item 19: the flip swaps level-1 channels (1,2), (3,4), (5,6), (7,8)."""
    assert flip_channel_order() == [0, 2, 1, 4, 3, 6, 5, 8, 7]
    # The train rng draws the first frame, then the flip (randint(0, 1) == 0 flips).
    flipping = ScriptedRandom([4, 0])
    train = KTHActionsDataset(kth_root, "train", 20, img_size=IMG, rng=flipping)
    flipped = train[0]
    assert flipping.calls == [(0, 10), (0, 1)]
    plain = train.load_item(0, first_frame=4, flip=False)
    np.testing.assert_array_equal(flipped["frames"], plain["frames"][:, :, ::-1])
    np.testing.assert_array_equal(flipped["heatmaps"][1], plain["heatmaps"][1][:, :, ::-1])
    mirrored = plain["heatmaps"][0][:, :, ::-1]
    for a, b in ((1, 2), (3, 4), (5, 6), (7, 8)):
        np.testing.assert_array_equal(flipped["heatmaps"][0][..., a], mirrored[..., b])
        np.testing.assert_array_equal(flipped["heatmaps"][0][..., b], mirrored[..., a])
    np.testing.assert_array_equal(flipped["heatmaps"][0][..., 0], mirrored[..., 0])
    # randint(0, 1) == 1: no flip.
    train.rng = ScriptedRandom([4, 1])
    np.testing.assert_array_equal(train[0]["frames"], plain["frames"])
    # The test split never flips and draws nothing from rng.
    untouched = ScriptedRandom([])
    KTHActionsDataset(kth_root, "test", 20, img_size=IMG, rng=untouched)[0]
    assert untouched.calls == []


def test_one_channel_frames_keep_channel_zero(kth_root):
    gray = KTHActionsDataset(kth_root, "test", 20, img_size=IMG, num_channels=1)[0]
    rgb = KTHActionsDataset(kth_root, "test", 20, img_size=IMG)[0]
    assert gray["frames"].shape == (20, IMG, IMG, 1)
    np.testing.assert_array_equal(gray["frames"][..., 0], rgb["frames"][..., 0])


def test_heatmap_weights_per_class():
    weights = heatmap_weights(0.7)
    assert list(weights) == list(KTH_CLASSES)
    arms = [0.7, 0.7, 0.7, 1.0, 1.0, 0.7, 0.7, 0.7, 0.7]  # kpts 4 and 7 = channels 3 and 4
    legs = [0.7] * 5 + [1.0] * 4  # kpts 9, 12, 10, 13 = channels 5..8
    assert weights["boxing"] == weights["handclapping"] == weights["handwaving"] == arms
    assert weights["walking"] == weights["running"] == weights["jogging"] == legs
    assert heatmap_weights(0.5, 2.0)["boxing"][3] == 2.0


def test_errors_name_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"KTH_64.processed"):
        KTHActionsDataset(tmp_path, "train", 10)
    with pytest.raises(ValueError, match="split must be one of"):
        KTHActionsDataset(tmp_path, "validation", 10)
    root = tmp_path / "data"
    processed = write_fake_kth_keypoints(root, img_size=16, sequence_lengths=(3,), classes=("boxing",),
                                         file_splits=("test",))
    with pytest.raises(FileNotFoundError, match=r"handclapping.test_meta16x16\.t7"):
        KTHActionsDataset(root, "test", 3, img_size=16)
    write_fake_kth_keypoints(root, img_size=16, sequence_lengths=(3,), file_splits=("test",))
    os.remove(os.path.join(processed, "running", "test_keypoints16x16.json"))
    with pytest.raises(FileNotFoundError, match=r"running.test_keypoints16x16\.json"):
        KTHActionsDataset(root, "test", 3, img_size=16)
    write_fake_kth_keypoints(root, img_size=16, sequence_lengths=(3,), file_splits=("test",))
    os.remove(os.path.join(processed, "boxing", "person17_boxing_d1", "image-002_16x16.png"))
    dataset = KTHActionsDataset(root, "test", 3, img_size=16)
    with pytest.raises(FileNotFoundError, match=r"person17_boxing_d1.image-002_16x16\.png"):
        dataset[0]


def test_convert_kth_script_writes_the_frame_layout(tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    raw = tmp_path / "raw" / "boxing"
    raw.mkdir(parents=True)
    # 0.4 s at 25 fps = 10 frames.
    subprocess.run([ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-t", "0.4",
                    "-c:v", "mpeg4", str(raw / "person01_boxing_d1_uncomp.avi")], check=True)
    script = os.path.join(os.path.dirname(__file__), "..", "..", "datasets", "mspred", "convert_kth.sh")
    env = dict(os.environ, PYTHON=sys.executable, FFMPEG=ffmpeg)
    result = subprocess.run(["bash", script, str(tmp_path)], env=env, capture_output=True, text=True, check=True)
    assert "converted 1 videos" in result.stdout
    video_dir = tmp_path / "processed" / "boxing" / "person01_boxing_d1"
    names = sorted(os.listdir(video_dir))
    assert names == [f"image-{k:03d}_64x64.png" for k in range(1, 11)]
    assert np.asarray(Image.open(video_dir / names[0])).shape == (64, 64, 3)
    assert sorted(os.listdir(tmp_path / "processed" / "boxing")) == ["person01_boxing_d1"]  # no temp folder left


def test_an_empty_keypoint_entry_gives_empty_heatmaps_and_a_wrong_length_is_named(tmp_path):
    processed = write_fake_kth_keypoints(tmp_path, img_size=16, sequence_lengths=(3,), file_splits=("test",),
                                         missing_fraction=0.0)
    path = os.path.join(processed, "boxing", "test_keypoints16x16.json")
    with open(path) as handle:
        keypoints = json.load(handle)
    # The original draws [] as "every keypoint missing" (HeatmapGenerator turns [] into (0, 0) points).
    keypoints["person17_boxing_d1/image-002_16x16.png"] = []
    with open(path, "w") as handle:
        json.dump(keypoints, handle)
    item = KTHActionsDataset(tmp_path, "test", 3, img_size=16)[0]
    assert item["class_name"] == "boxing"
    assert not item["heatmaps"][0][1].any() and not item["heatmaps"][1][1].any()
    assert item["heatmaps"][0][0].max() == 1.0 and item["heatmaps"][1][2].max() == 1.0  # the other frames drawn
    keypoints["person17_boxing_d1/image-003_16x16.png"] = [[0.5, 0.5]] * 3
    with open(path, "w") as handle:
        json.dump(keypoints, handle)
    with pytest.raises(ValueError, match=r"boxing.test_keypoints16x16\.json: entry "
                                         r"'person17_boxing_d1/image-003_16x16\.png' has 3 keypoints"):
        KTHActionsDataset(tmp_path, "test", 3, img_size=16)[0]
