"""MSPred 01_create_experiment.py: a new experiment directory with its experiment_params.json.

    python scripts/mspred/01_create_experiment.py -d TestExp --name exp_mmnist --config mmnist

Creates ``experiments/<-d>/<--name>/`` (under the current directory, as the original) with
``experiment_params.json``, ``logs.txt``, ``plots/`` and ``tboard_logs/``. ``--config`` names a shipped config
(mmnist, kth, synpick; ".json" optional) or a json file; without it the DEFAULTS are used (with
``model.model_type`` and ``training.patience`` added, which the original's DEFAULTS lack, so they can be
trained). An existing experiment is never overwritten (exit status 1). Unlike the original, the terminal is not
cleared.
"""

from __future__ import annotations

import sys

from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

flags.DEFINE_string("exp_directory", None, "Directory (under experiments/) where the experiment folder will be "
                    "created.", short_name="d")
flags.DEFINE_string("name", None, "Name to give to the experiment (default: experiment_<timestamp>).")
flags.DEFINE_string("config", None, "Name of the predetermined config to use (mmnist, kth, synpick) or a json "
                    "file; default: the DEFAULTS.")
flags.mark_flag_as_required("exp_directory")
FLAGS = flags.FLAGS


def main(argv):
    # TensorFlow is imported only now that the flags are parsed: --help and flag errors stay fast and quiet.
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    from vidpred_tf.papers.mspred.experiment import create_experiment  # noqa: PLC0415

    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")

    try:
        exp_path = create_experiment(FLAGS.exp_directory, FLAGS.name, FLAGS.config)
    except FileExistsError as err:
        print(err, file=sys.stderr)
        sys.exit(1)
    except (FileNotFoundError, ValueError) as err:
        raise app.UsageError(str(err)) from err
    print(f"Created experiment {exp_path}", flush=True)

