"""SAVP's discriminators, losses and schedules against the original's inventories and goldens
(shared/golden/savp: inventory/*.json, savp_small, deterministic_action_small) and independent NumPy math."""

import json
import math
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.golden.common import gaussian_kl_terms, rounding_bound
from vidpred_tf.hparams import HParams
from vidpred_tf.layers.spectral_norm import spectral_normalize
from vidpred_tf.models.savp import defaults
from vidpred_tf.models.savp import losses as L
from vidpred_tf.models.savp.discriminator import SAVPDiscriminator, sample_frames_and_clips

OUTPUT_TOL = 1e-4
LOSS_TOL = 1e-4
GRADIENT_TOL = 1e-3
CALLS = ("enc_real", "enc_fake", "real", "fake")
# Made by running the ORIGINAL discriminator_fn and loss fns (tf.compat.v1, the project's savp harness) on an
# 8x8x1 clip with the image and images kinds on, GAN loss, nz=2, ndf=1: variables from the original
# initialisers, its random draws, the first pass's outputs, the post pass's logits, every loss and 4 gradients.
ORIGINAL_2D = pathlib.Path(__file__).parent / "fixtures" / "savp_discriminator_2d_original.npz"
INVENTORIES_WITH_D = ("bair_action_free__ours_savp", "bair_action_free__ours_gan", "kth__ours_savp",
                      "kth__ours_gan", "bair__ours_savp")
INVENTORIES_WITHOUT_D = ("bair_action_free__ours_vae_l1", "bair_action_free__ours_deterministic_l1",
                         "kth__ours_deterministic_l2", "bair__ours_deterministic_l1")


@pytest.fixture(scope="module")
def savp_golden(golden_dir):
    """``<golden root>/savp``; a missing tree FAILS (a discriminator port with no reference is not tested)."""
    root = golden_dir / "savp"
    if not (root / "savp_small" / "golden.npz").is_file():
        pytest.fail(f"SAVP goldens missing under {root} (set VIDPRED_GOLDEN_DIR)")
    return root


def _hparams(resolved, **overrides):
    hparams = HParams(**defaults.SAVP)
    hparams.override_from_dict(dict(resolved, **overrides))
    return hparams


def _small_hparams(**overrides):
    base = dict(context_frames=2, sequence_length=6, clip_length=4, ndf=2, nz=4)
    base.update(overrides)
    return _hparams(base)


# ---------------------------------------------------------------------------------------------- 1. inventory
@pytest.mark.parametrize("config", INVENTORIES_WITH_D + INVENTORIES_WITHOUT_D)
def test_variables_match_the_inventory(savp_golden, config):
    inventory = json.loads((savp_golden / "inventory" / f"{config}.json").read_text())
    hparams = _hparams(inventory["config"]["resolved_hparams"])
    discriminator = SAVPDiscriminator(hparams, inventory["config"]["image_shape"])
    variables = discriminator.original_variables()
    trainable = [(name, list(var.shape)) for name, var in variables.items() if var.trainable]
    u_vars = [(name, list(var.shape)) for name, var in variables.items() if not var.trainable]
    assert trainable == [(e["name"], e["shape"]) for e in inventory["discriminator_trainable"]]
    assert u_vars == [(e["name"], e["shape"]) for e in inventory["non_trainable_global"] if e["name"] != "global_step"]
    count = sum(int(np.prod(var.shape)) for var in discriminator.trainable_weights)
    assert count == inventory["discriminator_param_count"]
    assert len(discriminator.trainable_weights) == len(trainable)
    assert len(discriminator.weights) == len(variables)
    if config in INVENTORIES_WITH_D:
        assert len(trainable) == 32 and len(u_vars) == 16
        assert count == (10288002 if inventory["config"]["image_shape"][-1] == 3 else 10284546)
        # Creation order within a layer: kernel, u, bias.
        names = list(variables)
        assert names[:3] == ["discriminator/encoder/video/sn_conv0_0/conv3d/kernel",
                             "discriminator/encoder/video/sn_conv0_0/conv3d/u",
                             "discriminator/encoder/video/sn_conv0_0/bias"]
        first_u = variables["discriminator/video/sn_conv3_0/conv3d/u"].numpy()
        assert np.abs(first_u).max() <= 2.0 and first_u.std() > 0.3  # truncated normal, stddev 1
    else:
        assert not variables


def test_image_and_images_kinds_and_shared_discriminator():
    hparams = _small_hparams(image_sn_gan_weight=1.0, images_sn_vae_gan_weight=1.0)
    discriminator = SAVPDiscriminator(hparams, (16, 16, 3))
    names = list(discriminator.original_variables())
    assert names[0] == "discriminator/encoder/image/sn_conv0_0/conv2d/kernel"
    assert "discriminator/encoder/images/sn_fc4/dense/u" in names
    assert "discriminator/images/sn_conv3_0/conv2d/bias" in names and not any("/video/" in n for n in names)
    assert discriminator.original_variables()["discriminator/image/sn_fc4/dense/kernel"].shape == (2 * 2 * 16, 1)
    rng = np.random.default_rng(0)
    inputs = {"images": tf.constant(rng.uniform(size=(6, 2, 16, 16, 3)), tf.float32)}
    gen = {"gen_images": tf.constant(rng.uniform(size=(5, 2, 16, 16, 3)), tf.float32),
           "gen_images_enc": tf.constant(rng.uniform(size=(5, 2, 16, 16, 3)), tf.float32)}
    outputs = discriminator(inputs, gen, seed=tf.constant([1, 2], tf.int32))
    assert outputs["discrim_image_sn_logits_real"].shape == (2, 1)
    assert outputs["discrim_image_sn_feature0_fake"].shape == (2, 16, 16, 2)
    assert outputs["discrim_images_sn_logits_enc_fake"].shape == (4, 2, 1)
    assert outputs["discrim_images_sn_feature6_enc_real"].shape == (4, 2, 2, 2, 16)
    assert list(outputs)[0] == "discrim_image_sn_logits_real"
    assert list(outputs)[-1] == "discrim_images_sn_feature6_enc_fake"

    shared = SAVPDiscriminator(_small_hparams(video_sn_vae_gan_weight=1.0, use_same_discriminator=True), (16, 16, 3))
    assert all(not n.startswith("discriminator/encoder/") for n in shared.original_variables())
    assert len(shared.original_variables()) == 24
    # nz = 0: no encoder set, no enc outputs.
    deterministic = SAVPDiscriminator(_small_hparams(nz=0, video_sn_gan_weight=1.0), (16, 16, 3))
    out = deterministic(inputs, {"gen_images": gen["gen_images"]}, seed=tf.constant([3, 4], tf.int32))
    assert len(deterministic.original_variables()) == 24
    assert sorted({k.rsplit("_", 1)[-1] for k in out}) == ["fake", "real"]


def test_clip_draws_are_independent_per_call_and_reproducible():
    hparams = _small_hparams(video_sn_gan_weight=1.0, video_sn_vae_gan_weight=1.0, sequence_length=12)
    discriminator = SAVPDiscriminator(hparams, (16, 16, 1))
    sampled = discriminator.sample_draws(64, tf.constant([5, 6]))
    assert list(sampled) == [f"{c}/{w}" for c in CALLS for w in ("t_sample", "t_start")]
    draws = [d.numpy() for d in sampled.values()]
    np.testing.assert_array_equal(discriminator.sample_draws(64, tf.constant([5, 6]))["fake/t_start"], draws[7])
    assert all(d.min() >= 0 for d in draws)
    assert all(d.max() < 11 for d in draws[::2]) and all(d.max() < 8 for d in draws[1::2])
    assert len({d.tobytes() for d in draws}) == 8  # every call and draw differs (Q6)
    # A pass from the seed equals the pass given the seed's draws.
    rng = np.random.default_rng(5)
    inputs = {"images": tf.constant(rng.uniform(size=(12, 2, 16, 16, 1)), tf.float32)}
    gen = {"gen_images": inputs["images"][1:] * 0.5, "gen_images_enc": inputs["images"][1:] * 0.7}
    from_seed = discriminator(inputs, gen, seed=tf.constant([7, 8]))
    from_draws = discriminator(inputs, gen, draws=discriminator.sample_draws(2, tf.constant([7, 8])))
    assert all(np.array_equal(from_seed[k].numpy(), from_draws[k].numpy()) for k in from_seed)
    # Injected draws pick the frames: clip of element b starts at t_start[b].
    images = tf.reshape(tf.range(12 * 2, dtype=tf.float32), (12, 2, 1, 1, 1)) * tf.ones((1, 1, 16, 16, 1))
    image, clip = sample_frames_and_clips(images[1:], 8, tf.constant([3, 0]), tf.constant([1, 2]))
    np.testing.assert_array_equal(image[:, 0, 0, 0].numpy(), [(3 + 1) * 2, 1 * 2 + 1])
    np.testing.assert_array_equal(clip[:, 1, 0, 0, 0].numpy(), [(t + 3) * 2 + 1 for t in range(8)])
    with pytest.raises(InputError, match="clip_length=12"):
        SAVPDiscriminator(_small_hparams(video_sn_gan_weight=1.0, clip_length=12), (16, 16, 1))


def test_spectral_normalize_against_numpy():
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(3, 3, 4, 5)).astype(np.float32)
    u = rng.normal(size=(1, 5)).astype(np.float32)
    normed, u_new = spectral_normalize(tf.constant(kernel), tf.constant(u))
    w = kernel.reshape(-1, 5).astype(np.float64)
    v = u @ w.T
    v = v / (np.linalg.norm(v) + 1e-12)
    u_exp = v @ w
    u_exp = u_exp / (np.linalg.norm(u_exp) + 1e-12)
    sigma = float((v @ w @ u_exp.T)[0, 0])
    np.testing.assert_allclose(u_new.numpy(), u_exp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(normed.numpy(), kernel / sigma, rtol=1e-5, atol=1e-6)
    converged, _ = spectral_normalize(tf.constant(kernel), tf.constant(u), num_iters=50)
    assert abs(np.linalg.norm(converged.numpy().reshape(-1, 5), 2) - 1.0) < 1e-4


# ---------------------------------------------------------------------------------------------- 2. savp_small
def _draws(golden, first):
    out = {}
    for i, call in enumerate(CALLS):
        out[f"{call}/t_sample"] = golden[f"rand/{first + 2 * i:02d}"]
        out[f"{call}/t_start"] = golden[f"rand/{first + 2 * i + 1:02d}"]
    return out


def _rel(actual, expected):
    return abs(float(actual) - float(expected)) / max(abs(float(expected)), 1e-30)


def test_savp_small_golden(savp_golden):
    case_dir = savp_golden / "savp_small"
    case = json.loads((case_dir / "case.json").read_text())
    golden = np.load(case_dir / "golden.npz")
    order = [d["op_name"] for d in case["random_draws_in_creation_order"][6:]]
    for i, call in enumerate(CALLS * 2):
        scope = ("discriminator" if i < 4 else "discriminator_1") + ("/encoder" if call == "enc_real" else
                                                                     "/encoder_1" if call == "enc_fake" else "")
        assert order[2 * i] == f"{scope}/{call.replace('enc_', '')}/random_uniform"
        assert order[2 * i + 1] == f"{scope}/{call.replace('enc_', '')}/random_uniform_1"

    hparams = _hparams(case["resolved_hparams"])
    discriminator = SAVPDiscriminator(hparams, case["image_shape"])
    reader = tf.train.load_checkpoint(str(case_dir / "model-6122"))
    variables = discriminator.original_variables()
    ckpt_d = sorted(n for n, _ in case["checkpoint_variables"] if n.startswith("discriminator/") and "Adam" not in n)
    assert sorted(variables) == ckpt_d
    for name, var in variables.items():
        var.assign(reader.get_tensor(name))
    u_before = {n: v.numpy() for n, v in variables.items() if n.endswith("/u")}

    inputs = {"images": tf.constant(np.transpose(golden["in/images"], (1, 0, 2, 3, 4)))}
    gen = {k: tf.constant(golden[f"out/{k}"]) for k in ("gen_images", "gen_images_enc", "zs_mu_enc",
                                                        "zs_log_sigma_sq_enc")}
    step = case["global_step"]
    with tf.GradientTape() as tape:
        outputs, u_updates = discriminator(inputs, gen, draws=_draws(golden, 6), return_u_updates=True)
        d_losses = L.discriminator_losses(hparams, inputs, {**gen, **outputs}, step)
        d_loss = L.weighted_total(d_losses)
    outputs_post = discriminator(inputs, gen, draws=_draws(golden, 14))

    for prefix, ours in (("out/", outputs), ("out_post/", outputs_post)):
        keys = [k for k in golden.files if k.startswith(prefix + "discrim_")]
        assert [prefix + k for k in ours] == keys  # same keys, same order
        for key in keys:
            actual = ours[key[len(prefix):]].numpy()
            assert actual.shape == golden[key].shape, key
            assert np.abs(actual - golden[key]).max() <= OUTPUT_TOL, key

    # The pass leaves u alone and hands back u' (one per spectrally normalised weight, the UPDATE_OPS).
    assert all(np.array_equal(variables[n].numpy(), u) for n, u in u_before.items())
    assert len(u_updates) == 16 and {id(v) for v, _ in u_updates} == {id(variables[n]) for n in u_before}
    for var, value in u_updates:
        assert value.shape == var.shape and abs(np.linalg.norm(value.numpy()) - 1.0) < 1e-5
    # u' of one layer recomputed in NumPy from the checkpoint's kernel and u.
    kernel = reader.get_tensor("discriminator/video/sn_conv1_1/conv3d/kernel").reshape(-1, 16).astype(np.float64)
    v = u_before["discriminator/video/sn_conv1_1/conv3d/u"] @ kernel.T
    u_new = (v / np.linalg.norm(v)) @ kernel
    updates = {id(var): value.numpy() for var, value in u_updates}
    np.testing.assert_allclose(updates[id(variables["discriminator/video/sn_conv1_1/conv3d/u"])],
                               u_new / np.linalg.norm(u_new), atol=1e-6)

    g_losses = L.generator_losses(hparams, inputs, {**gen, **outputs}, step)
    g_losses_post = L.generator_losses(hparams, inputs, {**gen, **outputs_post}, step)
    for group, losses in (("d_losses", d_losses), ("g_losses", g_losses), ("g_losses_post", g_losses_post)):
        assert [f"{group}/{k}" for k in losses] == [k for k in golden.files if k.startswith(group + "/")]
        for name, (loss, weight) in losses.items():
            assert float(weight) == case["loss_weights"][f"{group.replace('_post', '')}/{name}"], name
            expected = golden[f"{group}/{name}"]
            if name == "gen_kl_loss":
                mu, logvar = golden["out/zs_mu_enc"], golden["out/zs_log_sigma_sq_enc"]
                terms = gaussian_kl_terms(mu, logvar, scale=1.0 / (mu.shape[0] * mu.shape[1]))
                assert abs(float(loss) - float(expected)) <= rounding_bound(terms), name
                kl64 = L.kl_loss(tf.constant(mu, tf.float64), tf.constant(logvar, tf.float64))
                assert _rel(kl64, sum(float(np.sum(t)) for t in terms)) <= 1e-6
            else:
                assert abs(float(loss) - float(expected)) <= OUTPUT_TOL and _rel(loss, expected) <= LOSS_TOL, name
    assert float(case["loss_weights"]["g_losses/gen_kl_loss"]) == 0.0  # annealed to 0 at step 6122
    for total, key in ((d_loss, "d_loss"), (L.weighted_total(g_losses), "g_loss"),
                       (L.weighted_total(g_losses_post), "g_loss_post")):
        assert _rel(total, golden[key]) <= LOSS_TOL, key
        assert abs(float(total) - float(case["scalar_results"][key])) <= OUTPUT_TOL * max(1, abs(float(total)))

    names = [k[len("dgrad/"):] for k in golden.files if k.startswith("dgrad/")]
    assert names == list(n for n, v in variables.items() if v.trainable)[:4]
    grads = tape.gradient(d_loss, [variables[n] for n in names])
    for name, grad in zip(names, grads):
        expected = golden[f"dgrad/{name}"]
        assert np.abs(grad.numpy() - expected).max() <= GRADIENT_TOL * np.abs(expected).max(), name

    # Assigning the update changes what the next pass uses.
    SAVPDiscriminator.assign_u(u_updates)
    assert not np.array_equal(variables["discriminator/video/sn_conv0_0/conv3d/u"].numpy(),
                              u_before["discriminator/video/sn_conv0_0/conv3d/u"])


def test_image_and_images_kinds_against_the_original():
    ref = np.load(ORIGINAL_2D)
    meta = json.loads(str(ref["meta"]))
    hparams = _hparams(dict(meta["config"], context_frames=meta["context_frames"],
                            sequence_length=meta["sequence_length"]))
    discriminator = SAVPDiscriminator(hparams, meta["image_shape"])
    variables = discriminator.original_variables()
    assert list(variables) == [n for n in meta["var_order"] if n.startswith("discriminator/")]
    assert "discriminator/encoder/images/sn_conv0_0/conv2d/bias" in variables  # 2-D bias inside conv2d
    for name, var in variables.items():
        var.assign(ref[f"var/{name}"])
    order = [n.split("/")[-2] for n in meta["rand_names"]]
    assert order == ["real", "real", "fake", "fake"] * 2 * 2
    inputs = {"images": tf.constant(ref["in/images"])}
    gen = {"gen_images": tf.constant(ref["in/gen_images"]), "gen_images_enc": tf.constant(ref["in/gen_images_enc"])}
    with tf.GradientTape() as tape:
        outputs = discriminator(inputs, gen, draws=_draws(ref, 0))
        d_losses = L.discriminator_losses(hparams, inputs, {**gen, **outputs}, 0)
        d_loss = L.weighted_total(d_losses)
    outputs_post = discriminator(inputs, gen, draws=_draws(ref, 8))
    assert list(outputs) == meta["order_out"]
    for key, value in outputs.items():
        assert np.abs(value.numpy() - ref[f"out/{key}"]).max() <= OUTPUT_TOL, key
    for key in (k for k in ref.files if k.startswith("out_post/")):
        assert np.abs(outputs_post[key[len("out_post/"):]].numpy() - ref[key]).max() <= OUTPUT_TOL, key
    g_losses = L.generator_losses(hparams, inputs, {**gen, **outputs}, 0)
    g_losses_post = L.generator_losses(hparams, inputs, {**gen, **outputs_post}, 0)
    assert list(d_losses) == meta["order_d"] and list(g_losses) == meta["order_g"]
    assert [float(w) for _, w in d_losses.values()] == meta["weights_d"]
    assert [float(w) for _, w in g_losses.values()] == meta["weights_g"]
    for group, losses in (("d_losses", d_losses), ("g_losses", g_losses), ("g_losses_post", g_losses_post)):
        for name, (loss, _) in losses.items():
            assert _rel(loss, ref[f"{group}/{name}"]) <= LOSS_TOL, (group, name)
    for total, key in ((d_loss, "d_loss"), (L.weighted_total(g_losses), "g_loss"),
                       (L.weighted_total(g_losses_post), "g_loss_post")):
        assert _rel(total, ref[key]) <= LOSS_TOL, key
    names = [k[len("dgrad/"):] for k in ref.files if k.startswith("dgrad/")]
    assert len(names) == 4
    for name, grad in zip(names, tape.gradient(d_loss, [variables[n] for n in names])):
        expected = ref[f"dgrad/{name}"]
        assert np.abs(grad.numpy() - expected).max() <= GRADIENT_TOL * np.abs(expected).max(), name


# ---------------------------------------------------------------------------------------------- 3. deterministic
def test_deterministic_action_small_losses(savp_golden):
    case_dir = savp_golden / "deterministic_action_small"
    case = json.loads((case_dir / "case.json").read_text())
    golden = np.load(case_dir / "golden.npz")
    hparams = _hparams(case["resolved_hparams"])
    discriminator = SAVPDiscriminator(hparams, case["image_shape"])
    assert not discriminator.original_variables()
    inputs = {"images": tf.constant(np.transpose(golden["in/images"], (1, 0, 2, 3, 4))),
              "states": tf.constant(np.transpose(golden["in/states"], (1, 0, 2)))}
    outputs = {"gen_images": tf.constant(golden["out/gen_images"]), "gen_states": tf.constant(golden["out/gen_states"])}
    outputs.update(discriminator(inputs, outputs, seed=tf.constant([0, 1], tf.int32)))
    assert set(outputs) == {"gen_images", "gen_states"}
    d_losses = L.discriminator_losses(hparams, inputs, outputs, case["global_step"])
    g_losses = L.generator_losses(hparams, inputs, outputs, case["global_step"])
    assert not d_losses and float(L.weighted_total(d_losses)) == 0.0 == float(golden["d_loss"])
    assert list(g_losses) == ["gen_l2_loss", "gen_state_loss"]
    for name, (loss, weight) in g_losses.items():
        assert float(weight) == case["loss_weights"][f"g_losses/{name}"]
        assert _rel(loss, golden[f"g_losses/{name}"]) <= LOSS_TOL, name
    assert _rel(L.weighted_total(g_losses), golden["g_loss"]) <= LOSS_TOL
    assert _rel(L.learning_rate(hparams)(case["global_step"]), golden["out/learning_rate"]) <= 1e-6


# ---------------------------------------------------------------------------------------------- 4. schedules
def test_kl_weight_schedules():
    hparams = _small_hparams(kl_weight=0.25)
    for step, expected in ((0, 0.0), (50000, 0.0), (75000, 0.125), (100000, 0.25), (400000, 0.25)):
        assert abs(float(L.kl_weight(hparams, step)) - expected) < 1e-7, step
    assert L.kl_weight(_small_hparams(kl_weight=0.0), 100000) is None
    assert float(L.kl_weight(_small_hparams(kl_weight=0.3, kl_anneal="none"), 0)) == pytest.approx(0.3)
    sigmoid = _small_hparams(kl_weight=2.0, kl_anneal="sigmoid", kl_anneal_k=1000.0)
    for step in (0, 1000, 7000, 20000):
        expected = 2.0 / (1.0 + 1000.0 * math.exp(-step / 1000.0))
        assert float(L.kl_weight(sigmoid, step)) == pytest.approx(expected, rel=1e-5), step
    with pytest.raises(InputError, match="kl_anneal_k"):
        L.kl_weight(_small_hparams(kl_weight=1.0, kl_anneal="sigmoid"), 0)
    with pytest.raises(InputError, match="kl_anneal"):
        L.kl_weight(_small_hparams(kl_weight=1.0, kl_anneal="cosine"), 0)


def test_learning_rate_schedules():
    schedule = L.learning_rate(_small_hparams(lr=2e-4))
    for step, expected in ((0, 2e-4), (200000, 2e-4), (250000, 1e-4), (300000, 0.0), (350000, 0.0)):
        assert float(schedule(step)) == pytest.approx(expected, abs=1e-10), step
    piecewise = L.learning_rate(_small_hparams(lr=1.0, lr_boundaries=[10, 20]))
    assert [float(piecewise(s)) for s in (0, 10, 11, 20, 21)] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])
    steps = L.learning_rate(_small_hparams(lr=1.0, end_lr=0.5, decay_steps=[100, 100]))
    assert [float(steps(s)) for s in (99, 100)] == [1.0, 0.5]
    constant = L.learning_rate(_small_hparams(lr=3e-3, decay_steps=[0, 0]))
    assert float(constant(10 ** 6)) == pytest.approx(3e-3)


def test_gan_loss_forms_against_numpy():
    logits = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    expected = {("GAN", 1.0): softplus(-logits).mean(), ("GAN", 0.0): softplus(logits).mean(),
                ("LSGAN", 1.0): ((logits - 1) ** 2).mean(), ("LSGAN", 0.0): (logits ** 2).mean(),
                ("SNGAN", 1.0): softplus(-logits).mean(), ("SNGAN", 0.0): softplus(logits).mean()}
    for (kind, label), value in expected.items():
        assert float(L.gan_loss(logits, label, kind)) == pytest.approx(value, rel=1e-5), (kind, label)
    smoothed = float(L.gan_loss(logits, 0.9, "GAN"))
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    kl = 0.9 * np.log(0.9 / p) + 0.1 * np.log(0.1 / (1 - p))
    assert smoothed == pytest.approx(kl.mean(), rel=1e-4)
    with pytest.raises(ValueError):
        L.gan_loss(logits, 0.5, "SNGAN")
    with pytest.raises(InputError, match="WGAN"):
        L.gan_loss(logits, 1.0, "WGAN")
    a, b = np.random.default_rng(3).normal(size=(2, 2, 3, 5))
    na = a / (np.linalg.norm(a, axis=-1, keepdims=True) + 1e-10)
    nb = b / (np.linalg.norm(b, axis=-1, keepdims=True) + 1e-10)
    assert float(L.cosine_distance(tf.constant(a), tf.constant(b))) == pytest.approx(
        (((na - nb) ** 2).sum(-1)).mean() / 2, rel=1e-10)


def test_gan_and_feature_losses_use_the_right_outputs():
    hparams = _small_hparams(video_sn_gan_weight=0.5, gan_loss_type="GAN", gan_feature_l2_weight=2.0,
                             l1_weight=0.0, l2_weight=1.0)
    rng = np.random.default_rng(4)
    outputs = {"gen_images": tf.constant(rng.uniform(size=(3, 1, 2, 2, 1))),
               "discrim_video_sn_logits_fake": tf.constant([[0.3]]),
               "discrim_video_sn_logits_real": tf.constant([[1.2]])}
    features = {}
    for i in range(2):
        for call in ("real", "fake"):
            features[(i, call)] = rng.normal(size=(2, 1, 3))
            outputs[f"discrim_video_sn_feature{i}_{call}"] = tf.constant(features[(i, call)])
    inputs = {"images": tf.constant(rng.uniform(size=(4, 1, 2, 2, 1)))}
    g = L.generator_losses(hparams, inputs, outputs, 0)
    assert list(g) == ["gen_l2_loss", "gen_video_sn_gan_loss", "gen_video_sn_gan_feature_l2_loss"]
    assert float(g["gen_l2_loss"][0]) == pytest.approx(
        ((inputs["images"].numpy()[1:] - outputs["gen_images"].numpy()) ** 2).mean())
    assert float(g["gen_video_sn_gan_loss"][0]) == pytest.approx(math.log1p(math.exp(-0.3)), rel=1e-6)
    assert float(g["gen_video_sn_gan_feature_l2_loss"][0]) == pytest.approx(
        sum(((features[(i, "fake")] - features[(i, "real")]) ** 2).mean() for i in range(2)))
    d = L.discriminator_losses(hparams, inputs, outputs, 0)
    assert list(d) == ["discrim_video_sn_gan_loss"]
    assert float(d["discrim_video_sn_gan_loss"][0]) == pytest.approx(
        math.log1p(math.exp(-1.2)) + math.log1p(math.exp(0.3)), rel=1e-6)
    assert float(L.weighted_total(d)) == pytest.approx(0.5 * float(d["discrim_video_sn_gan_loss"][0]))


def test_vgg_cdist_weight_is_refused():
    hparams = _small_hparams(vgg_cdist_weight=1.0)
    images = tf.zeros((3, 1, 2, 2, 1))
    with pytest.raises(InputError, match="vgg_cdist_weight=1.0.*does not exist"):
        L.generator_losses(hparams, {"images": images}, {"gen_images": images[1:]}, 0)
