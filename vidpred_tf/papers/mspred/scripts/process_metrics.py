r"""MSPred ``04_process_metrics.py``: ``processed_<file>`` summaries of the metrics of an evaluated checkpoint.

    python scripts/mspred/04_process_metrics.py -d experiments/TestExp/exp_kth/ \
        --checkpoint_name checkpoint_epoch_final.pth

For every ``results/results_<ckpt>/*.json`` not already processed: the mean keys, pck/pdj at @0.2 only,
``AR0.1:...:0.5`` / ``AP...`` (the mean of the mean_pdj / mean_pck values) and the classwise segmentation lists
reduced to ``_moving`` (class 22), ``_background`` (0) and ``_static`` (mean of 1..21).
"""

from __future__ import annotations

from absl import flags

from vidpred_tf.quiet import import_tensorflow_quietly

flags.DEFINE_string("exp_directory", None, "Path to the experiment directory", short_name="d")
flags.DEFINE_string("checkpoint_name", None, "Name of the checkpoint that was evaluated. For instance: "
                    "'checkpoint_epoch_100.pth'")
flags.mark_flags_as_required(["exp_directory", "checkpoint_name"])
FLAGS = flags.FLAGS


def main(argv):
    # TensorFlow is imported only now that the flags are parsed: --help and flag errors stay fast and quiet.
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    from vidpred_tf.papers.mspred.evaluation import process_metrics_dir  # noqa: PLC0415
    from vidpred_tf.papers.mspred.experiment import resolve_exp_directory  # noqa: PLC0415

    del argv
    exp_path = resolve_exp_directory(FLAGS.exp_directory)
    process_metrics_dir(exp_path, FLAGS.checkpoint_name)
    print("Done")

