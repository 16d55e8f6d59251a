"""MSPred ``03_evaluate.py``: best-of-N metrics of a checkpoint on the test split.

    python scripts/mspred/03_evaluate.py -d experiments/TestExp/exp_mmnist/ --checkpoint checkpoint_epoch_final.pth

(``scripts/mspred/3_evaluate.py`` runs this script too: the original README's usage line says ``src/3_evaluate.py``.)

Writes ``<exp>/results/results_<ckpt>/metrics_<h>.json`` and the framewise plots
``<exp>/results/plots_<ckpt>/results_<metric>_level_<h>.png`` (see vidpred_tf.papers.mspred.evaluation).
Run from the repository root: ``-d`` is taken under ``<cwd>/experiments`` and datasets under ``<cwd>/../datasets``.

Port additions: ``--seed`` (test-loader shuffle and latent draws; the original used torch's global state),
``--datasets_root``, ``--lpips_weights`` (converted AlexNet LPIPS weights; without them LPIPS is skipped), and
three fixes of the original's quirks, all off by default: ``--lpips_rescale`` (the original feeds LPIPS [0, 1]
frames as if they were in [-1, 1]), ``--classwise_accuracy_as_recall`` (the original's per-class "accuracy" is a
precision) and ``--iou_ignore_absent_classes``. ``--checkpoint`` is required (the original crashed without it).
"""

from __future__ import annotations

import os

from absl import flags

from vidpred_tf.quiet import import_tensorflow_quietly

flags.DEFINE_string("exp_directory", None, "Path to the experiment directory", short_name="d")
flags.DEFINE_string("checkpoint", None, "Checkpoint with pretrained parameters to load (a file in <exp>/models/)")
flags.DEFINE_integer("n_samples_per_seq", 1, "Number of samples to take from each sequence during evaluation",
                     lower_bound=1)
flags.DEFINE_integer("seed", 13, "Seed of the test-loader shuffle and of the latent draws.")
flags.DEFINE_string("datasets_root", None, "Datasets folder (default: $VIDPRED_DATASETS_DIR or <cwd>/../datasets).")
flags.DEFINE_string("lpips_weights", None, "AlexNet LPIPS .weights.h5 (python -m vidpred_tf.convert.lpips); "
                    "without it the lpips metric is skipped.")
flags.DEFINE_boolean("lpips_rescale", False, "Map the [0,1] frames to [-1,1] before LPIPS "
                     "(the original does not, so its LPIPS numbers are not standard).")
flags.DEFINE_boolean("classwise_accuracy_as_recall", False, "Give classwise_segmentation_accuracy as per-class "
                     "recall (the original writes per-class precision under that name).")
flags.DEFINE_boolean("iou_ignore_absent_classes", False, "Per-frame mean IoU over the classes present in the "
                     "prediction or target (the original's plain mean is NaN when any class is absent).")
flags.mark_flags_as_required(["exp_directory", "checkpoint"])
FLAGS = flags.FLAGS


def main(argv):
    # TensorFlow is imported only now that the flags are parsed: --help and flag errors stay fast and quiet.
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    from vidpred_tf.evaluation import load_lpips_weights  # noqa: PLC0415
    from vidpred_tf.papers.mspred import evaluation  # noqa: PLC0415
    from vidpred_tf.papers.mspred.checkpoints import load_model_for_evaluation  # noqa: PLC0415
    from vidpred_tf.papers.mspred.experiment import Logger, resolve_exp_directory  # noqa: PLC0415

    del argv
    # Everything the user named is checked (experiment, parameters, checkpoint, LPIPS weights) before the first
    # line of logs.txt or folder of results/ is written; a bad one is one line 'PROG: error: ...' (cli.run).
    exp_path = resolve_exp_directory(FLAGS.exp_directory)
    model, exp_params, _ = load_model_for_evaluation(exp_path, FLAGS.checkpoint)
    options = evaluation.MetricOptions(
        lpips=load_lpips_weights("alex", FLAGS.lpips_weights) if FLAGS.lpips_weights else None,
        lpips_rescale=FLAGS.lpips_rescale,
        classwise_accuracy_as_recall=FLAGS.classwise_accuracy_as_recall,
        iou_ignore_absent_classes=FLAGS.iou_ignore_absent_classes)
    logger = Logger(exp_path)
    logger.log_info("Starting evaluation procedure", message_type="new_exp")
    logger.print_("Initializing Evaluator...")
    written = evaluation.evaluate_experiment(exp_path, FLAGS.checkpoint, n_samples_per_seq=FLAGS.n_samples_per_seq,
                                             seed=FLAGS.seed, datasets_root=FLAGS.datasets_root, options=options,
                                             log=logger.print_, model=model, exp_params=exp_params)
    for level, paths in sorted(written.items()):
        logger.print_(f"Level {level} results: {os.path.relpath(paths['json'], exp_path)}")

