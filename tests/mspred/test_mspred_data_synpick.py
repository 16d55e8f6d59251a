"""SynpickVP reader (spec 3.4, checklist item 20) on fake splits written in the real layout."""

import json
import math
import os

import cv2
import numpy as np
import pytest
from fixtures.mspred_data import write_fake_synpick
from PIL import Image

from vidpred_tf.data.heatmaps import HeatmapGenerator
from vidpred_tf.data.synpick.mspred import (
    SynpickDataset,
    episode_of_frame_file,
    find_valid_starts,
    frame_number_of_file,
    gripper_move,
    resize_bilinear,
    resize_nearest,
)

FRAMES = 100  # per episode in the start-index scenarios


def constant_speed(frames=FRAMES):
    """Gripper moving +3 cam_t units per frame in x (6 per sampled step), well inside the bin."""
    t = np.arange(frames, dtype=np.float64)
    return np.stack([-100.0 + 3.0 * t, np.zeros(frames)], axis=-1)


def scenario_stop_after_80():
    stopping = constant_speed()
    stopping[:, 0] = -100.0 + 3.0 * np.minimum(np.arange(FRAMES), 80)
    return np.stack([constant_speed(), stopping])


def scenario_jump_and_edge():
    jumping = constant_speed()
    jumping[84:, 1] = 40.0  # a 40-unit jump between frames 83 and 84: a move >= 30
    edge = constant_speed()
    t = np.arange(FRAMES)
    # From frame 85 the gripper climbs 3 units per frame towards the bottom edge: y / 373 + 0.5 > 0.99 once
    # y > 182.77, i.e. from frame 90 on.
    edge[:, 1] = np.where(t >= 85, 170.0 + 3.0 * (t - 85), 170.0)
    return np.stack([jumping, edge])


def test_start_indices_follow_the_rules(tmp_path):
    """Item 20: frame >= 72, same episode, step-2 sampling, movement rule, span//4 (train) / span (test) gaps."""
    for split in ("train", "test"):
        write_fake_synpick(tmp_path, split, num_episodes=2, frames_per_episode=FRAMES, frame_size=(8, 14),
                           gripper_xy=scenario_stop_after_80(), num_objects=1)
    # T = 5: span 9, so the train gap is 2 and the test gap 9. Episode 0 starts at file 0, episode 1 at 100.
    train = SynpickDataset(tmp_path, "train", 5)
    # Episode 0: every even start from 72 whose last frame (start + 8) is still in the episode.
    # Episode 1 (stops at frame 80): 172 has 4 moving steps, 174 has 3 (>= 0.67 * 4), 176 only 2.
    assert train.valid_starts == list(range(72, 91, 2)) + [172, 174]
    test = SynpickDataset(tmp_path, "test", 5)
    assert test.valid_starts == [72, 81, 90, 172]
    assert test.frame_indices(1) == [81, 83, 85, 87, 89]


def test_start_indices_reject_jumps_and_edge_positions(tmp_path):
    write_fake_synpick(tmp_path, "val", num_episodes=2, frames_per_episode=FRAMES, frame_size=(8, 14),
                       gripper_xy=scenario_jump_and_edge(), num_objects=1)
    val = SynpickDataset(tmp_path, "val", 5)
    # Episode 0: sequences whose sampled frames straddle 83 -> 84 (starts 76..82) contain a 40-unit move.
    # Episode 1: a last frame at 90 or later is at y > 0.99 (starts >= 82 of the episode).
    assert val.valid_starts == [72, 74, 84, 86, 88, 90] + [172, 174, 176, 178, 180]


@pytest.fixture(scope="module")
def long_split(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    write_fake_synpick(root, "test", num_episodes=1, frames_per_episode=130, frame_size=(34, 60), seed=5)
    return root


def test_items_have_the_shapes_and_values_of_the_original(long_split):
    """Item 20: frames (29, 64, 112, 3), one-hot (29, 64, 112, 23), gripper blob (29, 64, 112, 1) for T = 29."""
    dataset = SynpickDataset(long_split, "test", 29)
    assert dataset.valid_starts == [72]  # 130 frames leave exactly one 57-frame span starting at >= 72
    item = dataset[0]
    frames, (one_hot, blob) = item["frames"], item["heatmaps"]
    assert frames.shape == (29, 64, 112, 3) and frames.dtype == np.float32
    assert one_hot.shape == (29, 64, 112, 23) and one_hot.dtype == np.float32
    assert blob.shape == (29, 64, 112, 1) and blob.dtype == np.float32
    assert item["class_name"] == ""
    np.testing.assert_array_equal(one_hot.sum(axis=-1), 1.0)
    split_dir = os.path.join(long_split, "SYNPICK", "test")
    with open(os.path.join(split_dir, "scene_gt", "000000_scene_gt.json")) as handle:
        scene = json.load(handle)
    for step in (0, 28):
        name = dataset.frame_files[72 + 2 * step]
        assert frame_number_of_file(name) == 72 + 2 * step and episode_of_frame_file(name) == 0
        rgb = np.asarray(Image.open(os.path.join(split_dir, "rgb", name)), np.float32) / 255.0
        np.testing.assert_allclose(frames[step], cv2.resize(rgb, (112, 64), interpolation=cv2.INTER_LINEAR),
                                   atol=1e-5)
        mask = np.asarray(Image.open(os.path.join(split_dir, "masks", name)))
        expected_ids = cv2.resize(mask, (112, 64), interpolation=cv2.INTER_NEAREST)
        np.testing.assert_array_equal(one_hot[step].argmax(axis=-1), expected_ids)
        gripper = [entry["cam_t_m2c"] for entry in scene[str(72 + 2 * step)] if entry["obj_id"] == 22]
        projected = [(x / 615 + 0.5, y / 373 + 0.5) for x, y, _ in gripper]
        expected_blob = HeatmapGenerator((64, 112), len(projected), 4.0)(projected).sum(axis=-1)
        np.testing.assert_array_equal(blob[step, :, :, 0], expected_blob)
        assert blob[step].max() == 1.0
    assert one_hot[..., 22].sum() > 0  # the gripper's own class is drawn in the masks


def test_resizing_matches_opencv_half_pixel_rules():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 136, 240, 3)).astype(np.float32)
    for image, resized in zip(images, resize_bilinear(images, (64, 112))):
        np.testing.assert_allclose(resized, cv2.resize(image, (112, 64), interpolation=cv2.INTER_LINEAR),
                                   atol=5e-5)
    masks = rng.integers(0, 23, size=(2, 136, 240)).astype(np.uint8)
    for mask, resized in zip(masks, resize_nearest(masks, (64, 112))):
        np.testing.assert_array_equal(resized, cv2.resize(mask, (112, 64), interpolation=cv2.INTER_NEAREST))


def test_errors_name_the_offending_file_or_value(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"SYNPICK.train"):
        SynpickDataset(tmp_path, "train", 5)
    with pytest.raises(ValueError, match=r"img_size must be a \[height, width\] pair"):
        SynpickDataset(tmp_path, "train", 5, img_size=64)
    gripper = np.stack([constant_speed()])
    gripper[0, 76, :] = np.nan  # no gripper entry in frame 76
    split_dir = write_fake_synpick(tmp_path, "train", num_episodes=1, frames_per_episode=FRAMES,
                                   frame_size=(8, 14), gripper_xy=gripper, num_objects=1)
    with pytest.raises(ValueError, match=r"no gripper \(obj_id 22\) in the scene of 000000_000076\.png"):
        SynpickDataset(tmp_path, "train", 5)
    os.remove(os.path.join(split_dir, "masks", "000000_000099.png"))
    with pytest.raises(ValueError, match=r"100 files in rgb/ but 99 in masks/"):
        SynpickDataset(tmp_path, "train", 5)
    rgb_dir = write_fake_synpick(tmp_path, "val", num_episodes=1, frames_per_episode=FRAMES, frame_size=(8, 14),
                                 gripper_xy=np.stack([constant_speed()]), num_objects=1)
    os.rename(os.path.join(rgb_dir, "rgb", "000000_000050.png"), os.path.join(rgb_dir, "rgb", "000000_0050.png"))
    with pytest.raises(ValueError, match=r"'000000_0050\.png': characters \[-17:-11\] should be the episode"):
        SynpickDataset(tmp_path, "val", 5)
    still = np.zeros((1, FRAMES, 2))
    write_fake_synpick(tmp_path, "test", num_episodes=1, frames_per_episode=FRAMES, frame_size=(8, 14),
                       gripper_xy=still, num_objects=1)
    with pytest.raises(ValueError, match=r"SYNPICK.test has no valid 5-frame sequence"):
        SynpickDataset(tmp_path, "test", 5)


def _one_episode_starts(sampled_positions):
    """find_valid_starts on 81 in-memory frames of episode 0 whose gripper is at ``sampled_positions`` (x, y) on
    the sampled frames 72, 74, ..., 80 (T = 5): the only candidate start is 72."""
    poses = [{22: [[0.0, 0.0, 700.0]]} for _ in range(81)]
    for step, (x, y) in enumerate(sampled_positions):
        poses[72 + 2 * step] = {22: [[x, y, 700.0]]}
    names = [f"000000_{frame:06d}.png" for frame in range(81)]
    return find_valid_starts(names, {0: poses}, 5)


def test_gripper_moves_use_the_originals_sqrt_rounding_at_the_thresholds():
    # dx, dy with sqrt(dx*dx + dy*dy) == 1.0 exactly (math.hypot rounds the same pair to 1.0000000000000002):
    # the move is not > 1.0, so only 2 of 4 moves count as moving (< 0.67 * 4) and start 72 is rejected.
    dx, dy = 0.763774618976614, 0.6454830217806882
    assert gripper_move((0.0, 0.0), (dx, dy)) == math.sqrt(dx * dx + dy * dy) == 1.0
    assert _one_episode_starts([(-12.0, 0.0), (-6.0, 0.0), (0.0, 0.0), (dx, dy), (dx, dy)]) == []
    assert _one_episode_starts([(-12.0, 0.0), (-6.0, 0.0), (0.0, 0.0), (dx, dy + 1e-6), (dx, dy + 1e-6)]) == [72]
    # sqrt gives 29.999999999999996 (< 30.0, allowed) where math.hypot gives 30.0 (rejected).
    dx, dy = 0.8504242956601893, 29.987943886124484
    assert gripper_move((0.0, 0.0), (dx, dy)) < 30.0
    assert _one_episode_starts([(-12.0, 0.0), (-6.0, 0.0), (0.0, 0.0), (dx, dy), (dx + 6.0, dy)]) == [72]
    assert _one_episode_starts([(-12.0, 0.0), (-6.0, 0.0), (0.0, 0.0), (dx, dy + 1e-5), (dx + 6.0, dy)]) == []
