"""The main job: build Moving MNIST, train a predictor for a few minutes, predict, evaluate, draw.

    python -m vidpred_tf.demo --out demo_out [--minutes 3]

Writes under ``--out``: ``data/`` (Moving MNIST TFRecords, reused when present), ``train/`` (checkpoints and
TensorBoard logs), ``videos/*.gif|mp4`` (ground truth above, prediction below, predicted frames in red),
``plots/*.png`` (metric per predicted time step, model against copy-last-frame) and ``metrics.json``.

This module is the command (its flags and ``main``); the work is :mod:`vidpred_tf.papers.baseline.workflow`.
"""

from __future__ import annotations

from absl import app, flags, logging

from vidpred_tf.quiet import import_tensorflow_quietly

flags.DEFINE_string("out", "demo_out", "Output directory.")
flags.DEFINE_enum("model", "dna", ["dna", "convlstm", "e3d_lstm"],
                  "dna: a ConvLSTM predicting per-pixel motion kernels applied to the last frame (Finn et al.'s "
                  "DNA); convlstm: the ConvLSTM encoder-decoder baseline drawing pixels; e3d_lstm: a small E3D-LSTM "
                  "(2-D Eidetic cell, 3-D encoder/decoder, patch 4, one 64-channel layer) trained with the E3D "
                  "study's loss and Adam.")
flags.DEFINE_string("init_from", "preset:mmnist_dna",
                    "Start from these weights: a preset (preset:NAME, see `vidpred list presets`) or a checkpoint "
                    "directory of the same model and configuration; '' trains from scratch. A run resumes from its "
                    "own checkpoints in --out first.")
flags.DEFINE_float("minutes", 3.0, "Training time budget in minutes.")
flags.DEFINE_integer("max_steps", 100000, "Upper bound on training steps (the time budget usually ends first).")
flags.DEFINE_integer("num_train", 1000, "Training sequences to generate.")
flags.DEFINE_integer("num_test", 128, "Test sequences to generate and evaluate.")
flags.DEFINE_integer("batch_size", 16, "Global training batch size.")
flags.DEFINE_integer("context_frames", 10, "Context frames given to the model.")
flags.DEFINE_integer("seq_length", 20, "Frames per sequence (context + predicted).")
flags.DEFINE_integer("num_digits", 2, "Digits per Moving MNIST sequence.")
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
flags.DEFINE_integer("seed", 0, "Seed of data generation, initialisation and shuffling.")
flags.DEFINE_string("strategy", "auto", "auto|one_device|mirrored|multi_worker.")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the training step (scripts/bench_baseline.py measured it "
                  "about as fast as without on 2 CPU cores, after ~20 s of compiling; try it on a GPU).")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    # The workflow imports TensorFlow: only once the flags have parsed, so that --help and usage errors are quick.
    from vidpred_tf.papers.baseline.workflow import run_demo  # noqa: PLC0415
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO lines would bury the progress line
    # The default --init_from is the DNA preset: the other models train from scratch unless it is given for them.
    # Bad flags, damaged data and a diverged run end in one line (the command wraps main in cli.one_line_errors).
    init_from = FLAGS.init_from if FLAGS.model == "dna" or FLAGS["init_from"].present else ""
    run_demo(FLAGS.out, FLAGS.minutes, model=FLAGS.model, max_steps=FLAGS.max_steps, num_train=FLAGS.num_train,
             num_test=FLAGS.num_test, batch_size=FLAGS.batch_size, context_frames=FLAGS.context_frames,
             seq_length=FLAGS.seq_length, num_digits=FLAGS.num_digits, learning_rate=FLAGS.learning_rate,
             seed=FLAGS.seed, strategy_name=FLAGS.strategy, jit_compile=FLAGS.jit_compile, init_from=init_from)
