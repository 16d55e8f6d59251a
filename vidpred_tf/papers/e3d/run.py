"""E3D-LSTM study (kevinstan/video_prediction): ``run.py`` with the original's 33 flags, on the shared trainer.

    python scripts/e3d/run.py --flagfile=flags/e3d/e3d_lstm_mm_train.flags --train_data_paths ...
    vidpred train --paper e3d --flagfile=flags/e3d/e3d_lstm_mm_train.flags --train_data_paths ...

This module is the command: its flags (defined on import) and ``main``; the work is
:mod:`vidpred_tf.papers.e3d.workflow`.

Differences from the original, all deliberate (README, section e3d):
* ``--n_gpu`` is the number of towers/replicas it says (the original forced 4, so its published runs had a
  per-step batch of 4 x --batch_size: pass ``--n_gpu=4`` to reproduce them); towers become a MirroredStrategy
  (GPUs, or logical CPU devices when there is no GPU), gradients summed over towers.
* ``save_dir``, ``gen_frm_dir`` and ``log_dir`` are not wiped at start: a run resumes from its newest
  ``save_dir/model.ckpt-<itr>``. Test mode (``--is_training False``) works (the original crashed).
* ``--log_dir`` is absl's own flag (the original redefined it, which current absl refuses); it names the
  TensorBoard directory (``save_dir`` when empty).
* Booleans may be given as two words (``--layer_norm True``) as the original scripts do; absl alone would
  read ``--reverse_input False`` as True.
* ``--sampling_delta_per_iter`` (passed by every original script, never defined there) is accepted and, as in
  the original, has no effect; ``--sampling_changing_rate`` is the flag that acts.
* The hand-edited knobs of the study are flags: ``--cell_kernel``, ``--eidetic_attention``, ``--l1_weight``,
  ``--l2_weight``, ``--l2_form``, ``--residual_mode``, ``--decoder_trainable``.
"""

from __future__ import annotations

from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

# ------------------------------------------------------------------- the original's flags (same names/defaults)
flags.DEFINE_string("train_data_paths", "", "train data paths (comma-separated).")
flags.DEFINE_string("valid_data_paths", "", "validation data paths (comma-separated).")
flags.DEFINE_string("save_dir", "", "dir to store trained net.")
flags.DEFINE_string("gen_frm_dir", "", "dir to store result.")
# --log_dir: absl.logging defines it already (default ''); it is the TensorBoard directory here.
flags.DEFINE_string("is_training", "True", "training or testing ('True' trains; anything else tests).")
flags.DEFINE_string("dataset_name", "mnist", "The name of dataset (mnist or action).")
flags.DEFINE_integer("input_length", 10, "input length.", lower_bound=1)
flags.DEFINE_integer("total_length", 20, "total input and output length.", lower_bound=1)
flags.DEFINE_integer("img_width", 64, "input image width.", lower_bound=1)
flags.DEFINE_integer("img_channel", 1, "number of image channel.", lower_bound=1)
flags.DEFINE_integer("patch_size", 1, "patch size on one dimension.", lower_bound=1)
flags.DEFINE_boolean("reverse_input", False, "reverse the input/outputs during training (unused, as in the original).")
flags.DEFINE_string("model_name", "e3d_lstm", "The name of the architecture.")
flags.DEFINE_string("pretrained_model", "", ".ckpt file to initialize from (original TF1 or port checkpoint).")
flags.DEFINE_string("num_hidden", "64,64,64,64", "COMMA separated number of units of e3d lstms.")
flags.DEFINE_integer("filter_size", 5, "filter of a e3d lstm layer (unused, as in the original).")
flags.DEFINE_boolean("layer_norm", True, "whether to apply tensor layer norm.")
flags.DEFINE_boolean("scheduled_sampling", True, "for scheduled sampling.")
flags.DEFINE_integer("sampling_stop_iter", 50000, "for scheduled sampling.")
flags.DEFINE_float("sampling_start_value", 1.0, "for scheduled sampling.")
flags.DEFINE_float("sampling_changing_rate", 0.00002, "for scheduled sampling.")
flags.DEFINE_float("lr", 0.001, "learning rate.")
flags.DEFINE_integer("batch_size", 8, "batch size for training (per tower).", lower_bound=1)
flags.DEFINE_integer("max_iterations", 80000, "max num of steps.")
flags.DEFINE_integer("display_interval", 1, "number of iters showing training loss.")
flags.DEFINE_integer("test_interval", 1000, "number of iters for test.")
flags.DEFINE_integer("snapshot_interval", 1000, "number of iters saving models.")
flags.DEFINE_integer("log_interval", 1, "number of iters writing TensorBoard summaries.")
flags.DEFINE_integer("num_save_samples", 10, "number of sequences to be saved.")
flags.DEFINE_integer("n_gpu", 1, "how many towers (GPUs, or CPU devices without GPU) to train on.", lower_bound=1)
flags.DEFINE_boolean("allow_gpu_growth", True, "allow gpu growth.")
flags.DEFINE_string("model_graph", "model", "unused, as in the original.")

# ------------------------------------------------------------------------------------- accepted aliases
flags.DEFINE_float("sampling_delta_per_iter", None,
                   "Passed by every original script but never defined there, so it had no effect: accepted and "
                   "ignored the same way (the published runs used --sampling_changing_rate's 0.00002).")

# -------------------------------------------------------------- the knobs the author changed by editing code
flags.DEFINE_string("cell_kernel", None, "Cell kernel, e.g. '2,5,5' or '1,5,5' (3-D) or '5,5' (2-D); "
                    "default: the model's kernel at HEAD.")
flags.DEFINE_string("eidetic_attention", None, "True/False: the recall attention over the cell history "
                    "(default: on for 3-D models, off for the 2-D models, which only build without it).")
flags.DEFINE_float("l1_weight", None, "Weight of the l1 term (default 1).")
flags.DEFINE_float("l2_weight", None, "Weight of the l2 term (default 1).")
flags.DEFINE_enum("l2_form", None, ["half_sum_sq", "sum_sq", "norm"],
                  "l2 term: 0.5*sum(d^2) (tf.nn.l2_loss), sum(d^2) or sqrt(sum(d^2)); default per model.")
flags.DEFINE_enum("residual_mode", None, ["none", "add_layer2_and_decoder", "add_all", "concat_all"],
                  "Residual wiring between layers; default per model.")
flags.DEFINE_boolean("propagate_memory", False, "Opt-in fix of the original's global-memory bug (its cell returns "
                     "the memory it was given, so the memory never changes): pass the updated memory between layers "
                     "and steps (changes the model).")
flags.DEFINE_boolean("keep_ema", False, "Keep exponential moving averages (0.9995) of the weights in the "
                     "optimizer, as the original did (saved with the checkpoints, never used for evaluation).")
flags.DEFINE_string("decoder_trainable", "auto", "True/False, or auto: frozen when --pretrained_model is set "
                    "(except original_e3d_lstm_residuals), as the original.")

# ------------------------------------------------------------------------------------ port-only flags
flags.DEFINE_string("strategy", "auto", "auto|one_device|mirrored|multi_worker; with auto, --n_gpu > 1 "
                    "mirrors over that many devices.")
flags.DEFINE_integer("seed", 0, "Seed of initialisation, shuffling and the scheduled-sampling draws.")
flags.DEFINE_boolean("jit_compile", False, "XLA-compile the training step.")
flags.DEFINE_boolean("enforce_decoder_width_64", True, "2-D models: refuse a decoder input other than the "
                     "original's hard-coded 64 channels per layer (False: use the actual width of --num_hidden).")
flags.DEFINE_boolean("use_ema", False, "With an original checkpoint: load the ExponentialMovingAverage shadows.")

FLAGS = flags.FLAGS


def _towers_on_cpu(tf, n_gpu: int) -> None:
    """Split the CPU into ``n_gpu`` logical devices when there is no GPU, before TensorFlow starts."""
    if n_gpu > 1 and not tf.config.list_physical_devices("GPU"):
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n_gpu)


def main(argv):
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    # TensorFlow, and the workflow that imports it, load only here, once the flags have parsed (--help and usage
    # errors stay quick), and the CPU is split into towers before anything starts TensorFlow's devices.
    import tensorflow as tf  # noqa: PLC0415

    _towers_on_cpu(tf, FLAGS.n_gpu)
    from vidpred_tf.papers.e3d import workflow  # noqa: PLC0415

    workflow.run(FLAGS)
