r"""MSPred 02_train.py: train the model of an experiment on the shared trainer.

    python scripts/mspred/02_train.py -d experiments/TestExp/exp_mmnist/
    python scripts/mspred/02_train.py -d experiments/TestExp/exp_mmnist/ --checkpoint checkpoint_last_saved.pth \
        --resume_training

Each epoch: validation first, then the whole training set, then the LR/beta schedulers, then the checkpoints in
``<exp>/models/`` (``checkpoint_last_saved``, ``checkpoint_epoch_<e>``, ``checkpoint_epoch_final``, and
``emergency_checkpoint_epoch_<e>`` on an exception or Ctrl-C). TensorBoard logs go to
``<exp>/tboard_logs/tboard_<timestamp>`` with the original's tags; validation figures to
``<exp>/plots/valid_plots/images``.

``--checkpoint NAME`` loads ``models/NAME`` (".pth" optional; an original PyTorch ``.pth`` file of that exact name
is converted): the weights only (fine-tuning), or with ``--resume_training`` also the optimizer, the scheduler
and the epoch; training then continues with the next epoch (the original repeated the saved epoch).
``--resume_training`` alone resumes from ``checkpoint_last_saved``. Port-only: ``--strategy``, ``--seed``,
``--progress_seconds``.
"""

from __future__ import annotations

from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

flags.DEFINE_string("exp_directory", None, "Path to the experiment directory (relative paths are taken under "
                    "experiments/; a leading experiments/ is stripped).", short_name="d")
flags.DEFINE_string("checkpoint", None, "Checkpoint in <exp>/models/ with pretrained parameters to load.")
flags.DEFINE_boolean("resume_training", False, "Resume training: also restore optimizer, scheduler and epoch.")
flags.DEFINE_string("strategy", "auto", "auto|one_device|mirrored|multi_worker (vidpred_tf.training.make_strategy).")
flags.DEFINE_integer("seed", 13, "Random seed (the original's CONFIG random_seed).")
flags.DEFINE_float("progress_seconds", 30.0, "Print a progress line (iteration, steps/s, ETA) at most this often "
                   "during a training epoch (the original's tqdm bar); negative: never. TensorBoard is unaffected.")
flags.mark_flag_as_required("exp_directory")
FLAGS = flags.FLAGS


def main(argv):
    # TensorFlow is imported only now that the flags are parsed: --help and flag errors stay fast and quiet.
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    from vidpred_tf.papers.mspred import checkpoints  # noqa: PLC0415
    from vidpred_tf.papers.mspred.experiment import Logger, resolve_exp_directory  # noqa: PLC0415
    from vidpred_tf.papers.mspred.training import MSPredTraining  # noqa: PLC0415
    from vidpred_tf.training import make_strategy  # noqa: PLC0415

    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")

    # Bad input (experiment, parameters, checkpoint, data) is an InputError: one line 'PROG: error: ...' from
    # cli.run, raised before anything is written (the log lines are held until MSPredTraining has checked them).
    exp_path = resolve_exp_directory(FLAGS.exp_directory)
    if FLAGS.checkpoint:
        checkpoints.resolve_checkpoint(exp_path, FLAGS.checkpoint)
    try:
        strategy = make_strategy(FLAGS.strategy)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    logger = Logger(exp_path, hold=True)
    logger.log_info("Starting training procedure", message_type="new_exp")
    logger.print_("Initializing Trainer...")
    training = MSPredTraining(exp_path, checkpoint=FLAGS.checkpoint, resume_training=FLAGS.resume_training,
                              strategy=strategy, seed=FLAGS.seed, logger=logger,
                              progress_every_s=FLAGS.progress_seconds)
    logger.print_("Starting to train")
    result = training.train()
    print(f"Finished at step {result.step} ({result.status})", flush=True)

