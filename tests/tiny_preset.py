"""A tiny preset made the way the shipped ones are: a ConvLSTM baseline trained for a few steps (with TensorBoard
loss scalars), its metrics JSON written by ``write_preset_metrics`` on a small Moving MNIST draw, exported by
``export_preset``. Shared by tests/test_presets.py and tests/test_notebook.py."""

import pathlib

import numpy as np
import tensorflow as tf

CONTEXT, HORIZON, SIZE = 3, 4, 16
NAME, VERSION = "tiny_convlstm", "0.1.0"
# The metrics JSON's Moving MNIST draw: 32x32 frames (the smallest canvas above a 28-pixel digit), resized to the
# model's 16x16 as vidpred evaluate does; 8 sequences, the check on the first 4.
DATA = {"seed": 3, "num_sequences": 8, "image_size": 32, "seq_length": CONTEXT + HORIZON}


def train_tiny_baseline(directory, num_steps: int = 4):
    """A ConvLSTM baseline (16x16, context 3, horizon 4) trained ``num_steps`` steps on random videos, with the
    manifest the demo writes and a loss scalar every step."""
    from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig
    from vidpred_tf.models.baseline.task import NextFrameTask
    from vidpred_tf.papers.baseline.predictor import write_baseline_manifest
    from vidpred_tf.training import Trainer, TrainerConfig, make_strategy

    config = ConvLSTMConfig(image_size=SIZE, context_frames=CONTEXT, encoder_filters=(4,), lstm_filters=(4,))
    write_baseline_manifest(directory, config, horizon=HORIZON)
    videos = np.random.default_rng(0).random((8, CONTEXT + HORIZON, SIZE, SIZE, 1)).astype("float32")
    trainer = Trainer(NextFrameTask(config, num_frames=CONTEXT + HORIZON),
                      TrainerConfig(model_dir=str(directory), num_steps=num_steps, global_batch_size=4,
                                    checkpoint_every=num_steps, log_every=100, summary_every=1),
                      make_strategy("one_device"))
    trainer.fit(lambda context: tf.data.Dataset.from_tensor_slices({"images": videos}).repeat().batch(4))
    return config


def make_tiny_preset(output_root, workdir, name: str = NAME, version: str = VERSION) -> pathlib.Path:
    """Train, score and export the tiny preset into ``output_root/name``; returns that folder."""
    from vidpred_tf.presets.check import write_preset_metrics
    from vidpred_tf.presets.export import export_preset

    workdir = pathlib.Path(workdir)
    checkpoint = workdir / "ckpt"
    train_tiny_baseline(checkpoint)
    flagfile = workdir / "tiny.flags"
    flagfile.write_text("--model=convlstm\n--image_size=16\n--context_frames=3\n--seq_length=7\n--max_steps=4\n")
    metrics = workdir / "metrics.json"
    write_preset_metrics(checkpoint, metrics, num_sequences=DATA["num_sequences"], seed=DATA["seed"],
                         image_size=DATA["image_size"], seq_length=DATA["seq_length"], context_frames=CONTEXT,
                         horizon=HORIZON, batch_size=3)
    return export_preset(checkpoint, name=name, version=version, description="tiny ConvLSTM of the tests",
                         flagfile=flagfile, metrics_json=metrics, output_root=output_root)
