"""SAVP ``scripts/evaluate.py``: full-reference metrics over N stochastic samples, as best/avg/worst.

    python scripts/savp/evaluate.py --flagfile=flags/savp/evaluate_bair_action_free_ours_vae_gan.flags \\
        --lpips_weights=lpips_alex.weights.h5

This module is the command: the original's flags (same names, types and defaults, ``--eval_substasks`` spelled
as the original; defined on import) and ``main``. The protocol and the files are
:mod:`vidpred_tf.papers.savp.evaluation`:

    <output_dir>/prediction_eval_<metric>_<subtask>/{inputs/context_image_%05d_%02d.png,
                                                     outputs/gen_image_%05d_%02d.png, metrics/<metric>.csv}
    <output_dir>/prediction_eval_diversity/metrics/diversity.csv
    <output_dir>/plots/<metric>.png   (added: each metric's subtasks against the time step)

and at the end the table of mean (std) per time step of psnr, ssim and lpips under ``max``.

Differences from the original, deliberate:
* Q1 fixed: ``--mode`` (val/test, default val) is the dataset split; the model runs in mode ``test``.
* LPIPS: the original downloaded the AlexNet-lin v0.1 graph on first use; here ``--lpips_weights`` names the
  converted weights (``python -m vidpred_tf.convert.lpips``). Without it LPIPS and the diversity are skipped
  (a line says so).
* ``--eval_substasks`` is a multi-string flag: repeat it (``--eval_substasks=max --eval_substasks=min``); the
  original took ``--eval_substasks max min``.
* ``--eval_parallel_iterations`` and ``--gpu_mem_frac`` are accepted and have no effect (samples run one after
  the other; TensorFlow 2 grows GPU memory as needed); ``--gt_inputs_dir``/``--gt_outputs_dir`` are accepted and
  unused, as in the original. Randomness is stateless (see :func:`vidpred_tf.papers.savp.runtime.sample_seed`).
"""

from __future__ import annotations

import os

import numpy as np
from absl import app, flags

from vidpred_tf.errors import InputError
from vidpred_tf.metrics.lpips import LPIPS
from vidpred_tf.papers.savp import evaluation, options, runtime

flags.DEFINE_string("input_dir", None, "either a directory containing subdirectories train, val, test, etc, or a "
                    "directory containing the tfrecords (required)")
flags.DEFINE_string("results_dir", "results", "ignored if output_dir is specified")
flags.DEFINE_string("output_dir", None, "output directory where results are saved. default is "
                    "results_dir/model_fname, where model_fname is the directory name of checkpoint")
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
flags.DEFINE_multi_string("eval_substasks", ["max", "avg", "min"], "subtasks to evaluate (e.g. max, avg, min)")
flags.DEFINE_boolean("only_metrics", False, "write the metrics only, no PNGs")
flags.DEFINE_integer("num_stochastic_samples", 100, "samples per example (the model's eval_num_samples)")
flags.DEFINE_string("gt_inputs_dir", None, "directory containing input ground truth images for simple dataset "
                    "(unused, as in the original)")
flags.DEFINE_string("gt_outputs_dir", None, "directory containing output ground truth images for simple dataset "
                    "(unused, as in the original)")
flags.DEFINE_integer("eval_parallel_iterations", 10, "parallel_iterations of the original's sampling loop "
                     "(accepted, no effect)")
flags.DEFINE_float("gpu_mem_frac", 0, "fraction of gpu memory to use (accepted, ignored)")
flags.DEFINE_integer("seed", 7, "random seed")
# Added: the original downloaded the LPIPS graph itself.
flags.DEFINE_string("lpips_weights", None, "LPIPS v0.1 AlexNet .weights.h5 (python -m vidpred_tf.convert.lpips); "
                    "without it LPIPS and diversity are skipped")

FLAGS = flags.FLAGS
FLAG_NAMES = ("input_dir", "results_dir", "output_dir", "checkpoint", "mode", "dataset", "dataset_hparams", "model",
              "model_hparams", "batch_size", "num_samples", "num_epochs", "eval_substasks", "only_metrics",
              "num_stochastic_samples", "gt_inputs_dir", "gt_outputs_dir", "eval_parallel_iterations",
              "gpu_mem_frac", "seed", "lpips_weights")


def _check_flags() -> None:
    if not FLAGS.input_dir:
        raise app.UsageError("--input_dir is required")
    for name in ("batch_size", "num_stochastic_samples", "num_epochs"):
        if FLAGS[name].value < 1:
            raise InputError(f"--{name} must be at least 1; got {FLAGS[name].value}")
    for subtask in FLAGS.eval_substasks:
        if subtask not in evaluation.SUBTASKS:
            raise InputError(f"--eval_substasks {subtask!r}: expected one of {list(evaluation.SUBTASKS)}")


def _lpips():
    if not FLAGS.lpips_weights:
        print("LPIPS and diversity are skipped: no --lpips_weights")
        return None
    return LPIPS("alex", weights=FLAGS.lpips_weights)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    _check_flags()
    resolved = options.resolve_options(FLAGS.dataset, FLAGS.model, FLAGS.checkpoint)
    FLAGS.dataset, FLAGS.model = resolved.dataset, resolved.model
    FLAGS.output_dir = options.results_output_dir(FLAGS.results_dir, FLAGS.output_dir, resolved.checkpoint_dir,
                                                  resolved.model)
    run_options = options.flag_options(FLAGS, FLAG_NAMES)
    options.print_options(run_options)

    session = runtime.build_session(resolved, FLAGS.input_dir, FLAGS.mode, FLAGS.dataset_hparams,
                                    FLAGS.model_hparams, FLAGS.batch_size, FLAGS.num_samples, FLAGS.num_epochs,
                                    FLAGS.seed, FLAGS.checkpoint)
    hparams = session.model.hparams
    options.write_run_jsons((FLAGS.output_dir,), run_options, session.dataset_hparams.values(), hparams.values())
    lpips = _lpips()
    fns = evaluation.metric_fns(lpips)
    diversity = None if lpips is None else (lambda a, b: lpips(a, b, input_range="[0,1]"))
    deterministic = session.model.deterministic
    task_dir = os.path.join(FLAGS.output_dir, "prediction_eval")
    sample_ind = 0
    for batch in session.batches():
        print("evaluation samples from %d to %d" % (sample_ind, sample_ind + FLAGS.batch_size))
        images = np.asarray(batch["images"])
        results = evaluation.eval_outputs_and_metrics(
            images, lambda index, start=sample_ind: session.sample(batch, start, index), hparams.context_frames,
            fns, FLAGS.num_stochastic_samples, deterministic, diversity_distance=diversity)
        results["images"] = images
        evaluation.save_prediction_eval_results(task_dir, results, hparams.context_frames, hparams.sequence_length,
                                                sample_ind, FLAGS.only_metrics, FLAGS.eval_substasks)
        sample_ind += FLAGS.batch_size

    print(evaluation.summary_table(FLAGS.output_dir))
    evaluation.plot_results_dir(FLAGS.output_dir, hparams.context_frames, subtasks=FLAGS.eval_substasks)
