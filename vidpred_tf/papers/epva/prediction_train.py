"""EPVA ``prediction_train.py`` with the original's flags, on the shared trainer.

    python scripts/epva/prediction_train.py --flagfile=flags/epva/train_human_epva_multi_gpu.flags \\
        --data_dir data/human --event_log_dir logs/human_epva

This module is the command (its flags, defined on import, and ``main``); the work is
:mod:`vidpred_tf.papers.epva.training`.

Differences from the original, all deliberate (README, section epva):
* ``--enc_size_set`` and ``--pred_learning_rate_map`` (used by the original README but never defined, so the
  original silently ignored them and ran with enc_size 64 and pred_learning_rate 3e-4) are accepted as aliases of
  ``--enc_size`` / ``--pred_learning_rate``, with a warning line.
* Warm start is explicit: ``--epv_pretrain_ckpt`` keeps its default (the published EPVA human model on GCS), but
  what is restored is printed, and a checkpoint that cannot be read is one error line naming the flag instead of
  a silent warm start; pass ``--epv_pretrain_ckpt ''`` to train from scratch.
* ``--imgnet_pretrain`` reads the slim ImageNet VGG16 checkpoint named by the port-only ``--vgg16_checkpoint``.
* ``--model_mode individual`` needs ``--enc_size 12`` (the original crashes with a NameError otherwise).
* epva_gan trains the generator on calls 0, 6, 12... (read-then-increment; the original raced).
"""

from __future__ import annotations

from absl import app, flags

from vidpred_tf.errors import InputError
from vidpred_tf.quiet import import_tensorflow_quietly

# The original's model modes (vidpred_tf.models.epva.config.MODES); repeated here so that flag checks need no
# TensorFlow import.
MODEL_MODES = ("individual", "epva", "epva_gan", "e2epose_oneop", "e2epose_sepop", "e2e")
RUN_MODES = ("train", "eval")
DATASET_TYPES = ("human", "robot")
DEFAULT_EPV_PRETRAIN_CKPT = "gs://unsupervised-hierarch-video/pretrained_models/epva_human/"
DEFAULT_VGG16_CHECKPOINT = "gs://unsupervised-hierarch-video/pretrained_models/vgg_16.ckpt"
# README flag name -> the flag it means.
FLAG_ALIASES = {"enc_size_set": "enc_size", "pred_learning_rate_map": "pred_learning_rate"}

flags.DEFINE_string("model_mode", "e2e", "Mode to run in. Possible values: 'individual', 'epva', 'epva_gan', "
                    "'e2epose_oneop', 'e2epose_sepop', 'e2e'")
flags.DEFINE_integer("pose_dim", 5, "Dimension of the end effector pose.")
flags.DEFINE_integer("joint_pos_dim", 7, "Dimension of the joint positions.")
flags.DEFINE_bool("prefetch_enabled", True, "Boolean to enable/disable prefetching (TPU input only; unused)")
flags.DEFINE_integer("prefetch_dataset_buffer_size", 256 * 1024 * 1024, "Number of bytes in read buffer (unused)")
flags.DEFINE_integer("cycle_length", 64, "Files read concurrently (TPU input only; unused)")
flags.DEFINE_integer("block_length", None, "Consecutive elements per input element (unused)")
flags.DEFINE_integer("num_parallel_calls", 128, "Elements processed in parallel by the reader's map")
flags.DEFINE_integer("initial_shuffle_buffer_size", 1024, "File shuffle buffer (TPU input only; unused)")
flags.DEFINE_integer("followup_shuffle_buffer_size", 128, "Record shuffle buffer (TPU input only; unused)")
flags.DEFINE_float("enc_keep_prob", 1.0, "Dropout keep prob for the encoder (applied in eval too).")
flags.DEFINE_float("van_keep_prob", 1.0, "Dropout keep prob for the VAN (applied in eval too).")
flags.DEFINE_float("enc_noise_stddev", 0, "Noise between the encoder and VAN")
flags.DEFINE_bool("is_training", False, "Passed to the VGG encoder (no effect); the original built no train op "
                  "without it, the port requires it for --run_mode train")
flags.DEFINE_bool("enc_pred_use_l1_loss", False, "True to use l1 loss between the encoder and predictor instead "
                  "of l2")
flags.DEFINE_bool("color_data_augment", False, "Set to true to augment the data by randomly changing the hue.")
flags.DEFINE_bool("encoder_grey_in", False, "True to convert the encoder input to grey scale.")
flags.DEFINE_integer("enc_size", 64, "The size of the higher level structure.")
flags.DEFINE_float("pred_noise_std", 0.0, "The noise to be fed as additional input to the predictor.")
flags.DEFINE_integer("discrim_steps_per_pred", 5, "Number of times to train the discrim for each train of the "
                     "predictor.")
flags.DEFINE_bool("use_wgan", True, "True: Wgan, False: Regular gan")
flags.DEFINE_integer("discrim_context", 1, "The number of context frames to feed into the discrim.")
flags.DEFINE_integer("sequence_length", 10, "sequence length, including context frames.")
flags.DEFINE_integer("skip_num", 1, "Number of frames to skip when reading input")
flags.DEFINE_string("dataset_type", "human", "Controls how data is read in the input pipeline. Possible values: "
                    "'robot', 'human'")
flags.DEFINE_string("data_dir", "gs://unsupervised-hierarch-video/data", "directory containing data.")
flags.DEFINE_string("model_dir", "", "directory for model checkpoints (read by --run_mode eval).")
flags.DEFINE_string("event_log_dir", "", "directory for writing summary (training also writes its checkpoints "
                    "here, as the original).")
flags.DEFINE_integer("train_steps", 4800000, "Number of steps use for training (epva_gan: generator steps).")
flags.DEFINE_integer("iterations", 100, "Number of iterations per TPU training loop (unused).")
flags.DEFINE_integer("num_shards", 8, "Number of shards (TPU chips; unused).")
flags.DEFINE_integer("context_frames", 2, "# of frames before predictions.")
flags.DEFINE_string("data_pattern", "*train*", "glob of the TFRecord files inside --data_dir")
flags.DEFINE_integer("batch_size", 8, "Global batch size on TPU. Per worker batch size on GPU")
flags.DEFINE_bool("imgnet_pretrain", False, "Whether to pretrain the encoder on imagenet (from "
                  "--vgg16_checkpoint; only when --epv_pretrain_ckpt is empty).")
flags.DEFINE_string("epv_pretrain_ckpt", DEFAULT_EPV_PRETRAIN_CKPT, "Checkpoint to warm start the encoder, "
                    "predictor and VAN from; '' to train from scratch.")
flags.DEFINE_bool("per_host_input_for_training", True, "TPU only (unused).")
flags.DEFINE_float("enc_learning_rate", 1e-5, "Used when the encoder is trained separately.")
flags.DEFINE_float("pred_learning_rate", 3e-4, "Used when the predictor is trained separately.")
flags.DEFINE_float("van_learning_rate", 3e-5, "Used when the VAN is trained separately.")
flags.DEFINE_float("discrim_learning_rate", 1e-2, "Used for the discriminator in epva_gan mode.")
flags.DEFINE_float("all_learning_rate", 1e-5, "Used when multiple parts are trained together.")
flags.DEFINE_float("enc_pred_loss_scale", 1e-2, "The scale of the encoder and predictor loss.")
flags.DEFINE_float("lstm_state_noise_stddev", 0, "Noise to add to the lstm states in between predictions.")
flags.DEFINE_float("enc_pred_loss_scale_delay", 0, "Number of steps for the scale to reach half of its maximum.")
flags.DEFINE_bool("enc_pred_use_l2norm", False, "Use the L2 norm of the encoder and predictor in epva mode.")
flags.DEFINE_float("pose_weight", 1, "The weight of the pose loss in the e2e with pose method.")
flags.DEFINE_float("van_r_weight", 0.01, "The weight of the VAN regularization loss (unused, as the original).")
flags.DEFINE_float("clip_gradient_norm", 0, "> 0: clip each gradient tensor to this norm (per tensor, as slim)")
flags.DEFINE_bool("use_tpu", False, "Use TPUs rather than GPU (not supported by the port)")
flags.DEFINE_bool("use_estimator", False, "True to use tf.estimator. False for slim (the port has one trainer).")
flags.DEFINE_string("run_mode", "train", "Mode to run in. Possbile values: 'train', 'eval'")
flags.DEFINE_integer("ps_tasks", 0, "The number of parameter servers (unused).")
flags.DEFINE_integer("save_summary_steps", 100, "The frequency with which summaries are saved (Estimator only; "
                     "unused)")
flags.DEFINE_integer("save_checkpoints_secs", 60, "The frequency with which the model is saved, in seconds "
                     "(summaries every half of it; eval polls at this interval).")
flags.DEFINE_integer("task", 0, "Task id of the replica running the training.")
flags.DEFINE_string("master", "", "BNS name of the TensorFlow master to use (unused).")
flags.DEFINE_integer("startup_delay_secs", 15, "Seconds of startup delay per task id.")
flags.DEFINE_bool("use_image_summary", True, "Whether or not to add the image summary to the graph.")
flags.DEFINE_bool("debug", False, "Whether to use tf dbg (unused).")
flags.DEFINE_bool("use_legacy_vars", False, "Use outdated tf.Variable instead of tf.get_variable.")

# ------------------------------------------------------------------------------------ README aliases
flags.DEFINE_integer("enc_size_set", None, "alias of --enc_size (the flag name the original README uses)")
flags.DEFINE_float("pred_learning_rate_map", None, "alias of --pred_learning_rate (the flag name the original "
                   "README uses)")

# ------------------------------------------------------------------------------------ port-only flags
flags.DEFINE_string("vgg16_checkpoint", DEFAULT_VGG16_CHECKPOINT, "slim ImageNet vgg_16 checkpoint read by "
                    "--imgnet_pretrain")
flags.DEFINE_string("strategy", "auto", "tf.distribute strategy: auto, one_device, mirrored, multi_worker")
flags.DEFINE_integer("seed", 0, "seeds initialisation, data order and every random draw")
flags.DEFINE_bool("eval_once", False, "--run_mode eval: evaluate the newest checkpoint once and stop instead of "
                  "waiting for new ones")
flags.DEFINE_integer("log_every", 100, "progress line (steps/s, ETA), loss scalars and GIF summaries every this "
                     "many trainer calls")
flags.DEFINE_integer("van_first_depth", 64, "width of the VAN's first conv (the original hard-codes 64; smaller "
                     "for tests)")
flags.DEFINE_integer("vgg_width_divisor", 1, "divides every VGG16 encoder width (the original: 1; larger for "
                     "tests; a warm start needs 1)")

FLAGS = flags.FLAGS


def resolve_aliases(values, say=print) -> None:
    """Copy each README alias that was given onto the flag it means, with a warning line."""
    for alias, target in FLAG_ALIASES.items():
        value = getattr(values, alias)
        if value is None:
            continue
        say(f"warning: --{alias}={value} is read as --{target}={value} (the original ignored --{alias} and "
            f"kept --{target}={getattr(values, target)})")
        setattr(values, target, value)
        setattr(values, alias, None)


def check_flags(values) -> None:
    """One clear line for the flag combinations the port rejects."""
    for name, allowed in (("model_mode", MODEL_MODES), ("run_mode", RUN_MODES), ("dataset_type", DATASET_TYPES)):
        if getattr(values, name) not in allowed:
            raise InputError(f"--{name}={getattr(values, name)!r} is not one of {', '.join(allowed)}")
    if values.model_mode == "individual" and values.enc_size != 12:
        raise InputError(f"--model_mode=individual needs --enc_size=12 (the pose-sized code), got "
                         f"--enc_size={values.enc_size} (the original crashes with a NameError here)")
    if values.use_tpu:
        raise InputError("--use_tpu: TPU training is not supported by the port; use --strategy")
    if values.run_mode == "train" and not values.is_training:
        raise InputError("--run_mode=train needs --is_training (the original builds no train op without it)")
    if values.run_mode == "train" and not values.event_log_dir:
        raise InputError("--event_log_dir is required: training writes its checkpoints and summaries there")
    if values.run_mode == "eval" and not values.model_dir:
        raise InputError("--model_dir is required with --run_mode=eval: it is where the checkpoints are read")
    if values.discrim_steps_per_pred < 0:
        raise InputError(f"--discrim_steps_per_pred={values.discrim_steps_per_pred} must be >= 0")


def _readable_checkpoint(path: str):
    """The checkpoint prefix ``path`` names (a folder with a ``checkpoint`` file, or a prefix), else None."""
    import tensorflow as tf  # noqa: PLC0415  (TensorFlow loads once the flags have parsed)

    try:
        if tf.io.gfile.isdir(path):
            return tf.train.latest_checkpoint(path)
        return path if tf.io.gfile.exists(path + ".index") else None
    except (tf.errors.OpError, OSError):  # unreachable remote file systems (gs:// without network)
        return None


def warm_start_source(values, say=print):
    """What ``--run_mode train`` warm-starts from, said in one line: ``("epva", prefix)``, ``("vgg16", prefix)`` or
    None. The original restored ``--epv_pretrain_ckpt`` silently (and by default); a checkpoint that cannot be read
    is one error line naming the flag."""
    if values.epv_pretrain_ckpt:
        prefix = _readable_checkpoint(values.epv_pretrain_ckpt)
        if prefix is None:
            default = (" (the default: the original's published EPVA human model; download it and pass its local "
                       "folder)" if values.epv_pretrain_ckpt == DEFAULT_EPV_PRETRAIN_CKPT else "")
            raise InputError(f"--epv_pretrain_ckpt={values.epv_pretrain_ckpt}: no checkpoint can be read there"
                             f"{default}; pass --epv_pretrain_ckpt='' to train without a warm start")
        say(f"warm start: encoder, predictor and VAN from {prefix} (--epv_pretrain_ckpt)")
        return "epva", prefix
    if values.imgnet_pretrain:
        prefix = _readable_checkpoint(values.vgg16_checkpoint)
        if prefix is None:
            raise InputError(f"--vgg16_checkpoint={values.vgg16_checkpoint}: no checkpoint can be read there "
                             f"(needed by --imgnet_pretrain: slim's ImageNet vgg_16.ckpt)")
        say(f"warm start: encoder VGG16 from {prefix} (--imgnet_pretrain, --vgg16_checkpoint)")
        return "vgg16", prefix
    say("no warm start: --epv_pretrain_ckpt is empty and --imgnet_pretrain is off")
    return None


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    resolve_aliases(FLAGS)
    check_flags(FLAGS)
    import_tensorflow_quietly()
    from vidpred_tf.papers.epva import training  # noqa: PLC0415  (TensorFlow loads once the flags have parsed)

    warm_start = warm_start_source(FLAGS) if FLAGS.run_mode == "train" else None
    training.run(FLAGS, warm_start=warm_start)


if __name__ == "__main__":
    app.run(main)
