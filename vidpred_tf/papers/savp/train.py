"""SAVP ``scripts/train.py`` with the original's flags, on the shared trainer.

    python scripts/savp/train.py --input_dir data/bair --dataset bair --model savp \\
        --model_hparams_dict flags/savp/hparams/bair_action_free/ours_savp/model_hparams.json \\
        --output_dir logs/bair_action_free/ours_savp
    python scripts/savp/train.py --flagfile=flags/savp/train_bair_action_free_ours_savp.flags
    vidpred train --paper savp --flagfile=flags/savp/train_kth_ours_savp.flags

This module is the command (its flags, defined on import, and ``main``); the work is
:mod:`vidpred_tf.papers.savp.training`.

Differences from the original, all deliberate (README, section savp):
* Towers become the trainer's ``tf.distribute`` strategy: all visible GPUs (a MirroredStrategy) as the
  original's towers over ``CUDA_VISIBLE_DEVICES``; ``--aggregate_nccl 1`` selects NCCL all-reduce, 0 the
  reduction on one device (the original's CPU averaging). Checkpoints hold one copy of each variable either way.
* Checkpoints are the trainer's TF2 checkpoints ``model-<step>`` (max 2 kept, as the Saver), with the optimiser
  slots and the step; ``--checkpoint`` also takes an original TF1 checkpoint (folder or prefix), whose weights
  are loaded through :mod:`vidpred_tf.convert.savp` (fine-tuning from the published models).
* ``--gpu_mem_frac`` caps the GPU memory through a logical-device limit (TF2 has no per-process fraction).
* A killed run resumes with ``--resume`` (as the original) from its newest checkpoint.
"""

from __future__ import annotations

from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

flags.DEFINE_string("input_dir", None, "either a directory containing subdirectories train, val, test, etc, or a "
                    "directory containing the tfrecords")
flags.DEFINE_string("val_input_dir", None, "directories containing the tfrecords. default: input_dir")
flags.DEFINE_string("logs_dir", "logs", "ignored if output_dir is specified")
flags.DEFINE_string("output_dir", None, "output directory where json files, summary, model, gifs, etc are saved. "
                    "default is logs_dir/model_fname, where model_fname consists of information from model and "
                    "model_hparams")
flags.DEFINE_string("output_dir_postfix", "", "appended to the output directory")
flags.DEFINE_string("checkpoint", None, "directory with checkpoint or checkpoint name (e.g. "
                    "checkpoint_dir/model-200000); an original TF1 checkpoint is converted on the fly")
flags.DEFINE_boolean("resume", False, "resume from lastest checkpoint in output_dir.")
flags.DEFINE_string("dataset", None, "dataset class name")
flags.DEFINE_string("dataset_hparams", None, "a string of comma separated list of dataset hyperparameters")
flags.DEFINE_string("dataset_hparams_dict", None, "a json file of dataset hyperparameters")
flags.DEFINE_string("model", None, "model class name")
flags.DEFINE_string("model_hparams", None, "a string of comma separated list of model hyperparameters")
flags.DEFINE_string("model_hparams_dict", None, "a json file of model hyperparameters")
flags.DEFINE_integer("summary_freq", 1000, "save frequency of summaries (except for image and eval summaries) for "
                     "train/validation set")
flags.DEFINE_integer("image_summary_freq", 5000, "save frequency of image summaries for train/validation set")
flags.DEFINE_integer("eval_summary_freq", 25000, "save frequency of eval summaries for train/validation set")
flags.DEFINE_integer("accum_eval_summary_freq", 100000, "save frequency of accumulated eval summaries for "
                     "validation set only")
flags.DEFINE_integer("progress_freq", 100, "display progress every progress_freq steps")
flags.DEFINE_integer("save_freq", 5000, "save frequence of model, 0 to disable")
flags.DEFINE_integer("aggregate_nccl", 0, "whether to use nccl or cpu for gradient aggregation in multi-gpu "
                     "training")
flags.DEFINE_float("gpu_mem_frac", 0, "fraction of gpu memory to use")
flags.DEFINE_integer("seed", None, "seeds initialisation, data order and every random draw")

# ------------------------------------------------------------------------------------ port-only flags
flags.DEFINE_integer("max_steps", None, "stop after this many steps (default: the model's max_steps hparam)")
flags.DEFINE_integer("eval_num_samples", 100, "samples per example of the eval summaries' best-of-N (the "
                     "original's eval_num_samples)")
flags.DEFINE_boolean("jit_compile", False, "XLA-compile the training step where the update order allows it")
flags.DEFINE_integer("checkpoint_every_s", None, "also checkpoint every this many seconds (a kill loses at most "
                     "that much training)")

FLAGS = flags.FLAGS


def main(argv):
    import_tensorflow_quietly()
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not FLAGS.input_dir:
        raise app.UsageError("--input_dir is required")
    from vidpred_tf.papers.savp import training  # noqa: PLC0415  (TensorFlow loads once the flags have parsed)

    training.run(FLAGS)
