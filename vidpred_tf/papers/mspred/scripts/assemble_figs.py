"""MSPred ``05_assemble_figs.py``: the combined hierarchical GIF and the 6 x 8 paper grid from the frames that
04_generate_figs.py saved.

    python scripts/mspred/05_assemble_figs.py -d experiments/TestExp/exp_kth/ --checkpoint checkpoint_epoch_final.pth

Writes ``<exp>/results/plots_<ckpt>/gifs/combined_gif_<i>.gif`` and ``images/combined_img_<i>.png``. The original
has layouts for kth and synpick only; other datasets get a generic one here. Same flags as 04_generate_figs.py
(``--num_imgs`` is accepted and unused, as in the original).
"""

from __future__ import annotations

from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

flags.DEFINE_string("exp_directory", None, "Path to the experiment directory", short_name="d")
flags.DEFINE_string("checkpoint", None, "Checkpoint whose figures to assemble")
flags.DEFINE_integer("num_imgs", 5, "Unused (the number of saved sequences decides)")
flags.mark_flags_as_required(["exp_directory", "checkpoint"])
FLAGS = flags.FLAGS


def main(argv):
    # TensorFlow is imported only now that the flags are parsed: --help and flag errors stay fast and quiet.
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    from vidpred_tf.papers.mspred.evaluation import assemble_figures  # noqa: PLC0415
    from vidpred_tf.papers.mspred.experiment import Logger, load_exp_params, resolve_exp_directory  # noqa: PLC0415

    del argv
    if FLAGS.num_imgs <= 0:
        raise app.UsageError(f"'--num_imgs' must be > 0. Given value was {FLAGS.num_imgs}...")

    exp_path = resolve_exp_directory(FLAGS.exp_directory)
    logger = Logger(exp_path)
    logger.log_info("Assembling nice figures and GIFs", message_type="new_exp")
    assemble_figures(exp_path, FLAGS.checkpoint, load_exp_params(exp_path), log=logger.print_)

