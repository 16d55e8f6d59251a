"""The demo end to end with a tiny budget: it writes everything it promises and beats copy-last-frame."""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf
from PIL import Image

from vidpred_tf.viz import read_video


def test_demo_end_to_end_beats_copy_last(tmp_path):
    out = tmp_path / "demo"
    # The step count binds, not the clock (a loaded machine must not change what the test sees): the demo's
    # default start, the shipped preset, trained 30 more steps.
    command = [sys.executable, "-m", "vidpred_tf.demo", "--out", str(out), "--minutes", "30",
               "--max_steps", "30", "--num_train", "200", "--num_test", "32"]
    process = subprocess.run(command, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert "steps/s" in process.stdout and "ETA" in process.stdout
    assert "the model beats the copy-last-frame baseline on MSE and SSIM" in process.stdout
    assert "the model beats the empty canvas on MSE and SSIM" in process.stdout
    assert "loaded preset mmnist_dna" in process.stdout, process.stdout[-2000:]

    report = json.loads((out / "metrics.json").read_text())
    assert report["model_mse"] < report["copy_last_mse"]
    assert report["model_ssim_tf"] > report["copy_last_ssim_tf"]
    # An all-black prediction beats copy-last on Moving MNIST: the model must beat that too (it moves digits).
    assert report["model_mse"] < report["empty_canvas_mse"]
    assert report["model_ssim_tf"] > report["empty_canvas_ssim_tf"]
    assert report["train_status"] == "completed" and report["train_steps"] == 30
    assert report["initialised_from"].startswith("preset mmnist_dna")
    assert report["num_test_sequences"] == 32
    # The copy-last MSE recomputed independently from the test TFRecords.
    from vidpred_tf.data.tfrecord import read_tfrecords
    videos = np.stack([e["images"] for e in read_tfrecords(report["data_files"]["test"]).as_numpy_iterator()])
    copy_last = np.mean((videos[:, 10:] - videos[:, 9:10]) ** 2)
    assert abs(report["empty_canvas_mse"] - np.mean(videos[:, 10:] ** 2)) < 1e-6
    assert abs(report["copy_last_mse"] - copy_last) < 1e-6

    assert tf.train.latest_checkpoint(report["tensorboard_dir"]) == report["checkpoint"]
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(report["tensorboard_dir"]))
    for name, path in report["gifs"].items():
        frames = read_video(path)
        assert frames.shape[0] == 20, (name, frames.shape)
    with Image.open(report["plots"]["mse"]) as image:
        assert image.size[0] > 100 and image.size[1] > 100
    assert len(report["per_timestep"]["model"]["mse"]["per_timestep"]) == 10

    # A second run reuses the generated data and resumes the finished training instead of starting again.
    again = subprocess.run(command, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Reusing Moving MNIST" in again.stdout and "Resumed from" in again.stdout


def test_init_from_another_model_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "demo"
    # The DNA preset cannot start the ConvLSTM (which, without --init_from, trains from scratch).
    process = subprocess.run([sys.executable, "-m", "vidpred_tf.demo", "--out", str(out), "--model", "convlstm",
                              "--init_from", "preset:mmnist_dna"], capture_output=True, text=True, timeout=300)
    assert process.returncode == 2, process.stderr[-2000:]
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith("vidpred demo: error: --init_from=preset:mmnist_dna: holds baseline/dna")
    assert "--init_from=''" in lines[0]
    assert not out.exists()
