"""hierchvid through the package's front door: `vidpred list`, `vidpred train --paper hierchvid` (the pose LSTM,
with a README flag file), the script shims' help, and `vidpred predict` with a run folder naming both checkpoints
and the observed poses."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from fixtures.hierchvid_data import write_penn_lists, write_penn_video

from vidpred_tf.commands.main import main as vidpred
from vidpred_tf.convert import hierchvid as converter
from vidpred_tf.inference import load_predictor
from vidpred_tf.models.hierchvid.config import ImggenConfig
from vidpred_tf.models.hierchvid.imggen import ImggenModel
from vidpred_tf.models.hierchvid.pose_lstm import PoseLSTM, PoseLSTMConfig
from vidpred_tf.papers import get_paper
from vidpred_tf.papers.hierchvid import predictor, run_names

REPO = pathlib.Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}


def run(args, cwd, timeout=180):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=str(cwd), env=ENV,
                          timeout=timeout)


def test_vidpred_list_shows_hierchvid(capsys):
    assert vidpred(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    entry = listing["papers"]["hierchvid"]
    assert entry["original"] == "rubenvillegas/icml2017hierchvid"
    assert entry["train"] and entry["converter"] and entry["golden"] and entry["predict"]
    assert {"train_lstm", "test_lstm", "train_imggen", "test_imggen", "train_det_rnn_penn", "test_h36m"} <= \
        set(entry["entry_points"])
    assert listing["models"]["hierchvid"] == list(predictor.MODELS)
    assert get_paper("hierchvid").entry_points["train"].endswith("train_lstm:main")


def test_vidpred_train_runs_the_pose_lstm_with_the_readme_flagfile(tmp_path):
    data = tmp_path / "datasets" / "PennAction"
    data.mkdir(parents=True)
    for index, video in enumerate(("0001", "0002")):
        write_penn_video(str(data), video, 44, action="golf_swing", seed=index)
    write_penn_lists(str(data), {"train_subset_list.txt": ["0001", "0002"]})
    process = run(["-m", "vidpred_tf.commands", "train", "--paper", "hierchvid",
                   f"--flagfile={REPO / 'flags/hierchvid/train_det_rnn_penn.flags'}", "--batch_size=2",
                   "--lstm_units=8", "--image_size=8", "--num_steps=1"], tmp_path)
    assert process.returncode == 0, process.stderr[-3000:]
    prefix = run_names.lstm_run_name("penn", batch_size=2, lstm_units=8, image_size=8)
    assert (tmp_path / "models" / prefix / "DET_LSTM.model-1.index").is_file()  # ./models, as the original
    assert (tmp_path / "samples" / prefix / "0000000_golf_swing.png").is_file()
    assert list((tmp_path / "logs" / prefix).glob("events.out.tfevents.*"))
    assert f"\n{prefix}\n" in process.stdout


@pytest.mark.parametrize("script,flag", [("train_det_rnn_h36m.py", "--lstm_units"), ("test_h36m.py", "--fut_step")])
def test_script_shims_show_their_flags_with_the_dataset_defaults(script, flag):
    process = run([str(REPO / "scripts" / "hierchvid" / script), "--helpshort"], REPO, timeout=120)
    assert process.returncode in (0, 1), process.stderr[-2000:]  # absl's help exits with 1
    assert flag in process.stdout and "--dataset" in process.stdout
    assert "'h36m'" in process.stdout  # the shim's dataset is the default
    if script == "test_h36m.py":
        assert "(default: '128')" in process.stdout  # the H3.6M test's --fut_step


def test_vidpred_train_help_is_the_lstm_scripts():
    process = run(["-m", "vidpred_tf.commands", "train", "--paper", "hierchvid", "--help"], REPO, timeout=120)
    assert process.returncode == 0, process.stderr[-2000:]
    for flag in ("--lstm_units", "--seen_step", "--keep_prob", "--mem_frac", "--num_steps"):
        assert flag in process.stdout, flag


def _fake_run_folder(root: pathlib.Path, size=32):
    """A run folder: a fresh LSTM and a fresh generator exported as the original's TF1 checkpoints, the poses
    of one video (Penn keys: x, y in [0, 1], visibility) and the manifest."""
    lstm_prefix = run_names.lstm_run_name("penn", lstm_units=8)
    lstm = PoseLSTM(PoseLSTMConfig.penn(lstm_units=8))
    lstm({"seq": np.zeros((1, 10, 26), np.float32), "mask": np.ones((1, 10, 13), np.float32)}, fut_step=1)
    converter.export(lstm, str(root / "models" / lstm_prefix / "DET_LSTM.model-7"))
    imggen_prefix = run_names.imggen_run_name("penn", image_size=size)
    generator = ImggenModel(ImggenConfig.for_dataset("penn", image_size=size, batch_size=1, gf_dim=4),
                            with_discriminator=False)
    generator.generate(np.zeros((1, size, size, 3), np.float32), np.zeros((1, size, size, 48), np.float32),
                       np.zeros((1, size, size, 48), np.float32))
    converter.export(generator, str(root / "models" / imggen_prefix / "IMGGEN.model-2"))
    rng = np.random.default_rng(0)
    visibility = np.ones((12, 13), np.uint8)
    visibility[:, 0] = 0
    np.savez(root / "poses.npz", x=rng.uniform(0.2, 0.8, (12, 13)), y=rng.uniform(0.2, 0.8, (12, 13)),
             visibility=visibility)
    predictor.write_hierchvid_manifest(root / "run", dataset="penn", lstm_checkpoint=f"../models/{lstm_prefix}",
                                       imggen_checkpoint=root / "models" / imggen_prefix, poses="../poses.npz",
                                       image_size=size, gf_dim=4, horizon=3)
    return root / "run"


def test_vidpred_predict_chains_the_lstm_and_the_generator_and_writes_an_mp4(tmp_path, capsys):
    run_dir = _fake_run_folder(tmp_path)
    loaded = load_predictor(run_dir)
    assert isinstance(loaded, predictor.HierchvidPredictor)
    assert (loaded.context_frames, loaded.default_horizon, loaded.image_size) == (10, 3, (32, 32))
    maps = loaded.future_pose_maps(3)
    assert maps.shape == (13, 32, 32, 48) and np.isfinite(maps).all()
    # Line 0 runs from the head (joint 0, masked in every observed step: at exactly the frame's centre) to the
    # shoulders: only its end blob (channel 3) is drawn in the observed steps, all four in the predicted ones.
    assert not maps[:10, :, :, :3].any() and maps[:10, :, :, 3].max() > 0.99
    assert (maps[10:, :, :, :4].reshape(3, -1, 4).max(axis=1) > 0.99).all()
    clip = np.random.default_rng(1).random((12, 32, 32, 3)).astype(np.float32)
    np.save(tmp_path / "clip.npy", clip)
    out = tmp_path / "out"
    code = vidpred(["predict", "--checkpoint", str(run_dir), "--input", str(tmp_path / "clip.npy"),
                    "--output_dir", str(out), "--context", "10"])
    assert code == 0, capsys.readouterr().err
    assert (out / "prediction.mp4").stat().st_size > 0 and (out / "prediction.gif").is_file()
    prediction = np.load(out / "prediction.npy")
    assert prediction.shape == (1, 3, 32, 32, 3) and 0 <= prediction.min() and prediction.max() <= 1
    summary = json.loads((out / "prediction.json").read_text())
    assert summary["predictor"]["paper"] == "hierchvid"
