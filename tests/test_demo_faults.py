"""The demo under faults: a diverging learning rate ends in one line with no non-finite checkpoint on disk; a cut
data shard and a stale temporary file of a killed generation are found, named and replaced."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import tensorflow as tf

REPO = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
       "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _demo(out, *args):
    # --init_from= : from scratch (no preset needed); the step count binds, not the clock.
    # Short sequences: the unrolled model traces in a fraction of the time of the demo's 20 frames.
    command = [sys.executable, "-m", "vidpred_tf.demo", "--out", str(out), "--init_from=", "--num_train", "16",
               "--num_test", "8", "--batch_size", "2", "--minutes", "30", "--seq_length", "6",
               "--context_frames", "3", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=ENV)


def _finite(prefix):
    reader = tf.train.load_checkpoint(prefix)
    values = [np.asarray(reader.get_tensor(n)) for n in reader.get_variable_to_shape_map()]
    return all(np.all(np.isfinite(v)) for v in values if np.issubdtype(v.dtype, np.floating))


def _record_ends(path):
    data, ends, offset = pathlib.Path(path).read_bytes(), [], 0
    while offset < len(data):
        offset += 8 + 4 + int.from_bytes(data[offset:offset + 8], "little") + 4
        ends.append(offset)
    return ends


def test_diverging_demo_stops_in_one_line_and_damaged_data_is_named_and_regenerated(tmp_path):
    out = tmp_path / "demo"
    diverged = _demo(out, "--learning_rate", "1e30", "--max_steps", "6")
    assert diverged.returncode == 1, diverged.stdout[-2000:] + diverged.stderr[-3000:]
    lines = diverged.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidpred demo: error: "), diverged.stderr[-3000:]
    assert "non-finite" in lines[0] and "Last good checkpoint: " in lines[0]
    named = lines[0].rsplit("Last good checkpoint: ", 1)[1]
    train_dir = out / "train" / "dna"
    state = tf.train.get_checkpoint_state(str(train_dir))
    paths = list(state.all_model_checkpoint_paths) if state else []
    assert (named == "none") == (not paths), (named, paths)
    for prefix in paths:
        assert _finite(prefix), prefix

    # The train shard cut at a record boundary (tf.data alone reads the half without a word) and the temporary
    # file of a generation killed mid-write.
    shard = out / "data" / "moving_mnist-train-00000-of-00001.tfrecord"
    shard.write_bytes(shard.read_bytes()[:_record_ends(shard)[7]])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = out / "data" / f"moving_mnist-test-00000-of-00001.tfrecord.tmp-{dead.pid}-0badf00d"
    stale.write_bytes(b"\0" * 1000)
    again = _demo(out, "--max_steps", "1")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert f"Removed {stale}, left by a data generation that was stopped" in again.stdout
    assert (f"Moving MNIST in {out / 'data'} is damaged (corrupt TFRecord file {shard}: record 8: the file holds 8 "
            f"records, its manifest says 16 (cut short?)): generating it again") in again.stdout
    assert not stale.exists()
    assert len(_record_ends(shard)) == 16
