"""hierchvid stage 2: the image-analogy generator, its discriminator, the losses, the sticky GAN schedule and the
training task on the shared trainer (spec 4.2, 4.3, 5.2; checklist 6-9 and 14)."""

import os
import re
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from fixtures.hierchvid_perceptual import SMALL_ALEXNET_WIDTHS, SMALL_HOURGLASS_WIDTHS, fake_alexnet, fake_hourglass

from vidpred_tf.convert.hierchvid_perceptual import torch_to_hwio
from vidpred_tf.errors import InputError
from vidpred_tf.golden.common import run_cases
from vidpred_tf.models.hierchvid.config import ImggenConfig
from vidpred_tf.models.hierchvid.discriminator import PoseDiscriminator, batch_norm_batch_stats, lrelu
from vidpred_tf.models.hierchvid.gan_schedule import StickyGanSchedule
from vidpred_tf.models.hierchvid.imggen import ImageAnalogyGenerator, ImggenModel, unpool2x2_zero_filled
from vidpred_tf.models.hierchvid.imggen_losses import LOSS_NAMES
from vidpred_tf.models.hierchvid.imggen_task import AFTER_PREFIX, ImggenTask
from vidpred_tf.papers.hierchvid import golden_imggen
from vidpred_tf.training import Trainer, TrainerConfig, make_strategy

SIZE, JOINTS, WIDTH, BATCH = 32, 5, 4, 2


def _tiny_config(**overrides):
    values = dict(image_size=SIZE, batch_size=BATCH, n_joints=JOINTS, gf_dim=WIDTH, df_dim=WIDTH)
    values.update(overrides)
    return ImggenConfig.for_dataset("penn", **values)


def _batch(seed=0, batch=BATCH, size=SIZE, joints=JOINTS):
    rng = np.random.RandomState(seed)
    xt = rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
    xtpn = np.clip(xt + 0.3 * rng.randn(*xt.shape), -1, 1).astype(np.float32)
    pt = rng.uniform(0, 1, (batch, size, size, joints)).astype(np.float32)
    ptpn = rng.uniform(0, 1, (batch, size, size, joints)).astype(np.float32)
    images = ((np.stack([xt, xtpn], 1) + 1) / 2).astype(np.float32)
    return {"xt": xt, "xtpn": xtpn, "pt": pt, "ptpn": ptpn, "images": images}


@pytest.fixture(scope="module")
def perceptual():
    alexnet = {name: (w, b) for name, (w, b) in fake_alexnet(SMALL_ALEXNET_WIDTHS).items()}
    hourglass = [torch_to_hwio(a) for a in fake_hourglass(SMALL_HOURGLASS_WIDTHS)]
    return alexnet, hourglass


# ------------------------------------------------------------------------------------------------ shapes, counts
@pytest.mark.parametrize("dataset, joints, gen_total, dis_total", [("penn", 48, 5_232_131, 4_417_921),
                                                                   ("h36m", 32, 5_222_915, 4_392_321)])
def test_parameter_counts_at_the_readme_settings(dataset, joints, gen_total, dis_total):
    config = ImggenConfig.for_dataset(dataset)
    assert (config.n_joints, config.image_size, config.batch_size) == (joints, 128, 8)
    model = ImggenModel(config)
    gen = model.generator.original_variables()
    dis = model.discriminator.original_variables()
    assert len(gen) == 42 and model.generator.param_count() == gen_total
    assert len(model.discriminator.trainable_original_variables()) == 16
    assert model.discriminator.param_count() == dis_total
    moving = [n for n, v in dis.items() if not v.trainable]
    assert moving == [f"DIS/bn{k}/{s}" for k in (1, 2, 3) for s in ("moving_mean", "moving_variance")]
    assert list(gen)[:2] == ["GEN/enc_iconv1_1/w", "GEN/enc_iconv1_1/biases"]
    assert tuple(gen["GEN/dec_deconv3_1/w"].shape) == (3, 3, 128, 256)  # [k, k, out, in] as TF1
    assert tuple(dis["DIS/dis_h3_lin/Matrix"].shape) == (8 * 8 * 512, 1)


def test_config_defaults_run_name_and_bad_values():
    assert ImggenConfig.for_dataset("h36m").steps == 1000 and ImggenConfig.for_dataset("penn").steps == 30
    assert ImggenConfig().run_name == "PENNACTION_ANALOGY_imgsize=128_layer=3_alpha=1.0_beta=1.0_gamma=1.0_lr=0.0001"
    assert ImggenConfig.for_dataset("h36m").run_name.startswith("HUMAN3.6M_ANALOGY_imgsize=128_")
    assert ImggenConfig.from_flags({"dataset": "h36m", "lr": "0.001"}).lr == 0.001
    with pytest.raises(InputError, match="--layer=4"):
        ImggenConfig(layer=4)
    with pytest.raises(InputError, match="--dataset='kth'"):
        ImggenConfig.for_dataset("kth")


def test_zero_filled_unpool_puts_each_value_top_left():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])[None, :, :, None]
    out = unpool2x2_zero_filled(x)[0, :, :, 0].numpy()
    np.testing.assert_array_equal(out, [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])
    many = tf.random.stateless_uniform([2, 3, 5, 4], [1, 2])
    out = unpool2x2_zero_filled(many).numpy()
    np.testing.assert_array_equal(out[:, ::2, ::2], many.numpy())
    assert out.shape == (2, 6, 10, 4) and np.count_nonzero(out) == np.count_nonzero(many.numpy())


def test_generator_shape_range_and_the_identity_analogy():
    generator = ImageAnalogyGenerator(JOINTS, WIDTH)
    batch = _batch()
    x_hat = generator(batch["xt"], batch["pt"], batch["ptpn"]).numpy()
    assert x_hat.shape == (BATCH, SIZE, SIZE, 3) and np.all(np.abs(x_hat) < 1)
    g = ImggenModel(_tiny_config(), with_discriminator=False)({"xt": batch["xt"], "pt": batch["pt"],
                                                               "ptpn": batch["ptpn"]})["G"]
    assert tuple(g.shape) == (BATCH, SIZE, SIZE, 1, 3)
    # pt == ptpn: the pose difference vanishes and G is Dec(Enc_img(xt)).
    same = generator(batch["xt"], batch["pt"], batch["pt"]).numpy()
    np.testing.assert_allclose(same, generator.decode(generator.encode_image(batch["xt"])).numpy(), atol=1e-6)


def test_pose_encoder_runs_once_on_the_two_poses_stacked():
    generator = ImageAnalogyGenerator(JOINTS, WIDTH)
    batch = _batch()
    both = generator.encode_pose(np.concatenate([batch["pt"], batch["ptpn"]], 0)).numpy()
    h = generator.encode_image(batch["xt"]).numpy() + both[BATCH:] - both[:BATCH]
    np.testing.assert_allclose(generator(batch["xt"], batch["pt"], batch["ptpn"]).numpy(),
                               generator.decode(h).numpy(), atol=1e-6)


# -------------------------------------------------------------------------------------------------- discriminator
def test_discriminator_always_normalises_with_the_batch_of_the_call():
    discriminator = PoseDiscriminator(JOINTS, SIZE, WIDTH)
    batch = _batch()
    _, alone = discriminator(batch["xtpn"][:1], batch["ptpn"][:1])
    _, together = discriminator(batch["xtpn"], batch["ptpn"])
    assert not np.allclose(alone.numpy()[0], together.numpy()[0])  # batch statistics, not moving averages
    prob, logits = discriminator(batch["xtpn"], batch["ptpn"])
    np.testing.assert_allclose(prob.numpy(), tf.sigmoid(logits).numpy(), rtol=1e-6)
    stats = {n: v.numpy().copy() for n, v in discriminator.original_variables().items() if "moving" in n}
    assert all(np.all(v == (0 if "mean" in n else 1)) for n, v in stats.items())
    x = tf.random.stateless_normal([4, 3, 3, 2], [3, 4]) * 3 + 1
    normed = batch_norm_batch_stats(x, tf.zeros(2), tf.ones(2)).numpy()
    np.testing.assert_allclose(normed.mean((0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(normed.var((0, 1, 2)), x.numpy().var((0, 1, 2)) / (x.numpy().var((0, 1, 2)) + 1e-3),
                               rtol=1e-4)
    np.testing.assert_allclose(lrelu(tf.constant([-1.0, 2.0])).numpy(), [-0.2, 2.0], rtol=1e-6)


def test_the_three_discriminator_calls_are_normalised_separately(perceptual):
    task = ImggenTask(_tiny_config(), *perceptual)
    model = task.build_model()
    batch = _batch()
    _, losses, logits = task.forward(model, batch)
    x_hat = model.generate(batch["xt"], batch["pt"], batch["ptpn"])
    _, good = model.discriminator(batch["xtpn"], batch["ptpn"])
    _, generated = model.discriminator(x_hat, batch["ptpn"])
    np.testing.assert_allclose(logits["D_logits"].numpy(), good.numpy(), rtol=1e-6)
    np.testing.assert_allclose(logits["D_logits_"].numpy(), generated.numpy(), rtol=1e-5, atol=1e-6)
    _, joint = model.discriminator(tf.concat([batch["xtpn"], x_hat], 0), tf.concat([batch["ptpn"]] * 2, 0))
    assert not np.allclose(joint.numpy()[:BATCH], good.numpy())
    assert set(LOSS_NAMES) <= set(losses)
    np.testing.assert_allclose(float(losses["d_loss"]), float(losses["d_loss_real"] + losses["d_loss_fake1"]
                                                              + losses["d_loss_fake2"]), rtol=1e-6)
    np.testing.assert_allclose(float(losses["L"]), float(losses["L_img"] + losses["feat_loss1"]
                                                         + losses["feat_loss2"]), rtol=1e-6)
    np.testing.assert_allclose(float(losses["L_img"]), 0.5 * np.mean((x_hat.numpy() - batch["xtpn"]) ** 2),
                               rtol=1e-5)
    softplus = np.log1p(np.exp(logits["D_logits_"].numpy()))
    np.testing.assert_allclose(float(losses["d_loss_fake1"]), 0.5 * softplus.mean(), rtol=1e-5)


# ----------------------------------------------------------------------------------------------------- schedule
def _original_flags(pairs, margin=0.3):
    """train_penn.py's rule transcribed on its own: flags after each (errD_fake, errD_real)."""
    update_d = update_g = True
    out = []
    for err_fake, err_real in pairs:
        if err_fake < margin or err_real < margin:
            update_d = False
        if err_fake > (1.0 - margin) or err_real > (1.0 - margin):
            update_g = False
        if not update_d and not update_g:
            update_d = True
            update_g = True
        out.append((update_d, update_g))
    return out


def test_sticky_schedule_reproduces_the_original_flag_sequence():
    rng = np.random.RandomState(0)
    pairs = [tuple(p) for p in rng.uniform(0.1, 0.9, (400, 2))]
    pairs += [(0.5, 0.5), (0.2, 0.5), (0.5, 0.5), (0.5, 0.8), (0.5, 0.5), (0.8, 0.5), (0.5, 0.2), (0.3, 0.7)]
    schedule = StickyGanSchedule()
    assert [schedule.update(*p) for p in pairs] == _original_flags(pairs)
    sticky = StickyGanSchedule()
    assert sticky.update(0.2, 0.5) == (False, True)
    assert sticky.update(0.5, 0.5) == (False, True)  # stays off while G is on
    assert sticky.update(0.5, 0.8) == (True, True)  # both off -> both on


# ------------------------------------------------------------------------------------------------------ trainer
class _PooledFeatures(keras.layers.Layer):
    """A cheap stand-in for the frozen perceptual nets (the schedule does not depend on them): average pools."""

    def __init__(self, as_list: bool):
        super().__init__(trainable=False, name="pooled_list" if as_list else "pooled")
        self.as_list = as_list
        self.scale = self.add_weight(shape=(), initializer="ones", trainable=False, name="scale")

    def call(self, images):
        pooled = tf.nn.avg_pool2d(images * self.scale, 4, 4, "VALID")
        return [pooled, pooled] if self.as_list else pooled


class _CheapPerceptualTask(ImggenTask):
    def build_model(self):
        return ImggenModel(self.config, alexnet=_PooledFeatures(False), hourglass=_PooledFeatures(True))


def _fit(task, model_dir, steps, batch, hooks=()):
    trainer = Trainer(task, TrainerConfig(model_dir=str(model_dir), num_steps=steps, global_batch_size=BATCH,
                                          checkpoint_every=1, log_every=0, handle_sigterm=False),
                      make_strategy("one_device"))
    result = trainer.fit(lambda context: tf.data.Dataset.from_tensors(batch).repeat(), hooks=hooks)
    return trainer, result


def test_shared_trainer_runs_the_schedule_and_resumes_it(tmp_path):
    batch = _batch()
    # A wide margin makes the flags move within a few steps; layer 1 of the stand-in's two "hourglass" outputs.
    config = _tiny_config(margin=0.45, layer=1)
    records = []

    def record(trainer, step, losses):
        records.append((tuple(bool(f) for f in trainer.task.update_flags.numpy()), dict(losses)))

    task = _CheapPerceptualTask(config, None, None)
    trainer, result = _fit(task, tmp_path, 3, batch, hooks=[record])
    assert result.step == 3 and all(np.isfinite(v) for v in result.losses.values())
    assert {AFTER_PREFIX + k for k in ("d_loss_fake", "d_loss_real", "g_loss")} <= set(result.losses)
    pairs = [(r[1][AFTER_PREFIX + "d_loss_fake"], r[1][AFTER_PREFIX + "d_loss_real"]) for r in records]
    flags = _original_flags(pairs, margin=0.45)
    assert [r[0] for r in records] == flags
    g_steps = sum(g for _, g in [(True, True)] + flags[:-1])
    d_steps = sum(d for d, _ in [(True, True)] + flags[:-1])
    generator, discriminator = trainer.optimizer_specs
    assert (int(generator.optimizer.iterations), int(discriminator.optimizer.iterations)) == (g_steps, d_steps)

    resumed = _CheapPerceptualTask(config, None, None)
    resumed.update_flags.assign([True, True])
    trainer2 = Trainer(resumed, TrainerConfig(model_dir=str(tmp_path), num_steps=4, global_batch_size=BATCH,
                                              checkpoint_every=1, log_every=0, handle_sigterm=False),
                       make_strategy("one_device"))
    trainer2.restore()
    assert tuple(bool(f) for f in resumed.update_flags.numpy()) == flags[-1]
    before = [v.numpy() for v in trainer2.model.generator_variables()]
    trainer2.fit(lambda context: tf.data.Dataset.from_tensors(batch).repeat())
    moved = any(not np.array_equal(a, v.numpy()) for a, v in zip(before, trainer2.model.generator_variables()))
    assert moved == flags[-1][1]  # step 4 updates G only if the restored updateG says so


# ------------------------------------------------------------------------------------------------------- golden
@pytest.fixture(scope="module")
def imggen_golden(golden_dir):
    path = golden_dir / "hierchvid"
    if not (path / "imggen_penn_small.npz").is_file():
        stop = pytest.fail if "VIDPRED_GOLDEN_DIR" in os.environ else pytest.skip
        stop(f"the goldens at {golden_dir} have no hierchvid/imggen_penn_small.npz")
    return path


def test_the_golden_imggen_case_and_inventory_pass(imggen_golden, capsys):
    cases = golden_imggen.find_cases(imggen_golden)
    assert sorted(c.kind for c in cases) == ["imggen", "imggen_inventory"]
    code = run_cases("hierchvid imggen", cases, golden_imggen.check_case)
    out = capsys.readouterr().out
    assert code == 0, out[-4000:]
    for pattern in (r"ok   output    fwd/G: ", r"ok   loss      fwd/feat_loss2: ", r"ok   loss      after_g_step/L: ",
                    r"ok   loss      after_g_then_d_step/d_loss: ", r"ok   output    test/G: ",
                    r"ok   exact     trainer: update flags", r"penn_train: GEN parameter count: .*port 5,232,131",
                    r"h36m_train: DIS parameter count: .*port 4,392,321"):
        assert re.search(pattern, out), pattern


def test_a_renamed_copy_of_the_golden_case_is_found(imggen_golden, tmp_path):
    target = tmp_path / "recorded_elsewhere"
    (target / "weights").mkdir(parents=True)
    shutil.copy(imggen_golden / "imggen_penn_small.npz", target / "io.npz")
    shutil.copy(imggen_golden / "perceptual_penn_small.npz", target / "frozen.npz")
    meta = (imggen_golden / "imggen_penn_small.json").read_text().replace("ckpt_imggen_penn_small/IMGGEN.model-0",
                                                                          "nowhere")
    (target / "settings.json").write_text(meta)
    for path in (imggen_golden / "ckpt_imggen_penn_small").glob("IMGGEN.model-0.*"):
        shutil.copy(path, target / "weights" / path.name.replace("IMGGEN.model-0", "saved"))
    cases = golden_imggen.find_cases(tmp_path)
    assert len(cases) == 1 and not cases[0].missing, [c.missing for c in cases]
    case = cases[0]
    assert (case.anchor.name, case.file("*.json").name, case.file("*.npz").name, case.file("*.index").name) == (
        "io.npz", "settings.json", "frozen.npz", "saved.index")
