"""E3D-LSTM study (kevinstan/video_prediction): ``run.py`` with the original's 33 flags, on the shared trainer.

    python scripts/e3d/run.py --flagfile=flags/e3d/e3d_lstm_mm_train.flags --train_data_paths ... 

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

import os
import sys

from absl import app, flags, logging

from vidpred_tf.errors import InputError
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
flags.DEFINE_boolean("propagate_memory", False, "Opt-in fix of the original's global-memory bug (Q1): pass the "
                     "memory between layers and steps instead of returning the input memory (changes the model).")
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


def _towers_on_cpu(n_gpu: int) -> None:
    """Split the CPU into ``n_gpu`` logical devices when there is no GPU, before TensorFlow starts."""
    import tensorflow as tf

    if n_gpu > 1 and not tf.config.list_physical_devices("GPU"):
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n_gpu)


def _strategy():
    import tensorflow as tf

    from vidpred_tf.training import make_strategy

    if FLAGS.allow_gpu_growth:
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    if FLAGS.strategy == "auto" and FLAGS.n_gpu == 1:
        return make_strategy("one_device")  # one tower, as --n_gpu says, even on a multi-GPU host
    if FLAGS.strategy == "auto" and FLAGS.n_gpu > 1:
        kind = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
        devices = [d.name for d in tf.config.list_logical_devices(kind)]
        if len(devices) < FLAGS.n_gpu:
            raise app.UsageError(f"--n_gpu={FLAGS.n_gpu} but only {len(devices)} {kind} device(s) are visible")
        return make_strategy("mirrored", devices=devices[:FLAGS.n_gpu])
    return make_strategy(FLAGS.strategy)


def _is_port_checkpoint(prefix: str) -> bool:
    from vidpred_tf.checkpoint_check import checkpoint_reader

    _, names = checkpoint_reader(prefix, what="--pretrained_model")  # InputError: missing or not a checkpoint
    return "_CHECKPOINTABLE_OBJECT_GRAPH" in names


def _weights_loader(prefix: str):
    """``(model, announce=True) -> None`` restoring ``prefix``: an original TF1 checkpoint (converter) or a port
    checkpoint; ``InputError`` naming the file when it is unreadable or does not fit the model."""
    from vidpred_tf.checkpoint_check import check_model_checkpoint
    from vidpred_tf.convert.e3d import load_original_checkpoint
    from vidpred_tf.training.checkpoint import restore_model_weights

    if not prefix:
        return None
    if _is_port_checkpoint(prefix):
        def load(model, announce=True):
            check_model_checkpoint(model, prefix, what="--pretrained_model")
            restore_model_weights(model, prefix)
            if announce:
                print(f"Restored port checkpoint {prefix}", flush=True)
    else:
        def load(model, announce=True):
            report = load_original_checkpoint(model, prefix, use_ema=FLAGS.use_ema)
            if announce:
                print(f"Restored original checkpoint {prefix} ({report})", flush=True)
    return load


def _check_loader(load, config) -> None:
    """Run ``load`` on a scratch model, so that a misfit or truncated ``--pretrained_model`` is refused before
    the run writes anything (the task loads it again into the model it trains)."""
    if load is None:
        return
    from vidpred_tf.models.e3d.model import build_model

    load(build_model(config), announce=False)


def _open_data(split: str, batch_size: int, shuffle: bool, seed: int):
    """``(handle, frame_shape)`` of the original's data handle of ``split``, read and checked against the flags
    (``InputError`` naming the file or flag); :func:`_dataset` makes it a tf.data dataset."""
    from vidpred_tf.data.moving_mnist.e3d_npz import open_e3d_npz
    from vidpred_tf.data.kth.e3d_frames import open_kth_frames

    if FLAGS.dataset_name == "mnist":
        flag = "train_data_paths" if split == "train" else "valid_data_paths"
        paths = FLAGS[flag].value
        if not paths:
            raise InputError(f"--{flag} is empty")
        opened = open_e3d_npz(paths, batch_size=batch_size, seq_length=FLAGS.total_length, shuffle=shuffle,
                              seed=seed)
    elif FLAGS.dataset_name == "action":
        # As the original: both KTH splits come from the first --valid_data_paths root.
        flag, paths = "valid_data_paths", FLAGS.valid_data_paths
        if not paths:
            raise InputError("--valid_data_paths (the KTH frame root) is empty")
        opened = open_kth_frames(paths, split=split, image_width=FLAGS.img_width, seq_length=FLAGS.total_length,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed)
    else:
        raise InputError(f"--dataset_name={FLAGS.dataset_name!r}: choose mnist or action")
    _, height, width, channels = opened[1]
    if (height, width) != (FLAGS.img_width, FLAGS.img_width):
        raise InputError(f"--img_width={FLAGS.img_width}: the frames of --{flag}={paths} are {height}x{width} "
                         f"(height x width); pass --img_width={width} for square frames of that size")
    if channels != FLAGS.img_channel:
        raise InputError(f"--img_channel={FLAGS.img_channel}: the frames of --{flag}={paths} have {channels} "
                         "channel(s)")
    return opened


def _dataset(opened, shuffle: bool, epochs, seed=None):
    """The original's batches of an opened handle as a tf.data dataset of ``{"images": [batch, T, H, W, C]}``;
    shuffled, from a fresh copy of the handle (its own order and ``random.Random(seed)``, as a handle just
    opened), so every dataset made reads the same sequence of batches."""
    import copy
    import random

    from vidpred_tf.data.moving_mnist.e3d_npz import original_batch_dataset

    handle, frame_shape = opened
    if shuffle:
        handle = copy.copy(handle)
        handle.indices = copy.copy(handle.indices)
        handle.rng, handle.position = random.Random(seed), 0
    return original_batch_dataset(handle, frame_shape, shuffle=shuffle, epochs=epochs)


class _Evaluator:
    """The original's test pass; the test data and the compiled predict function are made once per run."""

    def __init__(self, model, config, num_towers: int, opened):
        from vidpred_tf.papers.e3d.evaluation import model_predict_fn

        self.num_towers = num_towers
        self.dataset = _dataset(opened, False, 1)
        self.predict = model_predict_fn(model, config)

    def __call__(self, save_name, summaries=None, step: int = 0):
        return _evaluate(self.predict, self.dataset, self.num_towers, save_name, summaries, step)


def _evaluate(predict, dataset, num_towers: int, save_name, summaries=None, step: int = 0):
    from vidpred_tf.papers.e3d.evaluation import evaluate

    batches = (b["images"] for b in dataset.as_numpy_iterator())
    result = evaluate(predict, batches, input_length=FLAGS.input_length,
                      total_length=FLAGS.total_length, patch_size=FLAGS.patch_size, batch_size=FLAGS.batch_size,
                      num_towers=num_towers, gen_frm_dir=FLAGS.gen_frm_dir or None, save_name=str(save_name),
                      num_save_samples=FLAGS.num_save_samples)
    if summaries is not None:
        summaries.scalars(result.scalars(), step, prefix="test/")
    return result


def main(argv):
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    _towers_on_cpu(FLAGS.n_gpu)
    from vidpred_tf.models.e3d.config import E3DConfig
    from vidpred_tf.models.e3d.model import build_model
    from vidpred_tf.models.e3d.sampling import SamplingConfig
    from vidpred_tf.models.e3d.task import E3DTask
    from vidpred_tf.training import Evaluation, Trainer, TrainerConfig

    if FLAGS.sampling_delta_per_iter is not None:
        logging.warning("--sampling_delta_per_iter=%s has no effect (as in the original, where the flag did not "
                        "exist); --sampling_changing_rate=%s is used", FLAGS.sampling_delta_per_iter,
                        FLAGS.sampling_changing_rate)
    try:
        config = E3DConfig.from_flags(FLAGS)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    strategy = _strategy()
    towers = strategy.num_replicas_in_sync
    # Every input is checked before anything is written (manifest, events file, checkpoints): the pretrained
    # checkpoint against the model, the data files against the flags. Bad input is an InputError, reported by
    # cli.run in one line.
    load = _weights_loader(FLAGS.pretrained_model)
    train_mode = FLAGS.is_training == "True"
    if train_mode and not FLAGS.save_dir:
        raise app.UsageError("--save_dir is empty: training needs a directory for checkpoints")
    _check_loader(load, config)
    train_data = _open_data("train", FLAGS.batch_size * towers, True, FLAGS.seed) if train_mode else None
    test_data = (_open_data("test", FLAGS.batch_size * towers, False, 0)
                 if not train_mode or FLAGS.test_interval else None)

    if not train_mode:
        # Test mode: the weights of --pretrained_model, else the newest checkpoint of --save_dir.
        model = build_model(config)
        if load is not None:
            load(model)
        else:
            import tensorflow as tf

            from vidpred_tf.checkpoint_check import check_model_checkpoint
            from vidpred_tf.training.checkpoint import restore_model_weights

            latest = tf.train.latest_checkpoint(FLAGS.save_dir) if FLAGS.save_dir else None
            if latest is None:
                raise app.UsageError("test mode needs --pretrained_model or a checkpoint in --save_dir")
            check_model_checkpoint(model, latest, what="--save_dir checkpoint")
            restore_model_weights(model, latest)
            print(f"Restored {latest}", flush=True)
        print(f"Total number of model parameters: {model.parameter_count()}", flush=True)
        _Evaluator(model, config, towers, test_data)("test_result")
        return

    sampling = SamplingConfig.from_flags(FLAGS)
    task = E3DTask(config, sampling, FLAGS.lr, seed=FLAGS.seed, load_pretrained=load, keep_ema=FLAGS.keep_ema)
    trainer = Trainer(task, TrainerConfig(
        model_dir=FLAGS.save_dir, num_steps=FLAGS.max_iterations, global_batch_size=FLAGS.batch_size * towers,
        seed=FLAGS.seed, checkpoint_every=FLAGS.snapshot_interval, keep_checkpoints=5,
        checkpoint_name="model.ckpt", log_every=FLAGS.display_interval, summary_every=FLAGS.log_interval,
        scalar_prefix="", summary_dir=FLAGS.log_dir or None, jit_compile=FLAGS.jit_compile,
        learning_rate_flag="--lr"), strategy)
    model = trainer.model
    if trainer.chief:
        from vidpred_tf.papers.e3d.predictor import write_e3d_manifest

        # Beside the checkpoints, what `vidpred predict --checkpoint save_dir` needs to rebuild the model.
        write_e3d_manifest(FLAGS.save_dir, config)
    print(f"Total number of model parameters: {model.parameter_count()}", flush=True)
    print(f"Trainable parameters: {model.parameter_count(trainable_only=True)}; decoder share: "
          f"{model.decoder_parameter_fraction():.2f}%", flush=True)

    def dataset_fn(context):
        per_replica = context.get_per_replica_batch_size(FLAGS.batch_size * towers)
        dataset = _dataset(train_data, True, None, FLAGS.seed)
        # One original batch is split over the towers in order, as the original split its feed.
        dataset = dataset.unbatch().batch(per_replica, drop_remainder=True)
        if context.num_input_pipelines > 1:
            dataset = dataset.shard(context.num_input_pipelines, context.input_pipeline_id)
        return dataset.prefetch(2)

    evaluator = _Evaluator(model, config, towers, test_data) if FLAGS.test_interval else None

    def test(trainer, step):
        if trainer.chief:
            evaluator(step, trainer.summaries, step)

    # A test pass is recorded when it finishes: one interrupted by a kill is redone when the run resumes.
    tests = [Evaluation("test", FLAGS.test_interval, test)] if evaluator is not None else []
    result = trainer.fit(dataset_fn, evaluations=tests)
    print(f"Finished at iteration {result.step} ({result.status}); checkpoint {result.checkpoint}", flush=True)

