"""MSPred aux_update_exp_params.py: add the keys missing from an experiment's json with their DEFAULTS values.

    python scripts/mspred/aux_update_exp_params.py -d experiments/TestExp/exp_mmnist/

Fills the dataset, model, training and loss groups (one nested level deep), keeping every existing value, and
rewrites ``experiment_params.json`` atomically. ``--checkpoint`` and ``--resume_training`` are accepted, as the
original's shared parser has them, and ignored.
"""

from __future__ import annotations

import os

from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

flags.DEFINE_string("exp_directory", None, "Path to the experiment directory.", short_name="d")
flags.DEFINE_string("checkpoint", None, "Accepted and ignored (the original's shared parser).")
flags.DEFINE_boolean("resume_training", False, "Accepted and ignored (the original's shared parser).")
flags.mark_flag_as_required("exp_directory")
FLAGS = flags.FLAGS


def main(argv):
    # TensorFlow is imported only now that the flags are parsed: --help and flag errors stay fast and quiet.
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    from vidpred_tf.papers.mspred.experiment import aux_update_exp_params, resolve_exp_directory  # noqa: PLC0415

    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")

    try:
        exp_path = resolve_exp_directory(FLAGS.exp_directory)
        aux_update_exp_params(exp_path)
    except (FileNotFoundError, ValueError) as err:
        raise app.UsageError(str(err)) from err
    print(f"Updated {os.path.join(exp_path, 'experiment_params.json')}", flush=True)

