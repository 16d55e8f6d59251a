"""hierchvid (Villegas et al. 2017) data: heat maps, Penn Action / Human3.6M readers, preprocessing scripts."""

import importlib.util
import os
import zipfile

import cv2
import numpy as np
import pytest
from fixtures.hierchvid_data import (
    write_h36m_lists,
    write_h36m_video,
    write_penn_lists,
    write_penn_video,
    write_raw_h36m_video,
    write_raw_penn_video,
)

from vidpred_tf.data import hierchvid_files, pose_maps
from vidpred_tf.data.batch import validate_batch
from vidpred_tf.data.human36m import hierchvid as h36m
from vidpred_tf.data.penn_action import hierchvid as penn
from vidpred_tf.errors import InputError

DATASETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "datasets", "hierchvid")


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"hierchvid_{name}", os.path.join(DATASETS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------- reference (loop) renderers
def reference_penn_map(posex, posey, visib, shape):
    """The original's per-channel loop, written out plainly, on the same gauss2D_mask."""
    cpose = np.zeros((shape[0], shape[1], 48))
    for j, (a, b, c, d) in enumerate(pose_maps.PENN_LIMB_LINES):
        if visib[a] and visib[b] and visib[c] and visib[d]:
            ix = np.linspace(np.float64(posex[a] + posex[b]) / 2.0, np.float64(posex[c] + posex[d]) / 2.0, 4, True)
            iy = np.linspace(np.float64(posey[a] + posey[b]) / 2.0, np.float64(posey[c] + posey[d]) / 2.0, 4, True)
            for k in range(4):
                g = pose_maps.gauss2D_mask((iy[k], ix[k]), shape, sigma=8.)
                cpose[:, :, j * 4 + k] = g / g.max()
        else:
            if visib[a] and visib[b]:
                g = pose_maps.gauss2D_mask((np.float64(posey[a] + posey[b]) / 2.0,
                                            np.float64(posex[a] + posex[b]) / 2.0), shape, sigma=8.)
                cpose[:, :, j * 4] = g / g.max()
            if visib[c] and visib[d]:
                g = pose_maps.gauss2D_mask((np.float64(posey[c] + posey[d]) / 2.0,
                                            np.float64(posex[c] + posex[d]) / 2.0), shape, sigma=8.)
                cpose[:, :, j * 4 + 3] = g / g.max()
    return cpose


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_penn_limb_map_matches_the_loop_bitwise(dtype):
    rng = np.random.default_rng(3)
    shape = (37, 29)
    for _ in range(3):
        posex = rng.uniform(-5, 34, 13).astype(dtype)
        posey = rng.uniform(-5, 42, 13).astype(dtype)
        visib = (rng.random(13) > 0.3).astype(np.uint8)
        ours = pose_maps.penn_limb_map(posex, posey, visib, shape)
        assert ours.shape == (37, 29, 48) and ours.dtype == np.float64
        np.testing.assert_array_equal(ours, reference_penn_map(posex, posey, visib, shape))


def test_penn_limb_map_peaks_and_visibility_rules():
    posex = np.linspace(10, 50, 13)
    posey = np.linspace(8, 56, 13)
    maps = pose_maps.penn_limb_map(posex, posey, np.ones(13), (64, 64))
    assert maps.shape == (64, 64, pose_maps.PENN_NUM_CHANNELS)
    np.testing.assert_allclose(maps.reshape(-1, 48).max(axis=0), 1.0)
    # Line 3 = [3, 3, 5, 5]: joints 3 visible, 5 not -> only channel 12 of that line.
    visib = np.ones(13)
    visib[5] = 0
    maps = pose_maps.penn_limb_map(posex, posey, visib, (64, 64))
    line = maps[:, :, 12:16].reshape(-1, 4).max(axis=0)
    np.testing.assert_allclose(line, [1.0, 0, 0, 0])
    peak = np.unravel_index(maps[:, :, 12].argmax(), (64, 64))
    assert peak == (round(posey[3]), round(posex[3]))
    # Line 5 = [4, 4, 6, 6] also loses its end (joint 6 visible, 5 not involved): start-only only when c,d invisible.
    none = pose_maps.penn_limb_map(posex, posey, np.zeros(13), (16, 16))
    assert not none.any()


def test_gaussian_nan_quirk_and_h36m_joint_maps():
    far = pose_maps.peak_normalised_blobs([(5000.0, 5000.0)], (8, 8))
    assert np.isnan(far).all()
    np.testing.assert_array_equal(pose_maps.gauss2D_mask((2, 3), (5, 6), sigma=8.) > 0, True)
    posex = np.arange(32) % 20
    posey = (np.arange(32) * 3) % 30
    maps = pose_maps.h36m_joint_map(posex.astype(np.int32), posey.astype(np.int32), (30, 20), dtype=np.float32)
    assert maps.shape == (30, 20, 32) and maps.dtype == np.float32
    for j in range(32):
        assert np.unravel_index(maps[:, :, j].argmax(), (30, 20)) == (posey[j], posex[j])
        assert maps[posey[j], posex[j], j] == 1.0
    box = np.array([10, 20, 50, 44], np.int32)
    assert pose_maps.h36m_train_map_shape(box) == (40, 24)  # (width, height): transposed (quirk)
    assert pose_maps.h36m_test_map_shape(box) == (24, 40)
    resized = pose_maps.resize_maps(maps, 16)
    assert resized.shape == (16, 16, 32) and resized.dtype == np.float32


def test_draw_frame_borders():
    image = np.full((8, 8, 3), 100, np.uint8)
    pose_maps.draw_frame(image, True)
    assert image[0, 4].tolist() == [0, 255, 0] and image[4, 4].tolist() == [100, 100, 100]
    image = np.full((8, 8, 3), 100, np.uint8)
    pose_maps.draw_frame(image, False)
    assert image[0, 4].tolist() == [0, 0, 255] and image[4, 7].tolist() == [0, 0, 255]
    assert image[4, 0].tolist() == [0, 100, 255]  # left edge keeps G (quirk)


# --------------------------------------------------------------------------------------------------- Penn Action
@pytest.fixture
def penn_root(tmp_path):
    root = str(tmp_path / "PennAction")
    written = {"0001": write_penn_video(root, "0001", 50, (24, 20), "tennis_serve", seed=1),
               "0002": write_penn_video(root, "0002", 7, (18, 30), "golf_swing", seed=2),
               "0003": write_penn_video(root, "0003", 45, (20, 20), "jump_rope", seed=3)}
    lists = write_penn_lists(root, {"train_subset_list.txt": ["0001", "0002", "0003"],
                                    "train_list.txt": ["0001", "0002", "0003"],
                                    "test_subset_list.txt": ["0001", "0003"]})
    return root, written, lists


def test_penn_lstm_batches_normalise_pad_and_window(penn_root):
    root, written, lists = penn_root
    videos = penn.load_lstm_videos(lists["train_subset_list.txt"], root)
    short = written["0002"]
    # x by the crop height (18), y by the crop width (30): quirk of the original.
    np.testing.assert_allclose(videos[1]["x"], short["x"] / 18.0)
    np.testing.assert_allclose(videos[1]["y"], short["y"] / 30.0)
    window = penn.lstm_window(videos[1], 10, 32, np.random.default_rng(0))
    assert window["seq"].shape == (42, 26) and window["mask"].shape == (42, 13)
    expected_x = 2 * short["x"] / 18.0 - 1
    np.testing.assert_allclose(window["seq"][:7, :13], expected_x, rtol=1e-6)
    np.testing.assert_array_equal(window["seq"][7:], np.tile(window["seq"][6], (35, 1)))
    np.testing.assert_array_equal(window["mask"][7:], np.tile(short["visibility"][-1], (35, 1)))
    # Long video: the window is a consecutive slice starting within 0..nframes-42.
    long_video = videos[0]
    starts = set()
    for seed in range(40):
        seq = penn.lstm_window(long_video, 10, 32, np.random.default_rng(seed))["seq"]
        full = (2 * long_video["x"] - 1).astype(np.float32)
        start = int(np.flatnonzero((full[:, 0] == seq[0, 0]))[0])
        np.testing.assert_array_equal(seq[:, :13], full[start:start + 42])
        starts.add(start)
    assert starts <= set(range(0, 9)) and len(starts) > 3
    batches = list(penn.lstm_batches(videos, 2, rng=np.random.default_rng(0)))
    assert len(batches) == 1  # 3 videos, batch 2: the incomplete batch is dropped
    assert batches[0]["seq"].dtype == np.float32 and batches[0]["action"].dtype == np.int32


def test_penn_lstm_dataset_and_registry(penn_root):
    from vidpred_tf.data.registry import get_reader

    root, _, lists = penn_root
    dataset = get_reader("penn_action_hierchvid")(lists["train_subset_list.txt"], data_dir=root, batch_size=3,
                                                  seed=5, epochs=2, contract_images=True)
    batches = list(dataset.as_numpy_iterator())
    assert len(batches) == 2
    assert batches[0]["seq"].shape == (3, 42, 26) and batches[0]["mask"].shape == (3, 42, 13)
    assert np.isfinite(batches[0]["seq"]).all()  # not bounded by 1: non-square crops and the height/width swap
    validate_batch(dataset.element_spec, "penn lstm")
    again = list(penn.lstm_dataset(lists["train_subset_list.txt"], root, batch_size=3, seed=5, epochs=2)
                 .as_numpy_iterator())
    assert set(again[0]) == {"seq", "mask", "action"}
    np.testing.assert_array_equal(again[1]["seq"], batches[1]["seq"])


def test_penn_imggen_sample_and_dataset(penn_root):
    root, written, lists = penn_root
    sample = penn.imggen_sample(os.path.join(root, "frames", "0002"), 32, 30, np.random.default_rng(1))
    assert sample["xt"].shape == (32, 32, 3) and sample["pt"].shape == (32, 32, 48)
    assert sample["xt"].min() >= -1 and sample["xt"].max() <= 1 and sample["pt"].dtype == np.float32
    # Short video (7 frames): gap n in 1..29 is shrunk so that both frames exist; xt matches one frame exactly.
    frames = [cv2.resize(cv2.imread(os.path.join(root, "frames", "0002", f"{t + 1:06d}_cropped.png")), (32, 32))
              / 127.5 - 1 for t in range(7)]
    matches = [t for t in range(7) if np.array_equal(sample["xt"], frames[t].astype(np.float32))]
    assert matches == [0]
    labels = written["0002"]
    second = [t for t in range(7) if np.array_equal(sample["xtpn"], frames[t].astype(np.float32))][0]
    limb = pose_maps.penn_limb_map(1.0 * labels["x"][second], 1.0 * labels["y"][second],
                                   labels["visibility"][second], (18, 30))
    np.testing.assert_array_equal(sample["ptpn"], cv2.resize(limb, (32, 32)).astype(np.float32))
    one = list(penn.imggen_dataset(lists["train_list.txt"], root, batch_size=2, image_size=32, seed=4, epochs=1,
                                   num_workers=0).as_numpy_iterator())
    two = list(penn.imggen_dataset(lists["train_list.txt"], root, batch_size=2, image_size=32, seed=4, epochs=1,
                                   num_workers=2).as_numpy_iterator())
    assert len(one) == 1 and one[0]["ptpn"].shape == (2, 32, 32, 48)
    for key in ("xt", "xtpn", "pt", "ptpn", "images"):
        np.testing.assert_array_equal(one[0][key], two[0][key])
    np.testing.assert_allclose(one[0]["images"][:, 0], (one[0]["xt"] + 1) / 2, rtol=1e-6)


def test_penn_test_readers(penn_root, tmp_path):
    root, written, lists = penn_root
    inputs = penn.lstm_test_inputs(lists["test_subset_list.txt"], root)
    assert [item["name"] for item in inputs] == ["00000_tennis_serve", "00001_jump_rope"]
    hg = written["0001"]["hourglass"]
    np.testing.assert_allclose(inputs[0]["seq"][0, :, :13], 2 * hg["x"][:10] - 1, rtol=1e-6)
    assert inputs[0]["seq"].shape == (1, 10, 26) and inputs[0]["mask"].shape == (1, 10, 13)
    results = tmp_path / "pose"
    rng = np.random.default_rng(0)
    for item, steps in zip(inputs, (74, 74)):
        joints = rng.uniform(0, 128, size=(1, steps, 26)).astype(np.float32)
        joints[0, 3, 2], joints[0, 3, 15] = 64.0, 64.0  # a masked joint: invisible in the image test
        os.makedirs(results / item["name"])
        np.save(results / item["name"] / "joints.npy", joints)
    videos = list(penn.imggen_test_videos(lists["test_subset_list.txt"], str(results), root, image_size=32,
                                          fut_step=64))
    assert [v["folder_name"] for v in videos] == ["tennis_serve_0001", "jump_rope_0003"]
    assert videos[0]["num_frames"] == 50 and videos[1]["num_frames"] == 45
    assert videos[1]["frames"].shape == (74, 32, 32, 3) and not videos[1]["frames"][45:].any()
    joints = np.load(results / "00000_tennis_serve" / "joints.npy")
    x, y, vis = penn.joints_to_crop_pixels(joints, written["0001"]["bbox"])
    assert x.dtype == np.float32 and vis[3, 2] == 0 and vis.sum() == vis.size - 1
    np.testing.assert_array_equal(x, joints[0, :, :13] / np.float32(128.) * np.float32(20))
    limb = pose_maps.penn_limb_map(x[3], y[3], vis[3], (24, 20))
    np.testing.assert_array_equal(videos[0]["poses"][3], cv2.resize(limb, (32, 32)).astype(np.float32))


# ----------------------------------------------------------------------------------------------------- Human3.6M
@pytest.fixture
def h36m_root(tmp_path):
    root = str(tmp_path / "Human3.6M")
    train = [("S1", "Directions 1.54138969"), ("S1", "WalkingDog.55011271"), ("S5", "TakingPhoto 1.58860488")]
    test = [("S9", "Directions 1.54138969"), ("S9", "Eating.55011271")]
    written = {}
    for k, (subject, name) in enumerate(train):
        written[(subject, name)] = write_h36m_video(root, subject, name, 200 + 10 * k, seed=k, num_pngs=30)
    for k, (subject, name) in enumerate(test):
        written[(subject, name)] = write_h36m_video(root, subject, name, 120, seed=10 + k, hourglass=True)
    return root, written, write_h36m_lists(root, train, test), train, test


def test_h36m_lists_keep_spaces_and_class_names(h36m_root):
    root, _, lists, train, _ = h36m_root
    entries = h36m.read_entries(lists["train_list_pose.txt"], root)
    assert entries[0].endswith("S1/MyPoseFeatures/D2_Positions/Directions 1.54138969.npz")
    assert [h36m.action_name(e) for e in entries] == ["directions", "walkdog", "photo"]
    assert h36m.action_name(entries[1], remap=False) == "walkingdog"
    assert hierchvid_files.read_list(lists["train_list.txt"], False)[0] == \
        "./datasets/Human3.6M/S1/Videos/Directions 1.54138969.mp4"


def test_h36m_lstm_stride_and_window(h36m_root):
    root, written, lists, train, _ = h36m_root
    videos = h36m.load_lstm_videos(lists["train_list_pose.txt"], root)
    assert [v["class"] for v in videos] == [12, 0, 5]
    source = written[train[0]]
    box = source["box"]
    np.testing.assert_allclose(videos[0]["x"], source["all_posex"] / (1.0 * box[2] - box[0]))
    full_x = (2 * videos[0]["x"] - 1).astype(np.float32)
    starts = set()
    for seed in range(60):
        window = h36m.lstm_window(videos[0], 10, 32, 4, np.random.default_rng(seed))
        assert window["seq"].shape == (42, 64) and (window["mask"] == 1).all()
        candidates = [s for s in range(200 - 168 + 1) if np.array_equal(full_x[s:s + 168:4], window["seq"][:, :32])]
        assert candidates
        starts.add(candidates[0])
    assert max(starts) <= 200 - 168 and len(starts) > 5
    short = dict(videos[0], x=videos[0]["x"][:167], y=videos[0]["y"][:167])
    with pytest.raises(InputError, match="Directions 1.54138969.npz: 167 frames"):
        h36m.lstm_window(short, 10, 32, 4, np.random.default_rng(0))
    dataset = h36m.lstm_dataset(lists["train_list_pose.txt"], root, batch_size=2, seed=0, epochs=1)
    (batch,) = list(dataset.as_numpy_iterator())
    assert batch["seq"].shape == (2, 42, 64) and batch["mask"].shape == (2, 42, 32)
    assert set(batch) == {"seq", "mask", "action"}


def test_h36m_imggen_sample_transposed_map(h36m_root):
    root, written, lists, train, _ = h36m_root
    entry = h36m.read_entries(lists["train_list.txt"], root)[0]
    assert entry.endswith("Videos/Directions 1.54138969.mp4")
    sample = h36m.imggen_sample(entry, 128, 1000, np.random.default_rng(2))
    assert sample["xt"].shape == (128, 128, 3) and sample["pt"].shape == (128, 128, 32)
    assert sample["pt"].dtype == np.float32 and sample["xt"].min() >= -1
    frames_dir = entry[:-4]
    pngs = [cv2.imread(os.path.join(frames_dir, f"{t:04d}.png")) / 127.5 - 1 for t in range(30)]
    first = [t for t in range(30) if np.array_equal(sample["xt"], pngs[t].astype(np.float32))][0]
    source = written[train[0]]
    expected = pose_maps.h36m_joint_map(source["all_posex"][first], source["all_posey"][first], (40, 24),
                                        dtype=np.float32)
    np.testing.assert_array_equal(sample["pt"], cv2.resize(expected, (128, 128)))
    (batch,) = list(h36m.imggen_dataset(lists["train_list.txt"], root, batch_size=2, image_size=32, seed=1,
                                        epochs=1, num_workers=2).as_numpy_iterator())
    assert batch["pt"].shape == (2, 32, 32, 32) and batch["images"].shape == (2, 2, 32, 32, 3)


def test_h36m_test_readers(h36m_root, tmp_path):
    root, written, lists, _, test = h36m_root
    inputs = h36m.lstm_test_inputs(lists["test_list_pose_hg.txt"], root)
    assert [i["name"] for i in inputs] == ["00000_directions", "00001_eating"]
    hg = written[test[0]]["hourglass"]
    expected = 2 * (hg["all_posex"] / (1.0 * hg["box"][2] - hg["box"][0]))[60:100:4] - 1
    np.testing.assert_allclose(inputs[0]["seq"][0, :, :32], expected, rtol=1e-6)
    results = tmp_path / "pose"
    rng = np.random.default_rng(1)
    for item in inputs:
        os.makedirs(results / item["name"])
        np.save(results / item["name"] / "joints.npy", rng.uniform(0, 128, (1, 138, 64)).astype(np.float32))
    videos = list(h36m.imggen_test_videos(lists["test_list_pose.txt"], str(results), root, image_size=32))
    assert [v["folder_name"] for v in videos] == ["S9_Directions_1.54138969", "S9_Eating.55011271"]
    assert videos[0]["num_frames"] == 15 and videos[0]["poses"].shape == (138, 32, 32, 32)
    png = cv2.imread(os.path.join(root, "S9", "Videos", "Directions 1.54138969", "0064.png"))
    np.testing.assert_array_equal(videos[0]["frames"][1], (cv2.resize(png, (32, 32)) / 127.5 - 1).astype(np.float32))
    joints = np.load(results / "00000_directions" / "joints.npy")
    posex, posey = h36m.joints_to_box_pixels(joints, written[test[0]]["box"])
    assert posex.dtype == np.float32
    limb = pose_maps.h36m_joint_map(posex[0, 2], posey[0, 2], (24, 40))
    np.testing.assert_array_equal(videos[0]["poses"][2], cv2.resize(limb, (32, 32)).astype(np.float32))


# --------------------------------------------------------------------------------------------------- bad input
def test_bad_files_give_one_error_naming_file_and_key(penn_root, tmp_path):
    root, _, lists = penn_root
    labels = os.path.join(root, "labels", "0003.npz")
    with open(labels, "r+b") as handle:
        handle.truncate(100)
    with pytest.raises(InputError, match="0003.npz: cannot read"):
        penn.load_lstm_videos(lists["train_subset_list.txt"], root)
    arrays = dict(np.load(os.path.join(root, "labels", "0001.npz")))
    del arrays["visibility"]
    np.savez(labels, **arrays)
    with pytest.raises(InputError, match="0003.npz: no key 'visibility'"):
        penn.load_lstm_videos(lists["train_subset_list.txt"], root)
    os.remove(labels)
    with pytest.raises(InputError, match="0003.npz: file does not exist"):
        penn.load_lstm_videos(lists["train_subset_list.txt"], root)
    with pytest.raises(InputError, match="nolist.txt: list file does not exist"):
        penn.read_entries(str(tmp_path / "nolist.txt"))
    bad_class = write_penn_lists(root, {"bad.txt": ["0001"]})["bad.txt"]
    write_penn_video(root, "0001", 12, action="bowling")
    with pytest.raises(InputError, match="0001.npz: action 'bowling'"):
        penn.load_lstm_videos(bad_class, root)
    member = zipfile.ZipFile(os.path.join(root, "labels", "0002.npz"))
    assert "x.npy" in member.namelist()
    for t in range(7):
        with open(os.path.join(root, "frames", "0002", f"{t + 1:06d}_cropped.png"), "wb") as handle:
            handle.write(b"not a png")
    with pytest.raises(InputError, match="_cropped.png: cannot be decoded"):
        penn.imggen_sample(os.path.join(root, "frames", "0002"), 32, 2, np.random.default_rng(0))


# ------------------------------------------------------------------------------------------------ preprocessing
def test_penn_preprocess_on_raw_files(tmp_path):
    script = load_script("penn_action_preprocess")
    assert script.square_crop([20, 15, 50, 40], 5, 60, 80) == (15, 8, 55, 48)  # w=41 > h=36: y1 -= 2, y2 += 3
    assert script.square_crop([2, 1, 10, 30], 5, 60, 80) == (0, -4, 26, 35)  # x1 clipped, y1 negative kept
    np.testing.assert_array_equal(script.shift_joints(np.array([5.0]), np.array([7.0]), [2, 1, 10, 30], 0, -4),
                                  ([5.0], [6.0]))  # y1 < 0: shifted by the unpadded box's y (quirk)
    root = str(tmp_path / "PennAction")
    write_raw_penn_video(root, "0007", 4, (60, 80), seed=1, bbox_rows=3)  # one jpg more than label rows
    with open(os.path.join(root, "train_list.txt"), "w") as handle:
        handle.write("./datasets/PennAction/frames/0007\n")
    with open(os.path.join(root, "test_list.txt"), "w") as handle:
        handle.write("")
    with pytest.raises(ValueError, match="pose rows"):
        script.preprocess(root)
    raw = write_raw_penn_video(root, "0007", 4, (60, 80), seed=1)
    x = raw["x"].copy()
    script.preprocess(root)
    saved = np.load(os.path.join(root, "labels", "0007.npz"))
    assert {"__header__", "action", "nframes", "visibility", "bbox", "x", "y"} <= set(saved.files)
    boxes = raw["bbox"].round().astype(np.int32)
    union = [boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()]
    x1, y1, x2, y2 = script.square_crop(union, 5, 60, 80)
    assert (saved["bbox"] == [max(x1, 0), max(y1, 0), x2, y2]).all()
    np.testing.assert_allclose(saved["x"], x - (x1 if x1 >= 0 else union[0]))
    crop = cv2.imread(os.path.join(root, "frames", "0007", "000002_cropped.png"))
    np.testing.assert_array_equal(crop, raw["images"][1][max(y1, 0):y2, max(x1, 0):x2])
    assert str(saved["action"][0]) == "tennis_serve" and saved["nframes"][0, 0] == 4


def test_h36m_preprocess_on_raw_files(tmp_path):
    script = load_script("human36m_preprocess")
    posex = np.array([[30.5, 60.25]])
    posey = np.array([[25.0, 40.75]])
    cy, cx, box = script.get_tube(posey, posex, (64, 96), pad=20)
    # padded [10.5, 5, 80.25, 60.75]: w = 70.75 > h = 56.75 -> y1 = 5 - 7 -> clipped to 0; y2 = 67.75 -> 64.
    assert box.dtype == np.int32 and box.tolist() == [10, 0, 80, 64]
    assert cy.tolist() == [[25, 40]] and cx.tolist() == [[20, 49]]
    # padded [20, -15, 65, 80]: h > w, y1 stays negative -> joints shifted by the unpadded y (quirk), y2 unclipped.
    cy, cx, box = script.get_tube(np.array([[5.0, 60.0]]), np.array([[40.0, 45.0]]), (64, 96), pad=20)
    assert box.tolist() == [0, 0, 90, 80] and cy.tolist() == [[0, 55]] and cx.tolist() == [[40, 45]]
    root = str(tmp_path / "Human3.6M")
    write_raw_h36m_video(root, "S1", "Directions 1.54138969", 5, (64, 96), seed=0)
    with open(os.path.join(root, "train_list.txt"), "w") as handle:
        handle.write("./datasets/Human3.6M/S1/Videos/Directions 1.54138969.mp4\n")
    open(os.path.join(root, "test_list.txt"), "w").close()
    script.preprocess(root)
    saved = np.load(os.path.join(root, "S1", "MyPoseFeatures", "D2_Positions", "Directions 1.54138969.npz"))
    assert saved["all_posex"].shape == (5, 32) and saved["all_posex"].dtype == np.int32
    assert saved["box"].dtype == np.int32 and saved["box"].shape == (4,)
    pngs = sorted(os.listdir(os.path.join(root, "S1", "Videos", "Directions 1.54138969")))
    assert pngs == [f"{t:04d}.png" for t in range(5)]
    assert cv2.imread(os.path.join(root, "S1", "Videos", "Directions 1.54138969", "0003.png")).shape == (128, 128, 3)
    cdf2mat = load_script("cdf2mat")
    if importlib.util.find_spec("cdflib") is None:
        os.makedirs(os.path.join(root, "S2", "MyPoseFeatures", "D2_Positions"))
        open(os.path.join(root, "S2", "MyPoseFeatures", "D2_Positions", "x.cdf"), "w").close()
        with pytest.raises(ImportError, match="pip install cdflib"):
            cdf2mat.convert(root)
    download = load_script("download")
    assert set(download.ASSETS) == {"perceptual", "penn_hourglass", "h36m_hourglass"}
