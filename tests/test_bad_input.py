"""Bad input at every entry point: one line ``PROG: error: CULPRIT: what is wrong``, exit status 2, no
traceback, no wall of library warnings, and nothing written into the output folders.

The absl scripts run in one process per script (tests/bad_input_driver.py, each case through
``vidpred_tf.cli.run``), plus one plain ``python scripts/e3d/run.py``; ``vidpred predict`` runs in-process.
"""

import copy
import json
import os
import pathlib
import pickle
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from fixtures.e3d_data import write_fake_mnist_npz

from vidpred_tf import errors

REPO = pathlib.Path(__file__).resolve().parents[1]
DRIVER = str(REPO / "tests" / "bad_input_driver.py")
RUN = str(REPO / "scripts" / "e3d" / "run.py")
TRAIN = str(REPO / "scripts" / "mspred" / "02_train.py")
EVALUATE = str(REPO / "scripts" / "mspred" / "03_evaluate.py")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO)}
# The tiny e3d configuration of the run.py tests: 8x8 frames, 3 + 3 frames, two layers of 8.
TINY = ["--img_width", "8", "--patch_size", "2", "--input_length", "3", "--total_length", "6",
        "--num_hidden", "8,8", "--model_name", "original_e3d_lstm", "--batch_size", "2", "--max_iterations", "1",
        "--test_interval", "0"]


def snapshot(folder):
    """Every path under ``folder`` with its size and modification time (None when it does not exist)."""
    folder = pathlib.Path(folder)
    if not folder.exists():
        return None
    return sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*"))


def assert_one_line_error(prog, code, stderr, *words):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2, (code, stderr[-3000:])
    assert len(lines) == 1, stderr[-3000:]
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])


def drive(script, cases):
    """Run ``cases`` ({"args", "cwd", "env"}) of an absl script in one subprocess; their results, in order."""
    cases_path = pathlib.Path(cases[0].get("cwd") or ".") / f".cases_{pathlib.Path(script).stem}.json"
    cases_path.write_text(json.dumps(cases))
    try:
        process = subprocess.run([sys.executable, DRIVER, script, str(cases_path)], capture_output=True, text=True,
                                 env=ENV, timeout=600)
    finally:
        cases_path.unlink()
    assert process.returncode == 0 and "RESULTS " in process.stdout, process.stderr[-4000:]
    return json.loads(process.stdout.split("RESULTS ", 1)[1])


# ------------------------------------------------------------------------------------------ the handler itself
def test_user_error_messages_and_the_handler(capsys):
    assert errors.user_error_message(errors.InputError("a.npz: bad\nsecond line")) == "a.npz: bad; second line"
    assert errors.user_error_message(OSError(28, "No space left on device", "/out/x.gif")) == \
        "no space left on device writing /out/x.gif"
    assert errors.user_error_message(FileNotFoundError(2, "No such file or directory", "/x")) == \
        "/x: No such file or directory"
    assert errors.user_error_message(KeyError("bug")) is None
    assert isinstance(errors.MissingInputError("m"), FileNotFoundError)

    def bad():
        raise errors.InputError("--flag=3: too big")

    assert errors.call_reporting_errors("prog", bad) == 2
    assert capsys.readouterr().err == "prog: error: --flag=3: too big\n"
    with pytest.raises(KeyError):  # a bug keeps its traceback
        errors.call_reporting_errors("prog", lambda: {}["x"])
    from vidpred_tf.errors import InputError

    assert InputError is errors.InputError


def test_checkpoint_misfits_are_named_in_one_line(tmp_path):
    import keras

    from vidpred_tf.checkpoint_check import check_model_checkpoint
    from vidpred_tf.training.checkpoint import model_checkpoint

    def model(*units):
        built = keras.Sequential([keras.layers.Dense(n) for n in units], name="toy")
        built.build((None, 3))
        return built

    prefix = model_checkpoint(model(4, 2)).write(str(tmp_path / "ckpt"))
    check_model_checkpoint(model(4, 2), prefix)  # fits
    with pytest.raises(errors.InputError) as caught:
        check_model_checkpoint(model(4, 5, 2), prefix)
    message = str(caught.value)
    assert "\n" not in message and "does not fit model 'toy' (6 variables)" in message
    assert "2 variable(s) missing: #4" in message and "misshapen: #2" in message
    assert "(checkpoint [4, 2], model [4, 5])" in message
    with pytest.raises(errors.InputError, match=r"2 checkpoint variable\(s\) the model does not have"):
        check_model_checkpoint(model(4), prefix)


# -------------------------------------------------------------------------------------------- scripts/e3d/run.py
@pytest.fixture(scope="module")
def e3d_inputs(tmp_path_factory):
    """Tiny Moving MNIST files (good and broken), an empty KTH root and port checkpoints (good, truncated, not a
    checkpoint) of the TINY model."""
    import tensorflow as tf

    from vidpred_tf.models.e3d.config import E3DConfig
    from vidpred_tf.models.e3d.model import build_model
    from vidpred_tf.papers.e3d.predictor import write_e3d_manifest
    from vidpred_tf.training.checkpoint import model_checkpoint

    root = tmp_path_factory.mktemp("e3d_bad")
    good = write_fake_mnist_npz(str(root / "good.npz"), num_sequences=5, input_length=3, output_length=3)
    data = dict(np.load(good))
    np.savez(root / "nodims.npz", clips=data["clips"], input_raw_data=data["input_raw_data"])
    (root / "notzip.npz").write_text("not a zip archive")
    past = data["clips"].copy()
    past[1, 4, 0] = 100  # 30 frames: the output part of clip 4 reads frames 100..103
    np.savez(root / "past.npz", clips=past, dims=data["dims"], input_raw_data=data["input_raw_data"])
    np.savez(root / "dims.npz", clips=data["clips"], dims=np.array([[1, 7, 8]], np.int32),
             input_raw_data=data["input_raw_data"])
    write_fake_mnist_npz(str(root / "small16.npz"), num_sequences=5, input_length=3, output_length=3, height=16,
                         width=16)
    (root / "kth_root").mkdir()
    # The TINY model's checkpoint as the trainer writes it, with its manifest (also what `vidpred predict` loads).
    config = E3DConfig(model_name="original_e3d_lstm", img_width=8, patch_size=2, input_length=3, total_length=6,
                       num_hidden=(8, 8))
    checkpoints = root / "ckpt"
    manager = tf.train.CheckpointManager(model_checkpoint(build_model(config)), str(checkpoints), 1,
                                         checkpoint_name="model.ckpt")
    prefix = manager.save(checkpoint_number=1)
    write_e3d_manifest(checkpoints, config)
    broken = root / "broken"
    broken.mkdir()
    shutil.copy(prefix + ".index", broken / "truncated.index")
    data_file = pathlib.Path(prefix + ".data-00000-of-00001")
    (broken / "truncated.data-00000-of-00001").write_bytes(data_file.read_bytes()[:200])
    (broken / "garbage.index").write_text("this is not an sstable")
    shutil.copy(data_file, broken / "garbage.data-00000-of-00001")
    return {"root": root, "good": good, "prefix": prefix, "config": config, "checkpoints": checkpoints}


def test_run_py_refuses_bad_input_before_writing(e3d_inputs):
    root, good = e3d_inputs["root"], e3d_inputs["good"]
    save_dir = root / "save"
    save_dir.mkdir()
    (save_dir / "notes.txt").write_text("a previous run's file")
    before = snapshot(save_dir)
    data = ["--valid_data_paths", good]
    cases = [
        (["--train_data_paths", str(root / "nodims.npz"), *data], ["nodims.npz", "no 'dims' array"]),
        (["--train_data_paths", str(root / "notzip.npz"), *data],
         ["notzip.npz", "not a readable .npz file", "not a zip archive"]),
        (["--train_data_paths", str(root / "absent.npz"), *data], ["absent.npz", "not found"]),
        (["--train_data_paths", str(root / "past.npz"), *data], ["past.npz", "clip 4", "100..103", "30 frames"]),
        (["--train_data_paths", str(root / "dims.npz"), *data], ["dims.npz", "(1, 7, 8)", "(30, 1, 8, 8)"]),
        (["--dataset_name", "action", "--valid_data_paths", str(root / "kth_root")],
         ["kth_root", "boxing", "missing"]),
        (["--train_data_paths", good, *data, "--total_length", "30"], ["good.npz", "6 frames", "--total_length"]),
        (["--train_data_paths", str(root / "small16.npz"), *data, "--img_width", "32"],
         ["--img_width=32", "small16.npz", "16x16"]),
        (["--train_data_paths", good, *data, "--pretrained_model", str(root / "broken" / "truncated")],
         ["--pretrained_model", "truncated", "truncated or corrupt"]),
        (["--train_data_paths", good, *data, "--pretrained_model", str(root / "broken" / "garbage")],
         ["--pretrained_model", "garbage", "not a readable TensorFlow checkpoint"]),
        (["--train_data_paths", good, *data, "--pretrained_model", e3d_inputs["prefix"], "--num_hidden", "4,4"],
         ["--pretrained_model", "does not fit model", "misshapen",
          "checkpoint [1, 5, 5, 8, 32], model [1, 5, 5, 4, 16]"]),
    ]
    results = drive(RUN, [{"args": [*TINY, "--save_dir", str(save_dir), *args], "cwd": str(root)}
                          for args, _ in cases])
    for (args, words), result in zip(cases, results):
        assert_one_line_error("run.py", result["code"], result["stderr"], *words)
        assert snapshot(save_dir) == before, args  # no manifest, no events file, no checkpoint
    # The same through a plain `python run.py` (absl's app.run, the process's own exit status).
    process = subprocess.run([sys.executable, RUN, *TINY, "--save_dir", str(root / "fresh"), "--train_data_paths",
                              str(root / "absent.npz"), *data], capture_output=True, text=True, env=ENV, timeout=300)
    assert_one_line_error("run.py", process.returncode, process.stderr, "absent.npz", "not found")
    assert not (root / "fresh").exists()


# ------------------------------------------------------------------------------------ `vidpred predict` checkpoints
def _predict(tmp_path, capfd, checkpoint, output_dir):
    from vidpred_tf.commands.main import main as vidpred

    video = tmp_path / "video.npy"
    if not video.exists():
        np.save(video, np.random.default_rng(0).random((6, 8, 8)).astype(np.float32))
    capfd.readouterr()
    code = vidpred(["predict", "--checkpoint", str(checkpoint), "--input", str(video), "--output_dir",
                    str(output_dir)])
    return code, capfd.readouterr().err


def test_predict_refuses_broken_and_misfit_checkpoints(e3d_inputs, tmp_path, capfd):
    source = e3d_inputs["checkpoints"]
    output = tmp_path / "out"

    def variant(name, edit):
        folder = tmp_path / name
        shutil.copytree(source, folder)
        edit(folder)
        return folder

    data_name = pathlib.Path(e3d_inputs["prefix"]).name + ".data-00000-of-00001"
    index_name = pathlib.Path(e3d_inputs["prefix"]).name + ".index"

    def truncate(folder):
        (folder / data_name).write_bytes((folder / data_name).read_bytes()[:200])

    def not_sstable(folder):
        (folder / index_name).write_text("this is not an sstable")

    def manifest_edit(**config):
        def edit(folder):
            manifest = json.loads((folder / "vidpred_model.json").read_text())
            manifest["config"].update(config)
            if "img_channel" in config:
                manifest["channels"] = config["img_channel"]
            (folder / "vidpred_model.json").write_text(json.dumps(manifest))
        return edit

    cases = [
        (variant("truncated", truncate), ["model.ckpt-1", "truncated or corrupt"]),
        (variant("sstable", not_sstable), ["model.ckpt-1", "not a readable TensorFlow checkpoint"]),
        (variant("other_arch", manifest_edit(num_hidden=[4, 4])), ["does not fit model", "misshapen", "#0"]),
        # 3 channels in 2x2 patches: 12 patch channels where the checkpoint's output layer has 4.
        (variant("channels", manifest_edit(img_channel=3)), ["does not fit model", "misshapen",
                                                             "(checkpoint [2, 1, 1, 8, 4], model [2, 1, 1, 8, 12])"]),
    ]
    for checkpoint, words in cases:
        code, stderr = _predict(tmp_path, capfd, checkpoint, output)
        assert_one_line_error("vidpred predict", code, stderr, *words)
        assert "could not be found in the restored object" not in stderr
        assert not output.exists()


def test_predict_on_a_full_disk_keeps_the_previous_outputs(e3d_inputs, tmp_path, capfd, monkeypatch):
    from vidpred_tf.viz import video as video_module

    output = tmp_path / "out"
    output.mkdir()
    (output / "prediction.json").write_text('{"previous": true}')
    before = snapshot(output)
    fake = tmp_path / "ffmpeg_full_disk"
    fake.write_text("#!/bin/sh\ncat > /dev/null\necho 'out.gif: No space left on device' >&2\n"
                    "echo 'Conversion failed!' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(video_module, "ffmpeg_executable", lambda: str(fake))
    code, stderr = _predict(tmp_path, capfd, e3d_inputs["checkpoints"], output)
    assert_one_line_error("vidpred predict", code, stderr, f"no space left on device writing {output}")
    assert "Conversion failed" not in stderr
    assert snapshot(output) == before


# --------------------------------------------------------------------------------- scripts/mspred 02_train, 03_evaluate
@pytest.fixture(scope="module")
def mspred_root(tmp_path_factory):
    """A working folder with experiments/Unit/{ok, broken, nodata}: ok has a mmnist config and an original-format
    .pth whose pickle would run code; broken has unparsable parameters; nodata reads moving_mnist files that
    are not there."""
    from vidpred_tf.papers.mspred import experiment

    root = tmp_path_factory.mktemp("mspred_bad")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        ok = pathlib.Path(experiment.create_experiment("Unit", "ok", "mmnist"))
        broken = pathlib.Path(experiment.create_experiment("Unit", "broken", "mmnist"))
        nodata = pathlib.Path(experiment.create_experiment("Unit", "nodata", "mmnist"))
    finally:
        os.chdir(cwd)
    (broken / "experiment_params.json").write_text('{"dataset": {"dataset_name": ')
    params = json.loads((nodata / "experiment_params.json").read_text())
    params["dataset"]["dataset_name"] = "moving_mnist"
    (nodata / "experiment_params.json").write_text(json.dumps(params))
    (ok / "models").mkdir()
    with zipfile.ZipFile(ok / "models" / "evil.pth", "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps(copy.copy, protocol=2))
    # A port checkpoint folder whose data file lost its end.
    import tensorflow as tf

    from vidpred_tf.training.checkpoint import write_named_checkpoint

    prefix = write_named_checkpoint(tf.train.Checkpoint(v=tf.Variable(np.zeros(4096, np.float32))),
                                    str(ok / "models" / "cut"))
    data_file = pathlib.Path(prefix + ".data-00000-of-00001")
    data_file.write_bytes(data_file.read_bytes()[:100])
    return root


def test_mspred_scripts_refuse_bad_input_before_writing(mspred_root):
    root = mspred_root
    experiments = root / "experiments" / "Unit"
    before = {name: snapshot(experiments / name) for name in ("ok", "broken", "nodata")}
    env = {"VIDPRED_DATASETS_DIR": str(root / "no_datasets")}
    train_cases = [
        (["-d", "Unit/broken"], ["broken/experiment_params.json", "is not valid JSON"]),
        (["-d", "Unit/nodata"], ["MovingMNIST", "does not exist"]),
        (["-d", "Unit/absent"], ["-d Unit/absent", "does not exist"]),
        (["-d", "Unit/ok", "--checkpoint", "nowhere.pth"], ["--checkpoint nowhere.pth", "available: cut, evil.pth"]),
        (["-d", "Unit/ok", "--checkpoint", "evil.pth"], ["evil.pth", "refusing to load the global copy.copy"]),
        (["-d", "Unit/ok", "--checkpoint", "cut"], ["--checkpoint cut:", "truncated or corrupt"]),
    ]
    results = drive(TRAIN, [{"args": args, "cwd": str(root), "env": env} for args, _ in train_cases])
    for (args, words), result in zip(train_cases, results):
        assert_one_line_error("02_train.py", result["code"], result["stderr"], *words)
    evaluate_cases = [
        (["-d", "Unit/ok", "--checkpoint", "checkpoint_epoch_final.pth"], ["--checkpoint checkpoint_epoch_final.pth",
                                                                             "no checkpoint"]),
        (["-d", "Unit/ok", "--checkpoint", "evil.pth"], ["evil.pth", "refusing to load the global copy.copy"]),
        (["-d", "Unit/broken", "--checkpoint", "x.pth"], ["broken/experiment_params.json", "is not valid JSON"]),
    ]
    results = drive(EVALUATE, [{"args": args, "cwd": str(root), "env": env} for args, _ in evaluate_cases])
    for (args, words), result in zip(evaluate_cases, results):
        assert_one_line_error("03_evaluate.py", result["code"], result["stderr"], *words)
    # No models/, results/, tboard_logs/ or plots/ made, logs.txt as it was.
    assert {name: snapshot(experiments / name) for name in before} == before
    assert not (experiments / "absent").exists()


def test_predict_refuses_a_pth_whose_pickle_would_run_code(mspred_root, tmp_path, capfd):
    checkpoint = mspred_root / "experiments" / "Unit" / "ok" / "models" / "evil.pth"
    code, stderr = _predict(tmp_path, capfd, checkpoint, tmp_path / "out")
    assert_one_line_error("vidpred predict", code, stderr, "evil.pth", "refusing to load the global copy.copy")
    assert not (tmp_path / "out").exists()
