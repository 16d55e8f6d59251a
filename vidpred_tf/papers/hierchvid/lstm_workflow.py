"""What the pose-LSTM scripts do with their parsed flags (:mod:`vidpred_tf.papers.hierchvid.train_lstm`,
:mod:`vidpred_tf.papers.hierchvid.test_lstm`), on the shared trainer. Spec sections 5.1 and 6.1.

Training (``lstm_src/train_det_rnn_{penn,h36m}.py``), run name ``<prefix>`` (:mod:`.run_names`):

* data: ``<data_root>/PennAction/train_subset_list.txt`` or ``<data_root>/Human3.6M/train_list_pose.txt`` through
  the readers of :mod:`vidpred_tf.data.penn_action.hierchvid` / :mod:`vidpred_tf.data.human36m.hierchvid`
  (shuffled epochs, incomplete last batch dropped, seeded by ``--seed``);
* ``round(600000 * 16 / batch_size)`` steps (Python 2 integer division: 37,500 at 256), or ``--num_steps``. The
  original checked the limit only between epochs, so it could run past it to the end of an epoch (not at the
  README sizes, where an epoch is 2 batches); the port stops at it;
* every step: the ``loss`` scalar (the loss before the update, at the step number before the update, as the
  original) in ``<logs_dir>/<prefix>/``; a console line with the loss re-evaluated after the update, as the
  original printed;
* every 100 steps: ``<samples_dir>/<prefix>/<step:07d>_<action>.png``, the heat maps of sample 0's output after
  the update (seen + fut frames side by side, rescaled to 0..255 as ``scipy.misc.imsave``);
* checkpoints after step ``s`` when ``s >= 10000`` and ``s % 10000 == 0``, and at the end, in two forms:

  - ``<models_dir>/<prefix>/DET_LSTM.model-<N>``: the original's TF1 checkpoint (every variable under its
    original name, the RMSProp slots, the step ``Variable``, and the ``checkpoint`` state file), which the
    original scripts and the port's ``test_lstm`` read. ``N`` is the number of updates done, the TRUE step
    (fix, spec section 8: the original saved ``Variable + calls`` = twice the step, because ``train()`` rebinds
    ``self.global_step`` to a new tensor on every call), so a resumed run continues at loop step ``N``;
  - ``<models_dir>/<prefix>/trainer/ckpt-<N>``: the shared trainer's checkpoint (weights, optimiser, step,
    seed), from which a run resumes exactly;

* resume: from ``trainer/`` when it holds a checkpoint; otherwise from the newest TF1 checkpoint of the folder
  (e.g. one written by the original code): weights, RMSProp slots and the step of its ``Variable`` (the true
  step, not the doubled number of an original file name, which is said).

Test (``lstm_src/test_det_rnn_{penn,h36m}.py``): see :func:`test`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf

from vidpred_tf.convert import hierchvid as converter
from vidpred_tf.convert.tf1 import CheckpointMismatchError
from vidpred_tf.data import hierchvid_files as files
from vidpred_tf.data.human36m import hierchvid as h36m_data
from vidpred_tf.data.penn_action import hierchvid as penn_data
from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.models.hierchvid.lstm_task import MASK, SEQ, PoseLSTMTask, recons_loss
from vidpred_tf.models.hierchvid.pose_lstm import PRESETS, PoseLSTM, PoseLSTMConfig
from vidpred_tf.papers.hierchvid import options, visuals
from vidpred_tf.papers.hierchvid.run_names import LSTM_CONSTANTS, lstm_run_name, parse_lstm_run_name
from vidpred_tf.papers.hierchvid.runtime import RecordingBatches, device_scope, device_strategy, mem_frac_note
from vidpred_tf.training.trainer import Trainer, TrainerConfig, TrainResult

CHECKPOINT_NAME = "DET_LSTM.model"
TRAINER_SUBDIR = "trainer"
SAMPLE_EVERY = 100
CHECKPOINT_EVERY = 10000
TOTAL_EXAMPLES = 600000 * 16  # total_steps = round(600000 * 16 / batch_size)
AFTER_UPDATE = "loss_after_update"


def data_module(dataset: str):
    return penn_data if dataset == "penn" else h36m_data


def class_names(dataset: str) -> Dict[int, str]:
    return {index: name for name, index in data_module(dataset).CLASSES.items()}


def total_steps(batch_size: int) -> int:
    """The original's ``round(600000 * 16 / batch_size)`` under Python 2 (integer division, then round)."""
    return TOTAL_EXAMPLES // int(batch_size)


# ---------------------------------------------------------------------------------------------------- training
class _TrainTask(PoseLSTMTask):
    """The LSTM task plus the loss re-evaluated after the update (the original's printed ``errG``)."""

    def post_update_losses(self, model, batch, step, seed):
        output = self._output(model, batch, seed, self.future_steps(batch))
        return {AFTER_UPDATE: recons_loss(output, batch[SEQ], batch[MASK], self.config.seen_step)}


@dataclasses.dataclass
class LSTMRun:
    dataset: str
    prefix: str
    config: PoseLSTMConfig
    models_dir: str
    trainer_dir: str
    logs_dir: str
    samples_dir: str
    num_steps: int


def describe_run(values) -> LSTMRun:
    dataset = values.dataset
    config = PRESETS[dataset](num_layer=values.num_layer, lstm_units=values.lstm_units, seen_step=values.seen_step,
                              fut_step=values.fut_step, keep_prob=values.keep_prob)
    if values.batch_size < 1:
        raise InputError(f"--batch_size={values.batch_size} must be positive")
    if values.image_size < 1:
        raise InputError(f"--image_size={values.image_size} must be positive")
    prefix = lstm_run_name(dataset, image_size=values.image_size, batch_size=values.batch_size,
                           num_layer=values.num_layer, lstm_units=values.lstm_units, seen_step=values.seen_step,
                           fut_step=values.fut_step, keep_prob=values.keep_prob, learning_rate=values.learning_rate)
    models_dir = os.path.join(values.models_dir, prefix)
    num_steps = total_steps(values.batch_size) if values.num_steps is None else int(values.num_steps)
    if num_steps < 0:
        raise InputError(f"--num_steps={num_steps} must be >= 0")
    return LSTMRun(dataset, prefix, config, models_dir, os.path.join(models_dir, TRAINER_SUBDIR),
                   os.path.join(values.logs_dir, prefix), os.path.join(values.samples_dir, prefix), num_steps)


def _training_batches(values, run: LSTMRun) -> RecordingBatches:
    data_dir = options.dataset_dir(values)
    module = data_module(run.dataset)
    list_path = module.default_list(data_dir, "lstm_train")
    videos = module.load_lstm_videos(list_path, data_dir)
    if len(videos) < values.batch_size:
        raise InputError(f"{list_path}: {len(videos)} videos, fewer than one batch of --batch_size="
                         f"{values.batch_size}")
    config = run.config
    if run.dataset == "penn":
        def make_epoch(rng):
            return penn_data.lstm_batches(videos, values.batch_size, config.seen_step, config.fut_step, rng)
    else:
        fskip = LSTM_CONSTANTS["h36m"]["fskip"]

        def make_epoch(rng):
            return h36m_data.lstm_batches(videos, values.batch_size, config.seen_step, config.fut_step, fskip, rng)
    return RecordingBatches(make_epoch, values.seed, keep=lambda index: index % SAMPLE_EVERY == 0,
                            take=lambda batch: {key: value[:1] for key, value in batch.items()})


def export_tf1(trainer: Trainer, run: LSTMRun, step: int) -> str:
    """``DET_LSTM.model-<step>`` (weights, RMSProp slots, ``Variable``) and the ``checkpoint`` state file."""
    optimizer = trainer.optimizer_specs[0].optimizer
    return converter.export(trainer.model, os.path.join(run.models_dir, f"{CHECKPOINT_NAME}-{step}"),
                            optimizer=optimizer)


def resume_from_tf1(trainer: Trainer, run: LSTMRun, say=print) -> Optional[int]:
    """Without a trainer checkpoint: the newest TF1 checkpoint of the run folder, if any (returns its step)."""
    if trainer.checkpoints.latest is not None or not os.path.isfile(os.path.join(run.models_dir, "checkpoint")):
        return None
    prefix = tf.train.latest_checkpoint(run.models_dir)
    if prefix is None:
        return None
    converter.load(trainer.model, prefix)
    name_step = prefix.rsplit("-", 1)[-1]
    try:
        step = converter.load_rmsprop_slots(trainer.model, trainer.optimizer_specs[0].optimizer, prefix)
        source = "its Variable"
    except CheckpointMismatchError as err:
        step = int(name_step) if name_step.isdigit() else 0
        source = f"its name (no optimiser state: {err}; RMSProp starts afresh)"
        trainer.optimizer_specs[0].optimizer.iterations.assign(step)
    trainer.step.assign(step)
    doubled = "" if name_step == str(step) else (f" (the file name says {name_step}: the original saved twice the "
                                                 f"step; spec section 8)")
    say(f"[*] Load SUCCESS: {prefix}; resuming at step {step}, from {source}{doubled}")
    return step


def _write_sample(trainer: Trainer, run: LSTMRun, recorded: Dict[str, np.ndarray], step: int,
                  image_size: int) -> str:
    output = trainer.predict({SEQ: recorded[SEQ], MASK: recorded[MASK]})
    action = class_names(run.dataset)[int(recorded["action"][0])]
    path = os.path.join(run.samples_dir, f"{step:07d}_{action}.png")
    visuals.write_png(path, visuals.sample_row(output[0], run.dataset, image_size))
    return path


def train(values, say=print) -> TrainResult:
    run = describe_run(values)
    mem_frac_note(values, say)
    strategy = device_strategy(options.first_gpu(values.gpu), say)
    batches = _training_batches(values, run)
    task = _TrainTask(run.config, learning_rate=values.learning_rate)
    trainer = Trainer(task, TrainerConfig(
        model_dir=run.trainer_dir, num_steps=run.num_steps, global_batch_size=values.batch_size, seed=values.seed,
        checkpoint_every=0, keep_checkpoints=5, log_every=100, loss_summaries=False, summary_dir=run.logs_dir,
        learning_rate_flag="--learning_rate"), strategy)
    say(f"\n{run.prefix}\n")
    resume_from_tf1(trainer, run, say)
    os.makedirs(run.samples_dir, exist_ok=True)
    signature = files.lstm_signature(values.batch_size, run.config.seen_step, run.config.fut_step,
                                     run.config.lm_size, False)
    exported: List[int] = []
    timer = {"last": time.time()}

    def dataset_fn(context):
        return files.generator_dataset(batches, signature)

    def after_step(trainer: Trainer, step: int, losses) -> None:
        loop_step = step - 1  # the original's counter: the step number before the update
        trainer.summaries.scalars({"loss": losses["loss"]}, loop_step)
        if loop_step % SAMPLE_EVERY == 0 and loop_step in batches.first:
            _write_sample(trainer, run, batches.first.pop(loop_step), loop_step, values.image_size)
        if values.log_every and loop_step % values.log_every == 0 and trainer.chief:
            now = time.time()
            print(f"step={loop_step}/{run.num_steps}, loss={losses[AFTER_UPDATE]:.12f},  "
                  f"time={now - timer['last']:.2f}", flush=True)
            timer["last"] = now
        if loop_step >= CHECKPOINT_EVERY and loop_step % CHECKPOINT_EVERY == 0:
            trainer.save_checkpoint(step, None)
            if trainer.chief:
                export_tf1(trainer, run, step)
                exported.append(step)

    result = trainer.fit(dataset_fn, hooks=[after_step])
    if trainer.chief and result.step not in exported and result.step > 0:
        export_tf1(trainer, run, result.step)
    trainer.summaries.flush()
    say(f"finished at step {result.step} ({result.status}); checkpoint "
        f"{os.path.join(run.models_dir, f'{CHECKPOINT_NAME}-{result.step}')}")
    return result


# -------------------------------------------------------------------------------------------------------- test
def load_test_model(values, dataset: str, params: Dict[str, object]) -> PoseLSTM:
    """The test graph (batch 1, fut = ``--steps``) restored from ``<models_dir>/<prefix>/`` (TF1 checkpoint)."""
    config = PRESETS[dataset](num_layer=params["num_layer"], lstm_units=params["lstm_units"],
                              seen_step=params["seen_step"], fut_step=values.steps,
                              keep_prob=params["keep_prob"])
    model = PoseLSTM(config)
    lm_size = config.lm_size
    model({SEQ: np.zeros((1, config.seen_step, 2 * lm_size), np.float32),
           MASK: np.zeros((1, config.seen_step, lm_size), np.float32)}, fut_step=1)
    models_dir = os.path.join(values.models_dir, values.prefix)
    if tf.train.latest_checkpoint(models_dir) is None:
        # The original printed "[!] Load failed..." and exited with status 0.
        raise MissingInputError(f"[!] Load failed: {models_dir} holds no DET_LSTM checkpoint (train it with "
                                f"train_lstm, or check --prefix / --models_dir)")
    report = converter.load(model, models_dir)
    print(f"[*] Load SUCCESS: {report.checkpoint}")
    return model


def test(values, say=print) -> List[str]:
    """Per test video, ``<results_dir>/pose/<prefix>/<i:05d>_<action>/``:

    * ``joints.npy``: ``((output + 1) / 2) * image_size``, float32 (1, seen + steps, 2L) (masked inputs: 64.0);
    * ``pred_<action>.gif`` at 7 fps of the heat-map frames ``%05d.png`` (border: green for the seen steps, red for
      the predicted ones). Penn renders ``min(nframes, seen + steps)`` frames with the seen steps' visibility and
      deletes the PNGs afterwards; H3.6M renders all ``seen + steps`` frames and keeps them, as the original.

    Returns the result folders."""
    dataset = values.dataset
    if values.steps < 1:
        raise InputError(f"--steps={values.steps} must be at least 1")
    mem_frac_note(values, say)
    params = parse_lstm_run_name(values.prefix, dataset)
    image_size, seen_step = int(params["image_size"]), int(params["seen_step"])
    gpu = options.first_gpu(values.gpu)
    with device_scope(gpu):
        model = load_test_model(values, dataset, params)
    data_dir = options.dataset_dir(values)
    module = data_module(dataset)
    if dataset == "penn":
        inputs = penn_data.lstm_test_inputs(module.default_list(data_dir, "test"), data_dir, seen_step)
    else:
        inputs = h36m_data.lstm_test_inputs(module.default_list(data_dir, "lstm_test"), data_dir, seen_step,
                                            int(params["fskip"]))
    results_dir = os.path.join(values.results_dir, "pose", values.prefix)
    folders = []
    for index, item in enumerate(inputs):
        say(f"Testing: {index}/{len(inputs)}")
        folder = os.path.join(results_dir, item["name"])
        os.makedirs(folder, exist_ok=True)
        with device_scope(gpu):
            output = np.asarray(model({SEQ: item[SEQ], MASK: item[MASK]}, fut_step=values.steps))
        np.save(os.path.join(folder, "joints.npy"), ((output + 1.) / 2. * image_size).astype(np.float32))
        length = seen_step + values.steps
        count = min(int(item["nframes"]), length) if dataset == "penn" else length
        frames, pngs = [], []
        for step in range(count):
            visibility = item[MASK][0, step] if (dataset == "penn" and step < seen_step) else None
            frame = visuals.bordered_pose_frame(output[0, step], dataset, image_size, step < seen_step, visibility)
            path = os.path.join(folder, f"{step:05d}.png")
            visuals.write_png(path, frame)
            frames.append(frame)
            pngs.append(path)
        if frames:
            visuals.write_gif_of_bgr(os.path.join(folder, f"pred_{item['action']}.gif"), frames)
        if dataset == "penn":
            for path in pngs:
                os.remove(path)
        folders.append(folder)
    say("Done.")
    return folders
