"""SAVP ``scripts/generate.py``: sample predictions from a checkpoint and write GIFs and PNGs.

    python scripts/savp/generate.py --flagfile=flags/savp/generate_bair_action_free_ours_vae_gan.flags

This module is the command: the original's flags (same names, types and defaults; defined on import) and
``main``. The outputs (:func:`vidpred_tf.papers.savp.evaluation.save_generated`), for example
``i`` of the stream and stochastic sample ``s``:

* ``<output_gif_dir>/gen_image_%05d_%02d.gif``: the context frames then the predicted future frames, cut to
  ``--gif_length`` frames when given, at ``--fps``;
* ``<output_png_dir>/gen_image_%05d_%02d_%0Nd.png``: each future frame, N = max(2, digits of F-1);
* ``options.json``, ``dataset_hparams.json``, ``model_hparams.json`` in both folders.

Frames are ``(x * 255).astype(uint8)`` (truncation, Q13), PNGs BGR through cv2, gray tiled to 3 channels.

Differences from the original, deliberate:
* Q1 fixed: ``--mode`` (val/test, default val) is the dataset split; the model runs in mode ``test`` for both
  (the original passed ``val`` to the model, which refused it).
* Randomness is stateless: sample ``s`` of the batch starting at example ``i`` uses the seed
  ``fold_in(fold_in([--seed, 0], i), s)`` (the original's ``tf.set_random_seed`` stream cannot be reproduced).
* ``--gpu_mem_frac`` is accepted and ignored (TensorFlow 2 grows GPU memory as needed).
"""

from __future__ import annotations

from typing import Dict

import numpy as np
from absl import app, flags

from vidpred_tf.errors import InputError
from vidpred_tf.papers.savp import evaluation, options, runtime

flags.DEFINE_string("input_dir", None, "either a directory containing subdirectories train, val, test, etc, or a "
                    "directory containing the tfrecords (required)")
flags.DEFINE_string("results_dir", "results", "ignored if output_gif_dir is specified")
flags.DEFINE_string("results_gif_dir", None, "default is results_dir. ignored if output_gif_dir is specified")
flags.DEFINE_string("results_png_dir", None, "default is results_dir. ignored if output_png_dir is specified")
flags.DEFINE_string("output_gif_dir", None, "output directory where samples are saved as gifs. default is "
                    "results_gif_dir/model_fname")
flags.DEFINE_string("output_png_dir", None, "output directory where samples are saved as pngs. default is "
                    "results_png_dir/model_fname")
flags.DEFINE_string("checkpoint", None, "directory with checkpoint or checkpoint name (e.g. "
                    "checkpoint_dir/model-200000)")
flags.DEFINE_enum("mode", "val", ["val", "test"], "mode for dataset, val or test.")
flags.DEFINE_string("dataset", None, "dataset class name")
flags.DEFINE_string("dataset_hparams", None, "a string of comma separated list of dataset hyperparameters")
flags.DEFINE_string("model", None, "model class name")
flags.DEFINE_string("model_hparams", None, "a string of comma separated list of model hyperparameters")
flags.DEFINE_integer("batch_size", 8, "number of samples in batch")
flags.DEFINE_integer("num_samples", None, "number of samples in total (all of them by default)")
flags.DEFINE_integer("num_epochs", 1, "number of passes over the dataset")
flags.DEFINE_integer("num_stochastic_samples", 5, "stochastic samples per example")
flags.DEFINE_integer("gif_length", None, "default is sequence_length")
flags.DEFINE_integer("fps", 4, "frames per second of the GIFs")
flags.DEFINE_float("gpu_mem_frac", 0, "fraction of gpu memory to use (accepted, ignored)")
flags.DEFINE_integer("seed", 7, "random seed")

FLAGS = flags.FLAGS
FLAG_NAMES = ("input_dir", "results_dir", "results_gif_dir", "results_png_dir", "output_gif_dir", "output_png_dir",
              "checkpoint", "mode", "dataset", "dataset_hparams", "model", "model_hparams", "batch_size",
              "num_samples", "num_epochs", "num_stochastic_samples", "gif_length", "fps", "gpu_mem_frac", "seed")


def _check_flags() -> None:
    if not FLAGS.input_dir:
        raise app.UsageError("--input_dir is required")
    for name in ("batch_size", "num_stochastic_samples", "num_epochs"):
        if FLAGS[name].value is not None and FLAGS[name].value < 1:
            raise InputError(f"--{name} must be at least 1; got {FLAGS[name].value}")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    _check_flags()
    resolved = options.resolve_options(FLAGS.dataset, FLAGS.model, FLAGS.checkpoint)
    FLAGS.dataset, FLAGS.model = resolved.dataset, resolved.model
    FLAGS.results_gif_dir = FLAGS.results_gif_dir or FLAGS.results_dir
    FLAGS.results_png_dir = FLAGS.results_png_dir or FLAGS.results_dir
    FLAGS.output_gif_dir, FLAGS.output_png_dir = options.generate_output_dirs(
        FLAGS.results_dir, FLAGS.results_gif_dir, FLAGS.results_png_dir, FLAGS.output_gif_dir,
        FLAGS.output_png_dir, resolved.checkpoint_dir, resolved.model)
    run_options = options.flag_options(FLAGS, FLAG_NAMES)
    options.print_options(run_options)

    session = runtime.build_session(resolved, FLAGS.input_dir, FLAGS.mode, FLAGS.dataset_hparams,
                                    FLAGS.model_hparams, FLAGS.batch_size, FLAGS.num_samples, FLAGS.num_epochs,
                                    FLAGS.seed, FLAGS.checkpoint)
    options.write_run_jsons((FLAGS.output_gif_dir, FLAGS.output_png_dir), run_options,
                            session.dataset_hparams.values(), session.model.hparams.values())
    context_frames = session.model.hparams.context_frames
    sample_ind = 0
    for batch in session.batches():
        print("evaluation samples from %d to %d" % (sample_ind, sample_ind + FLAGS.batch_size))
        arrays: Dict[str, np.ndarray] = {key: np.asarray(value) for key, value in batch.items()}
        for stochastic_sample_ind in range(FLAGS.num_stochastic_samples):
            gen_images = session.sample(batch, sample_ind, stochastic_sample_ind)
            evaluation.save_generated(FLAGS.output_gif_dir, FLAGS.output_png_dir, arrays["images"], gen_images,
                           context_frames, sample_ind, stochastic_sample_ind, FLAGS.gif_length, FLAGS.fps)
        sample_ind += FLAGS.batch_size
