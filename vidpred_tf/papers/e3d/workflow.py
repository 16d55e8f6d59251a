"""The work of the E3D-LSTM study's ``run.py`` (:mod:`vidpred_tf.papers.e3d.run` is the command: its flags and
``main``): the inputs checked before anything is written, training on the shared trainer with the original's
periodic test pass, and test mode.

``--batch_size`` is per tower and is read once, in :func:`run`: one original batch holds ``batch_size x towers``
sequences (the data handles and the trainer's global batch) and is split over the towers in order (the task's
inputs and sampling masks, the evaluation's SSIM over the first tower).
"""

from __future__ import annotations

import functools

import tensorflow as tf
from absl import app, logging

from vidpred_tf.checkpoint_check import check_model_checkpoint, checkpoint_reader
from vidpred_tf.convert import e3d as converter
from vidpred_tf.data.kth.e3d_frames import open_kth_frames
from vidpred_tf.data.moving_mnist.e3d_npz import open_e3d_npz, original_batch_dataset
from vidpred_tf.errors import InputError
from vidpred_tf.models.e3d.config import E3DConfig
from vidpred_tf.models.e3d.model import build_model
from vidpred_tf.models.e3d.sampling import SamplingConfig
from vidpred_tf.models.e3d.task import E3DTask
from vidpred_tf.papers.e3d.evaluation import evaluate, model_predict_fn
from vidpred_tf.papers.e3d.predictor import write_e3d_manifest
from vidpred_tf.training import Evaluation, Trainer, TrainerConfig, make_strategy
from vidpred_tf.training.checkpoint import restore_model_weights


def _strategy(flags):
    if flags.allow_gpu_growth:
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    if flags.strategy == "auto" and flags.n_gpu == 1:
        return make_strategy("one_device")  # one tower, as --n_gpu says, even on a multi-GPU host
    if flags.strategy == "auto" and flags.n_gpu > 1:
        kind = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
        devices = [d.name for d in tf.config.list_logical_devices(kind)]
        if len(devices) < flags.n_gpu:
            raise app.UsageError(f"--n_gpu={flags.n_gpu} but only {len(devices)} {kind} device(s) are visible")
        return make_strategy("mirrored", devices=devices[:flags.n_gpu])
    return make_strategy(flags.strategy)


def _is_port_checkpoint(prefix: str) -> bool:
    _, names = checkpoint_reader(prefix, what="--pretrained_model")  # InputError: missing or not a checkpoint
    return "_CHECKPOINTABLE_OBJECT_GRAPH" in names


def _weights_loader(prefix: str, use_ema: bool):
    """``(model, announce=True) -> None`` restoring ``prefix``: an original TF1 checkpoint (converter) or a port
    checkpoint; ``InputError`` naming the file when it is unreadable or does not fit the model."""
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
            report = converter.load(model, prefix, use_ema=use_ema)
            if announce:
                print(f"Restored original checkpoint {prefix} ({report})", flush=True)
    return load


def _check_loader(load, config) -> None:
    """Run ``load`` on a scratch model, so that a misfit or truncated ``--pretrained_model`` is refused before
    the run writes anything (the task loads it again into the model it trains)."""
    if load is None:
        return
    load(build_model(config), announce=False)


def _open_data(flags, split: str, batch_size: int, shuffle: bool, seed: int):
    """``(handle, frame_shape)`` of the original's data handle of ``split`` serving batches of ``batch_size``, read
    and checked against the flags (``InputError`` naming the file or flag); :func:`_original_batches` makes it a
    tf.data dataset."""
    if flags.dataset_name == "mnist":
        flag = "train_data_paths" if split == "train" else "valid_data_paths"
        paths = flags[flag].value
        if not paths:
            raise InputError(f"--{flag} is empty")
        opened = open_e3d_npz(paths, batch_size=batch_size, seq_length=flags.total_length, shuffle=shuffle,
                              seed=seed)
    elif flags.dataset_name == "action":
        # As the original: both KTH splits come from the first --valid_data_paths root.
        flag, paths = "valid_data_paths", flags.valid_data_paths
        if not paths:
            raise InputError("--valid_data_paths (the KTH frame root) is empty")
        opened = open_kth_frames(paths, split=split, image_width=flags.img_width, seq_length=flags.total_length,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed)
    else:
        raise InputError(f"--dataset_name={flags.dataset_name!r}: choose mnist or action")
    _, height, width, channels = opened[1]
    if (height, width) != (flags.img_width, flags.img_width):
        raise InputError(f"--img_width={flags.img_width}: the frames of --{flag}={paths} are {height}x{width} "
                         f"(height x width); pass --img_width={width} for square frames of that size")
    if channels != flags.img_channel:
        raise InputError(f"--img_channel={flags.img_channel}: the frames of --{flag}={paths} have {channels} "
                         "channel(s)")
    return opened


def _original_batches(opened, shuffle: bool, epochs, seed=None) -> tf.data.Dataset:
    """The original's batches of an opened handle as a tf.data dataset of ``{"images": [batch, T, H, W, C]}``;
    shuffled, from an independent copy of the handle (its own order and ``random.Random(seed)``), so every
    dataset made reads the same sequence of batches."""
    handle, frame_shape = opened
    if shuffle:
        handle = handle.independent_copy(seed)
    return original_batch_dataset(handle, frame_shape, shuffle=shuffle, epochs=epochs)


class _Evaluator:
    """The original's test pass; the test data and the compiled predict function are made once per run."""

    def __init__(self, model, config: E3DConfig, batch_size: int, num_towers: int, opened, gen_frm_dir: str,
                 num_save_samples: int):
        self.config = config
        self.batch_size = batch_size
        self.num_towers = num_towers
        self.gen_frm_dir = gen_frm_dir or None
        self.num_save_samples = num_save_samples
        self.dataset = _original_batches(opened, False, 1)
        self.predict = model_predict_fn(model, config)

    def __call__(self, save_name, summaries=None, step: int = 0):
        batches = (b["images"] for b in self.dataset.as_numpy_iterator())
        config = self.config
        result = evaluate(self.predict, batches, input_length=config.input_length,
                          total_length=config.total_length, patch_size=config.patch_size,
                          batch_size=self.batch_size, num_towers=self.num_towers, gen_frm_dir=self.gen_frm_dir,
                          save_name=str(save_name), num_save_samples=self.num_save_samples)
        if summaries is not None:
            summaries.scalars(result.scalars(), step, prefix="test/")
        return result


def _test_mode(flags, config: E3DConfig, load, evaluator_for) -> None:
    """Test mode: the weights of --pretrained_model, else the newest checkpoint of --save_dir."""
    model = build_model(config)
    if load is not None:
        load(model)
    else:
        latest = tf.train.latest_checkpoint(flags.save_dir) if flags.save_dir else None
        if latest is None:
            raise app.UsageError("test mode needs --pretrained_model or a checkpoint in --save_dir")
        check_model_checkpoint(model, latest, what="--save_dir checkpoint")
        restore_model_weights(model, latest)
        print(f"Restored {latest}", flush=True)
    print(f"Total number of model parameters: {model.parameter_count()}", flush=True)
    evaluator_for(model)("test_result")


def run(flags) -> None:
    """What run.py does with its parsed ``flags`` (absl's FLAGS): train, or test when ``--is_training`` is not
    ``True``."""
    if flags.sampling_delta_per_iter is not None:
        logging.warning("--sampling_delta_per_iter=%s has no effect (as in the original, where the flag did not "
                        "exist); --sampling_changing_rate=%s is used", flags.sampling_delta_per_iter,
                        flags.sampling_changing_rate)
    try:
        config = E3DConfig.from_flags(flags)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    strategy = _strategy(flags)
    towers = strategy.num_replicas_in_sync
    batch_size = flags.batch_size  # per tower: the one place it is read (module docstring)
    original_batch = batch_size * towers
    # Every input is checked before anything is written (manifest, events file, checkpoints): the pretrained
    # checkpoint against the model, the data files against the flags. Bad input is an InputError, reported by
    # cli.run in one line.
    load = _weights_loader(flags.pretrained_model, flags.use_ema)
    train_mode = flags.is_training == "True"
    if train_mode and not flags.save_dir:
        raise app.UsageError("--save_dir is empty: training needs a directory for checkpoints")
    _check_loader(load, config)
    train_data = _open_data(flags, "train", original_batch, True, flags.seed) if train_mode else None
    test_data = (_open_data(flags, "test", original_batch, False, 0)
                 if not train_mode or flags.test_interval else None)
    evaluator_for = functools.partial(_Evaluator, config=config, batch_size=batch_size, num_towers=towers,
                                      opened=test_data, gen_frm_dir=flags.gen_frm_dir,
                                      num_save_samples=flags.num_save_samples)

    if not train_mode:
        _test_mode(flags, config, load, evaluator_for)
        return

    task = E3DTask(config, SamplingConfig.from_flags(flags, config, batch_size), flags.lr, seed=flags.seed,
                   load_pretrained=load, keep_ema=flags.keep_ema,
                   original_batches=lambda: _original_batches(train_data, True, None, flags.seed))
    trainer = Trainer(task, TrainerConfig(
        model_dir=flags.save_dir, num_steps=flags.max_iterations, global_batch_size=original_batch,
        seed=flags.seed, checkpoint_every=flags.snapshot_interval, keep_checkpoints=5,
        checkpoint_name="model.ckpt", log_every=flags.display_interval, summary_every=flags.log_interval,
        scalar_prefix="", summary_dir=flags.log_dir or None, jit_compile=flags.jit_compile,
        learning_rate_flag="--lr"), strategy)
    model = trainer.model
    if trainer.chief:
        # Beside the checkpoints, what `vidpred predict --checkpoint save_dir` needs to rebuild the model.
        write_e3d_manifest(flags.save_dir, config)
    print(f"Total number of model parameters: {model.parameter_count()}", flush=True)
    print(f"Trainable parameters: {model.parameter_count(trainable_only=True)}; decoder share: "
          f"{model.decoder_parameter_fraction():.2f}%", flush=True)

    evaluator = evaluator_for(model) if flags.test_interval else None

    def test(trainer, step):
        if trainer.chief:
            evaluator(step, trainer.summaries, step)

    # A test pass is recorded when it finishes: one interrupted by a kill is redone when the run resumes.
    tests = [Evaluation("test", flags.test_interval, test)] if evaluator is not None else []
    result = trainer.fit(evaluations=tests)
    print(f"Finished at iteration {result.step} ({result.status}); checkpoint {result.checkpoint}", flush=True)
