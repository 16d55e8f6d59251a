"""Faults around files: modes of atomic writes, leftovers of killed writers, torn TFRecords, non-finite checkpoints,
short usage errors."""

import os
import pathlib
import stat
import subprocess
import sys

import keras
import numpy as np
import pytest

from vidpred_tf import fileio, inference, manifest
from vidpred_tf.data import tfrecord
from vidpred_tf.errors import InputError

REPO = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
       "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _dead_pid():
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_get_the_mode_of_open_under_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = manifest.write_manifest(tmp_path, paper="baseline", model_name="m", config={}, image_size=8,
                                        channels=1, context_frames=2, horizon=3)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert fileio.current_umask() == previous


def test_stale_prediction_stage_of_a_killed_run_is_removed_and_a_live_one_kept(tmp_path):
    stale = tmp_path / f".prediction-{_dead_pid()}-abc"
    stale.mkdir()
    (stale / "prediction.gif").write_bytes(b"half")
    old_style = tmp_path / ".prediction-k2j3h4"  # the unnumbered stages of earlier versions
    old_style.mkdir()
    live = tmp_path / f".prediction-{os.getpid()}-xyz"
    live.mkdir()
    with fileio.staged_output_dir(tmp_path, ".prediction-") as (_, stage):
        assert stage.name.startswith(f".prediction-{os.getpid()}-")
        assert not stale.exists() and not old_style.exists()
        assert live.exists()
    assert not stage.exists()


def _write_shard(tmp_path, count=6):
    examples = [{"images": np.full((2, 4, 4, 1), i, np.uint8)} for i in range(count)]
    return tfrecord.write_tfrecords(str(tmp_path / "clip"), examples)[0]


def _record_ends(path):
    """Byte offsets where each record of a TFRecord file ends (8-byte length, 4-byte CRC, data, 4-byte CRC)."""
    data, ends, offset = pathlib.Path(path).read_bytes(), [], 0
    while offset < len(data):
        length = int.from_bytes(data[offset:offset + 8], "little")
        offset += 8 + 4 + length + 4
        ends.append(offset)
    return ends


def test_stale_tfrecord_temp_files_are_removed_by_the_next_writer(tmp_path):
    stale = tmp_path / f"clip-00000-of-00001.tfrecord.tmp-{_dead_pid()}-0123abcd"
    stale.write_bytes(b"x" * 100)
    live = tmp_path / f"other-00000-of-00001.tfrecord.tmp-{os.getpid()}-0123abcd"
    live.write_bytes(b"y")
    _write_shard(tmp_path)
    assert not stale.exists() and live.exists()
    assert tfrecord.remove_stale_temp_files(str(tmp_path)) == []


def test_record_counts_name_a_shard_cut_at_or_inside_a_record(tmp_path):
    path = _write_shard(tmp_path, count=6)
    tfrecord.check_record_counts({path: 6})
    ends = _record_ends(path)
    data = pathlib.Path(path).read_bytes()
    pathlib.Path(path).write_bytes(data[:ends[2]])  # at a boundary: tf.data reads 3 records without complaint
    with pytest.raises(tfrecord.CorruptRecordError) as caught:
        tfrecord.check_record_counts({path: 6})
    assert str(caught.value) == (f"corrupt TFRecord file {path}: record 3: the file holds 3 records, its manifest "
                                 f"says 6 (cut short?)")
    pathlib.Path(path).write_bytes(data[:ends[2] + 20])  # inside a record
    with pytest.raises(tfrecord.CorruptRecordError, match=rf"corrupt TFRecord file {path}: record 3: .*truncated"):
        tfrecord.check_record_counts({path: 6})


def test_evaluate_on_a_torn_tfrecord_names_the_file(tmp_path):
    from vidpred_tf.evaluation import load_dataset_videos

    path = _write_shard(tmp_path, count=6)
    data = pathlib.Path(path).read_bytes()
    pathlib.Path(path).write_bytes(data[:_record_ends(path)[2] + 20])
    with pytest.raises(InputError) as caught:
        load_dataset_videos("tfrecord", path, num_videos=6)
    assert str(caught.value).startswith(f"--dataset=tfrecord: corrupt TFRecord file {path}: record 3: ")
    assert "\n" not in str(caught.value)


def test_a_checkpoint_with_non_finite_weights_is_refused_in_one_line(tmp_path):
    from vidpred_tf.training.checkpoint import model_checkpoint

    model = keras.Sequential([keras.layers.Dense(2)])
    model.build((None, 3))
    model.weights[0].assign(np.full((3, 2), np.inf, np.float32))
    prefix = model_checkpoint(model).write(str(tmp_path / "ckpt-1"))
    fresh = keras.Sequential([keras.layers.Dense(2)])
    fresh.build((None, 3))
    with pytest.raises(InputError) as caught:
        inference.restore_weights(fresh, prefix)
    message = str(caught.value)
    assert message.startswith(f"checkpoint {prefix} holds non-finite weights (1 of 2 tensors: ")
    assert "diverged" in message and "\n" not in message


def test_usage_error_of_a_main_is_one_line_with_a_pointer_to_help(capsys):
    from absl import app

    from vidpred_tf.cli import one_line_errors

    def main(argv):
        raise app.UsageError("--model_name='no_such_model' is not one of e3d_lstm, ...")

    with pytest.raises(SystemExit) as caught:
        one_line_errors(main)(["run.py"])
    assert caught.value.code == 2
    assert capsys.readouterr().err == ("run.py: error: --model_name='no_such_model' is not one of e3d_lstm, ... "
                                       "(see run.py --help)\n")

    def diverged(argv):
        from vidpred_tf.training import NonFiniteLossError

        raise NonFiniteLossError("loss loss became non-finite at step 3 (loss=nan); stopped without saving. "
                                 "Last good checkpoint: d/ckpt-2")

    with pytest.raises(SystemExit) as caught:
        one_line_errors(diverged, prog="vidpred demo")(["x"])
    assert caught.value.code == 1
    assert capsys.readouterr().err.count("\n") == 1

    def bug(argv):
        raise KeyError("a bug keeps its traceback")

    with pytest.raises(KeyError):
        one_line_errors(bug)(["x"])


@pytest.mark.parametrize("script, args, expected, ending", [
    ("scripts/e3d/run.py", ["--model_name", "no_such_model"], "run.py: error: ", "--help)"),
    # A folder that does not exist is bad input (InputError), not a usage error: no pointer to --help.
    ("scripts/mspred/02_train.py", ["-d", "experiments/no_such/"], "02_train.py: error: -d experiments/no_such/",
     "experiments)"),
    ("scripts/e3d/run.py", ["--num_hidden", "8,8"], "run.py: error: num_hidden 8,8: ", "--help)"),
])
def test_scripts_print_usage_errors_alone(tmp_path, script, args, expected, ending):
    process = subprocess.run([sys.executable, str(REPO / script), *args], capture_output=True, text=True,
                             env=ENV, cwd=tmp_path, timeout=300)
    assert process.returncode == 2, process.stderr[-2000:]
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr[-3000:]
    assert lines[0].startswith(expected) and lines[0].endswith(ending), lines
    if "num_hidden" in args:
        assert "pass --enforce_decoder_width_64=False to run.py" in lines[0]
