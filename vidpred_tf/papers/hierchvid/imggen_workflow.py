"""What the image-generator scripts do with their parsed flags (:mod:`vidpred_tf.papers.hierchvid.train_imggen`,
:mod:`vidpred_tf.papers.hierchvid.test_imggen`), on the shared trainer. Spec sections 5.2 and 6.2.

Training (``imggen_src/train_{penn,h36m}.py``), run name ``<prefix>`` =
``PENNACTION_ANALOGY_imgsize=128_layer=3_alpha=1.0_beta=1.0_gamma=1.0_lr=0.0001`` (:mod:`.run_names`):

* data: the FULL ``train_list.txt`` (Penn, all 15 classes) or Human3.6M's ``train_list.txt`` through
  :mod:`vidpred_tf.data.penn_action.hierchvid` / :mod:`vidpred_tf.data.human36m.hierchvid` (frame gap from
  1..steps-1; ``--num_workers`` loader threads);
* the frozen AlexNet and hourglass from ``--perceptual_dir`` (:mod:`vidpred_tf.convert.hierchvid_perceptual`);
* the task :class:`vidpred_tf.models.hierchvid.imggen_task.ImggenTask` (G then D with the sticky update flags);
  one trainer step is one of the original's iterations, until ``--num_iter``;
* summaries at the original's ``counter`` (= iterations done): the group of the last op run that iteration, as
  the original wrote only that one: ``d_loss_real``, ``d_loss``, ``d_loss_fake`` when D updated, else ``L``,
  ``L_img``, ``L_feat``, ``g_loss`` (``g_loss`` before the update, recovered as ``(g_objective - L) / gamma``;
  with ``gamma = 0`` the value after the generator's update);
* ``<samples_dir>/<prefix>/train_<iters>.png`` when ``counter % 100 == 1`` after the increment (iterations 99,
  199, ...): the 8x8 grid of [G(B), ptpn as gray (B), xtpn (B)] after the updates, RGB, rescaled to 0..255 as
  ``scipy.misc.imsave``;
* checkpoints when ``counter % 500 == 2`` (after iterations 1, 501, 1001, ...) and at the end:
  ``<models_dir>/<prefix>/IMGGEN.model-<counter>`` (GEN and DIS under their TF1 names, what the test scripts
  restore; the original's name: counter = iterations done + 1) and ``<models_dir>/<prefix>/trainer/`` (the whole
  state, Adam slots and update flags included, from which a run resumes exactly). Without trainer state, a run
  resumes from the newest TF1 checkpoint as the original: weights, ``iters = N`` (Adam and the flags start
  afresh: the port's TF1 export holds no Adam slots).

Test (``imggen_src/test_{penn,h36m}.py``): :func:`test`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf

from vidpred_tf.convert import hierchvid as converter
from vidpred_tf.convert import hierchvid_perceptual as perceptual
from vidpred_tf.data import hierchvid_files as files
from vidpred_tf.data.human36m import hierchvid as h36m_data
from vidpred_tf.data.penn_action import hierchvid as penn_data
from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.models.hierchvid.config import ImggenConfig
from vidpred_tf.models.hierchvid.imggen import ImggenModel
from vidpred_tf.models.hierchvid.imggen_losses import G_OBJECTIVE
from vidpred_tf.models.hierchvid.imggen_task import ImggenTask
from vidpred_tf.papers.hierchvid import options, visuals
from vidpred_tf.papers.hierchvid.run_names import imggen_run_name
from vidpred_tf.papers.hierchvid.runtime import RecordingBatches, device_scope, device_strategy
from vidpred_tf.training.trainer import Trainer, TrainerConfig, TrainResult

CHECKPOINT_NAME = "IMGGEN.model"
TRAINER_SUBDIR = "trainer"
SAMPLE_EVERY, SAMPLE_AT = 100, 1  # counter % 100 == 1
CHECKPOINT_EVERY, CHECKPOINT_AT = 500, 2  # counter % 500 == 2
SEEN_STEP = 10
G_SUMMARIES = ("L_img", "L_feat", "L", "g_loss")
D_SUMMARIES = ("d_loss_real", "d_loss", "d_loss_fake")
RESULT_FOLDERS = {"penn": "PennAction", "h36m": "Human3.6m"}  # as written by the original test scripts


def data_module(dataset: str):
    return penn_data if dataset == "penn" else h36m_data


def make_config(values) -> ImggenConfig:
    return ImggenConfig.for_dataset(values.dataset, image_size=values.image_size, batch_size=values.batch_size,
                                    layer=values.layer, alpha=values.alpha, beta=values.beta, gamma=values.gamma,
                                    lr=values.lr, steps=values.steps, num_iter=values.num_iter,
                                    gf_dim=values.gf_dim, df_dim=values.df_dim)


def run_name(values) -> str:
    return imggen_run_name(values.dataset, image_size=values.image_size, layer=values.layer, alpha=values.alpha,
                           beta=values.beta, gamma=values.gamma, lr=values.lr)


@dataclasses.dataclass
class ImggenRun:
    prefix: str
    config: ImggenConfig
    models_dir: str
    trainer_dir: str
    logs_dir: str
    samples_dir: str


def describe_run(values) -> ImggenRun:
    prefix = run_name(values)
    models_dir = os.path.join(values.models_dir, prefix)
    return ImggenRun(prefix, make_config(values), models_dir, os.path.join(models_dir, TRAINER_SUBDIR),
                     os.path.join(values.logs_dir, prefix), os.path.join(values.samples_dir, prefix))


class _TrainTask(ImggenTask):
    """The image-generator task remembering which optimisers ran on the last step (for the summaries)."""

    last_active = (True, True)

    def on_step_end(self, step, losses):
        self.last_active = (self.update_d, self.update_g)
        super().on_step_end(step, losses)


def _sample_wanted(index: int) -> bool:
    # Stream index i is iteration i; its counter after the increment is i + 2.
    return (index + 2) % SAMPLE_EVERY == SAMPLE_AT


def training_batches(values, config: ImggenConfig) -> RecordingBatches:
    data_dir = options.dataset_dir(values)
    module = data_module(values.dataset)
    list_path = module.default_list(data_dir, "imggen_train")
    entries = module.read_entries(list_path, data_dir)
    if len(entries) < config.batch_size:
        raise InputError(f"{list_path}: {len(entries)} videos, fewer than one batch of --batch_size="
                         f"{config.batch_size}")
    workers = (min(config.batch_size, os.cpu_count() or 1) if values.num_workers is None
               else int(values.num_workers))

    def make_epoch(rng):
        return files.sample_batches(module.imggen_sample, entries, config.batch_size, config.image_size,
                                    config.steps, rng, workers, True)

    return RecordingBatches(make_epoch, values.seed, keep=_sample_wanted)


def export_tf1(model, run: ImggenRun, counter: int) -> str:
    return converter.export(model, os.path.join(run.models_dir, f"{CHECKPOINT_NAME}-{counter}"))


def resume_from_tf1(trainer: Trainer, run: ImggenRun, say=print) -> Optional[int]:
    if trainer.checkpoints.latest is not None or not os.path.isfile(os.path.join(run.models_dir, "checkpoint")):
        return None
    prefix = tf.train.latest_checkpoint(run.models_dir)
    if prefix is None:
        return None
    converter.load(trainer.model, prefix)
    tail = prefix.rsplit("-", 1)[-1]
    iters = int(tail) if tail.isdigit() else 0
    trainer.step.assign(iters)
    say(f" [*] Load SUCCESS: {prefix}; iters = {iters} (from the name, as the original; Adam and the update "
        f"flags start afresh)")
    return iters


def sample_grid(generated: np.ndarray, batch: Dict[str, np.ndarray]) -> np.ndarray:
    """The original's sample: [G, 2 max(ptpn) - 1 as gray, xtpn] (3B images in [-1, 1], BGR) on an 8x8 grid (more
    rows when 3B > 64), flipped to RGB and rescaled from its min..max to 0..255 (uint8 RGB)."""
    ptpn = 2 * batch["ptpn"].max(axis=-1)[..., None] - 1
    images = np.concatenate([generated, np.repeat(ptpn, 3, axis=-1), batch["xtpn"]], axis=0)[..., ::-1]
    images = (images + 1.) / 2. * 255.
    count, height, width = images.shape[:3]
    rows = max(8, math.ceil(count / 8))
    grid = np.zeros((height * rows, width * 8, 3))
    for index, image in enumerate(images):
        row, col = divmod(index, 8)
        grid[row * height:(row + 1) * height, col * width:(col + 1) * width] = image
    return visuals.bytescale(grid)


def load_perceptual(values, say=print):
    folder = values.perceptual_dir
    say(f"perceptual weights: {folder}")
    return perceptual.load_alexnet_weights(folder), perceptual.load_hourglass_weights(folder)


def train(values, say=print) -> TrainResult:
    run = describe_run(values)
    config = run.config
    strategy = device_strategy(options.first_gpu(values.gpu), say)
    say(f"\n{run.prefix}\n")
    alexnet, hourglass = load_perceptual(values, say)
    batches = training_batches(values, config)
    task = _TrainTask(config, alexnet, hourglass)
    trainer = Trainer(task, TrainerConfig(
        model_dir=run.trainer_dir, num_steps=config.num_iter, global_batch_size=config.batch_size,
        seed=values.seed, checkpoint_every=0, keep_checkpoints=5, log_every=100, loss_summaries=False,
        summary_dir=run.logs_dir, learning_rate_flag="--lr"), strategy)
    resume_from_tf1(trainer, run, say)
    os.makedirs(run.models_dir, exist_ok=True)
    os.makedirs(run.samples_dir, exist_ok=True)
    signature = files.imggen_signature(config.batch_size, config.image_size, config.n_joints, True)
    exported: List[int] = []

    def dataset_fn(context):
        return files.generator_dataset(batches, signature)

    def after_step(trainer: Trainer, step: int, losses) -> None:
        iters, counter = step - 1, step + 1  # the original's values after its increment of counter
        update_d, update_g = trainer.task.last_active
        if update_d:
            scalars = {name: losses[name] for name in D_SUMMARIES}
        else:
            scalars = {name: losses[name] for name in G_SUMMARIES}
            if config.gamma:
                scalars["g_loss"] = (losses[G_OBJECTIVE] - losses["L"]) / config.gamma
        trainer.summaries.scalars(scalars, step)
        if values.log_every and iters % values.log_every == 0 and trainer.chief:
            errd = losses["after_update/d_loss_fake"] + losses["after_update/d_loss_real"]
            print(f"Iters: [{iters:2d}] updated {'G' if update_g else ''}{'D' if update_d else ''}\n\t\t "
                  f"d_loss: {errd:.8f}, g_loss: {losses['after_update/g_loss']:.8f}", flush=True)
        if counter % SAMPLE_EVERY == SAMPLE_AT and iters in batches.first:
            batch = batches.first.pop(iters)
            generated = np.asarray(trainer.model.generate(batch["xt"], batch["pt"], batch["ptpn"]))
            visuals.write_png(os.path.join(run.samples_dir, f"train_{iters}.png"),
                              sample_grid(generated, batch)[..., ::-1])
        if counter % CHECKPOINT_EVERY == CHECKPOINT_AT:
            trainer.save_checkpoint(step, None)
            if trainer.chief:
                export_tf1(trainer.model, run, counter)
                exported.append(counter)

    result = trainer.fit(dataset_fn, hooks=[after_step])
    if trainer.chief and result.step > 0 and result.step + 1 not in exported:
        export_tf1(trainer.model, run, result.step + 1)
    trainer.summaries.flush()
    say(f"finished at iteration {result.step} ({result.status}); checkpoint "
        f"{os.path.join(run.models_dir, f'{CHECKPOINT_NAME}-{result.step + 1}')}")
    return result


# -------------------------------------------------------------------------------------------------------- test
def load_generator(models_dir: str, config: ImggenConfig) -> ImggenModel:
    """The test graph (GEN only) restored from the newest ``IMGGEN.model-<N>`` of ``models_dir``."""
    model = ImggenModel(config, with_discriminator=False)
    size, joints = config.image_size, config.n_joints
    model.generate(np.zeros((1, size, size, 3), np.float32), np.zeros((1, size, size, joints), np.float32),
                   np.zeros((1, size, size, joints), np.float32))
    if tf.train.latest_checkpoint(models_dir) is None:
        raise MissingInputError(f" [!] Load failed: {models_dir} holds no IMGGEN checkpoint (train it with "
                                f"train_imggen, or check --imggen_prefix / --models_dir)")
    report = converter.load(model, models_dir)
    print(f" [*] Load SUCCESS: {report.checkpoint}")
    return model


def _to_uint8(images: np.ndarray) -> np.ndarray:
    """``(inverse_transform(x) * 255).astype('uint8')`` (truncation) of [-1, 1] images."""
    return ((np.asarray(images, np.float32) + 1.) / 2. * 255).astype(np.uint8)


def _pose_image(pose: np.ndarray) -> np.ndarray:
    """``cvtColor(max over channels * 255., GRAY2RGB)`` as float32; ``cv2.imwrite`` rounds it to uint8."""
    return visuals.gray_to_bgr(np.asarray(pose, np.float32).max(axis=-1) * np.float32(255.))


def _rounded(image: np.ndarray) -> np.ndarray:
    """What ``cv2.imwrite`` makes of a float image: rounded (half to even) and saturated to uint8."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def test(values, say=print) -> List[str]:
    """Per test video, ``<results_dir>/images/PennAction/<imggen_prefix>/<action>_<NNNN>/`` (H3.6M:
    ``images/Human3.6m/<imggen_prefix>/<S>_<Action>[_<k.cam>]/``): the predicted joints of
    ``<results_dir>/pose/<lstm_prefix>/`` drawn as heat maps, every future frame generated from GT frame 9 and
    its pose (no recursion), written as ``input_img.png`` (channel 0 of frame 9: quirk), ``input_pose.png``,
    ``gt_%04d.png``, ``ours_%04d.png``, ``pose_%04d.png`` (bordered) and ``ours.gif``, ``gt.gif``, ``pose.gif``
    at 7 fps. Penn covers ``min(10 + fut_step, #frames)`` frames; H3.6M all ``10 + fut_step`` (frames past the
    video are mid-gray zeros, as the original). Returns the folders."""
    dataset = values.dataset
    config = ImggenConfig.for_dataset(dataset, image_size=values.image_size, batch_size=1, gf_dim=values.gf_dim)
    if values.fut_step < 1:
        raise InputError(f"--fut_step={values.fut_step} must be at least 1")
    if values.batch_size != 1:
        say(f"--batch_size={values.batch_size}: only the first element is ever used (as the original)")
    gpu = options.first_gpu(values.gpu)
    with device_scope(gpu):
        model = load_generator(os.path.join(values.models_dir, values.imggen_prefix), config)
    data_dir = options.dataset_dir(values)
    module = data_module(dataset)
    pose_dir = os.path.join(values.results_dir, "pose", values.lstm_prefix)
    if not os.path.isdir(pose_dir):
        raise MissingInputError(f"{pose_dir}: no pose predictions (run test_lstm with --prefix="
                                f"{values.lstm_prefix} first)")
    list_path = module.default_list(data_dir, "test" if dataset == "penn" else "imggen_test")
    videos = module.imggen_test_videos(list_path, pose_dir, data_dir, image_size=config.image_size,
                                       seen_step=SEEN_STEP, fut_step=values.fut_step)
    out_root = os.path.join(values.results_dir, "images", RESULT_FOLDERS[dataset], values.imggen_prefix)
    folders = []
    for video in videos:
        say(f" Video {video['index']}")
        folder = os.path.join(out_root, video["folder_name"])
        os.makedirs(folder, exist_ok=True)
        frames, poses = video["frames"], video["poses"]
        steps = int(video["num_frames"]) if dataset == "penn" else SEEN_STEP + values.fut_step
        xt, pt = frames[SEEN_STEP - 1][None], poses[SEEN_STEP - 1][None]
        predicted = np.zeros_like(frames)
        predicted[:SEEN_STEP] = frames[:SEEN_STEP]
        with device_scope(gpu):
            for t in range(SEEN_STEP, steps):
                predicted[t] = np.asarray(model.generate(xt, pt, poses[t][None]))[0]
        visuals.write_png(os.path.join(folder, "input_img.png"), _to_uint8(xt[0, :, :, 0]))
        visuals.write_png(os.path.join(folder, "input_pose.png"), _rounded(_pose_image(poses[SEEN_STEP - 1])))
        written = {"ours": [], "gt": [], "pose": []}
        for t in range(steps):
            is_input = t < SEEN_STEP
            images = {"gt": visuals.draw_frame(_to_uint8(frames[t]), is_input),
                      "ours": visuals.draw_frame(_to_uint8(predicted[t]), is_input),
                      "pose": _rounded(visuals.draw_frame(_pose_image(poses[t]), is_input))}
            for name, image in images.items():
                visuals.write_png(os.path.join(folder, f"{name}_{t:04d}.png"), image)
                written[name].append(image)
        for name, images in written.items():
            if images:
                visuals.write_gif_of_bgr(os.path.join(folder, f"{name}.gif"), images)
        folders.append(folder)
    say("Done.")
    return folders
