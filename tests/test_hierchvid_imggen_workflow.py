"""hierchvid workflow, image generator: ``train_imggen`` (checkpoints, summaries, samples at the original's counters)
then ``test_imggen`` (the chained pipeline from the pose test's joints.npy) on fake Penn Action files and small fake
perceptual weights (in-process). The run names, flags and the pose-LSTM pipeline: ``test_hierchvid_workflow.py``."""

import os

import cv2
import numpy as np
import tensorflow as tf
from fixtures.hierchvid_data import write_penn_lists
from fixtures.hierchvid_perceptual import SMALL_ALEXNET_WIDTHS, SMALL_HOURGLASS_WIDTHS, write_perceptual_models
from test_hierchvid_workflow import PENN_ACTIONS, fake_penn, gif_info, lstm_flags, scalar_steps

from vidpred_tf.papers.hierchvid import imggen_workflow, run_names

TINY_IMGGEN = ["--batch_size=2", "--image_size=32", "--gf_dim=4", "--df_dim=4", "--num_workers=0"]


def test_train_imggen_then_test_imggen_on_fake_penn(tmp_path, monkeypatch):
    root = fake_penn(tmp_path)
    write_perceptual_models(root, SMALL_ALEXNET_WIDTHS, SMALL_HOURGLASS_WIDTHS, dummies=False)
    data = root / "datasets" / "PennAction"
    write_penn_lists(str(data), {"train_list.txt": ["0001", "0002", "0003"], "test_subset_list.txt": ["0001", "0002"]})
    monkeypatch.setattr(imggen_workflow, "SAMPLE_EVERY", 2)  # the original: counter % 100 == 1
    values = lstm_flags(root, "train_imggen", "--num_iter=2", f"--perceptual_dir={root / 'perceptual_models'}",
                        *TINY_IMGGEN)
    result = imggen_workflow.train(values)
    run = imggen_workflow.describe_run(values)
    assert result.step == 2 and run.prefix == run_names.imggen_run_name("penn", image_size=32)
    # counter % 500 == 2 after iteration 0 (IMGGEN.model-2) and the end (counter 3).
    assert tf.train.latest_checkpoint(run.models_dir).endswith("IMGGEN.model-3")
    assert os.path.isfile(os.path.join(run.models_dir, "IMGGEN.model-2.index"))
    assert tf.train.latest_checkpoint(run.trainer_dir).endswith("ckpt-2")
    assert os.listdir(run.samples_dir) == ["train_1.png"]  # counter 3 % 2 == 1 after iteration 1
    grid = cv2.imread(os.path.join(run.samples_dir, "train_1.png"))
    assert grid.shape == (8 * 32, 8 * 32, 3) and grid.max() == 255
    # One summary group per iteration, at the original's counter (1, 2): D's when D updated (iteration 0: the
    # flags start True), else G's.
    d_steps, g_steps = scalar_steps(root / "logs", "d_loss"), scalar_steps(root / "logs", "L")
    assert d_steps[:1] == [1] and sorted(d_steps + g_steps) == [1, 2]
    assert scalar_steps(root / "logs", "d_loss_real") == d_steps and scalar_steps(root / "logs", "g_loss") == g_steps

    # The pose test's output (joints.npy in 128-pixel units; joint 0 masked = exactly 64) for 2 test videos.
    lstm_prefix = run_names.lstm_run_name("penn")
    rng = np.random.default_rng(0)
    for index, action in enumerate(PENN_ACTIONS[:2]):
        folder = root / "results" / "pose" / lstm_prefix / f"{index:05d}_{action}"
        folder.mkdir(parents=True)
        joints = rng.uniform(20, 100, (1, 10 + 6, 26)).astype(np.float32)
        joints[0, :10, [0, 13]] = 64.0
        np.save(folder / "joints.npy", joints)
    test_values = lstm_flags(root, "test_imggen", f"--imggen_prefix={run.prefix}", f"--lstm_prefix={lstm_prefix}",
                             "--image_size=32", "--gf_dim=4", "--fut_step=6")
    folders = imggen_workflow.test(test_values)
    assert [os.path.relpath(f, root / "results") for f in folders] == [
        os.path.join("images", "PennAction", run.prefix, name) for name in ("tennis_serve_0001", "golf_swing_0002")]
    short, full = (sorted(os.listdir(folder)) for folder in folders)
    assert len([n for n in short if n.startswith("ours_")]) == 14  # min(10 + 6, 14 frames)
    assert {"input_img.png", "input_pose.png", "ours.gif", "gt.gif", "pose.gif", "gt_0015.png", "pose_0015.png"} \
        <= set(full)
    assert gif_info(os.path.join(folders[1], "ours.gif")) == (16, 140)
    assert cv2.imread(os.path.join(folders[1], "input_img.png"), cv2.IMREAD_UNCHANGED).shape == (32, 32)
    # Frames 0..9 are the ground truth in both sequences; frame 10 on are generated.
    gt, ours = (cv2.imread(os.path.join(folders[1], f"{kind}_0005.png")) for kind in ("gt", "ours"))
    assert np.array_equal(gt, ours)
    assert (cv2.imread(os.path.join(folders[1], "ours_0012.png"))[0, 5] == [0, 0, 255]).all()
