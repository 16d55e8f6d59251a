"""MSPred ``04_generate_figs.py``: prediction figures and per-level frames of a checkpoint on test sequences.

    python scripts/mspred/04_generate_figs.py -d experiments/TestExp/exp_kth/ --checkpoint checkpoint_epoch_final.pth

Writes ``<exp>/results/plots_<ckpt>/images/img_<i>.png`` and ``img_<i>_gt.png``, the frames that
05_assemble_figs.py reads in ``gif_resources/seq_<i>[_gt]/hier_<h>/img_XX.png``, and (a port addition)
``gifs/seq_<i>.gif``. As the original (it calls ``.train()`` after ``.eval()``), the model runs in training
mode, i.e. with posterior latents that see the future frames; ``--eval_mode_latents`` uses the evaluation
protocol's prior latents instead.
"""

from __future__ import annotations

from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

flags.DEFINE_string("exp_directory", None, "Path to the experiment directory", short_name="d")
flags.DEFINE_string("checkpoint", None, "Checkpoint with pretrained parameters to load (a file in <exp>/models/)")
flags.DEFINE_integer("num_imgs", 5, "Number of images to save")
flags.DEFINE_integer("seed", 13, "Seed of the test-loader shuffle and of the latent draws.")
flags.DEFINE_string("datasets_root", None, "Datasets folder (default: $VIDPRED_DATASETS_DIR or <cwd>/../datasets).")
flags.DEFINE_boolean("eval_mode_latents", False, "Prior latents as in evaluation (the original uses "
                     "train mode).")
flags.DEFINE_boolean("write_gifs", True, "Also write gifs/seq_<i>.gif (ground truth above the prediction).")
flags.mark_flags_as_required(["exp_directory", "checkpoint"])
FLAGS = flags.FLAGS


def main(argv):
    # TensorFlow is imported only now that the flags are parsed: --help and flag errors stay fast and quiet.
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    from vidpred_tf.papers.mspred.evaluation import generate_figures  # noqa: PLC0415
    from vidpred_tf.papers.mspred.experiment import Logger, resolve_exp_directory  # noqa: PLC0415

    del argv
    if FLAGS.num_imgs <= 0:
        raise app.UsageError(f"'--num_imgs' must be > 0. Given value was {FLAGS.num_imgs}...")

    exp_path = resolve_exp_directory(FLAGS.exp_directory)
    logger = Logger(exp_path)
    logger.log_info("Starting figure generation procedure", message_type="new_exp")
    generate_figures(exp_path, FLAGS.checkpoint, num_imgs=FLAGS.num_imgs, seed=FLAGS.seed,
                     datasets_root=FLAGS.datasets_root, training=not FLAGS.eval_mode_latents,
                     write_gifs=FLAGS.write_gifs, log=logger.print_)
    logger.print_("Figures and GIFs have been successfully generated...")

