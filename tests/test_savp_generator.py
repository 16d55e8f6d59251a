"""SAVP generator: variable names, shapes and counts against every savp inventory of the original, and outputs /
gradients against the goldens the original produced (savp_small, deterministic_action_small)."""

import json
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.hparams import HParams
from vidpred_tf.models.savp import defaults
from vidpred_tf.models.savp.generator import SAVPGenerator, ground_truth_probability, ground_truth_schedule

# conftest.golden_root's rule, needed at collection time (the inventories parametrize the tests).
GOLDEN = pathlib.Path(os.environ.get("VIDPRED_GOLDEN_DIR",
                                     pathlib.Path(__file__).resolve().parents[2] / "shared" / "golden")) / "savp"
INVENTORY = GOLDEN / "inventory"
ACTION_DIM, STATE_DIM = 4, 3


def _golden_dir():
    assert GOLDEN.is_dir(), f"SAVP goldens missing: {GOLDEN} (set VIDPRED_GOLDEN_DIR)"
    return GOLDEN


def _hparams(resolved, **overrides):
    hp = HParams(**defaults.SAVP)
    hp.override_from_dict({k: v for k, v in resolved.items() if k in defaults.SAVP})
    hp.override_from_dict(overrides)
    return hp


def _savp_inventories():
    _golden_dir()
    names = []
    for path in sorted(INVENTORY.glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("config", {}).get("model") == "savp":
            names.append(path.name)
    return names


SAVP_INVENTORIES = _savp_inventories()


def test_every_savp_config_has_an_inventory():
    assert len(SAVP_INVENTORIES) == 12
    assert "bair_action_free__ours_savp.json" in SAVP_INVENTORIES and "bair__ours_savp.json" in SAVP_INVENTORIES


@pytest.mark.parametrize("name", SAVP_INVENTORIES)
def test_variables_match_inventory(name):
    inv = json.loads((INVENTORY / name).read_text())
    config = inv["config"]
    use_state = config["use_state"]
    gen = SAVPGenerator(_hparams(config["resolved_hparams"]), config["image_shape"],
                        ACTION_DIM if use_state else 0, STATE_DIM if use_state else 0)
    got = [(k, list(v.shape)) for k, v in gen.original_variables().items()]
    expected = [(v["name"], v["shape"]) for v in inv["generator_trainable"]]
    assert got == expected
    assert sum(int(np.prod(s)) for _, s in got) == inv["generator_param_count"]
    assert sum(int(np.prod(v.shape)) for v in gen.trainable_variables) == inv["generator_param_count"]


def test_known_counts():
    counts = {}
    for name in ("bair_action_free__ours_savp.json", "kth__ours_savp.json", "bair__ours_deterministic_l1.json"):
        counts[name] = json.loads((INVENTORY / name).read_text())["generator_param_count"]
    assert counts == {"bair_action_free__ours_savp.json": 7349993, "kth__ours_savp.json": 8217669,
                      "bair__ours_deterministic_l1.json": 6646961}


# ----------------------------------------------------------------------------------------------------- goldens
def _load_case(case):
    root = _golden_dir() / case
    meta = json.loads((root / "case.json").read_text())
    arrays = np.load(root / "golden.npz")
    hp = _hparams(meta["resolved_hparams"])
    action_dim = arrays["in/actions"].shape[-1] if "in/actions" in arrays else 0
    state_dim = arrays["in/states"].shape[-1] if "in/states" in arrays else 0
    gen = SAVPGenerator(hp, meta["image_shape"], action_dim, state_dim, mode="train")
    reader = tf.train.load_checkpoint(str(root / f"model-{meta['global_step']}"))
    for name, var in gen.original_variables().items():
        var.assign(reader.get_tensor(name))
    inputs = {"images": np.transpose(arrays["in/images"], [1, 0, 2, 3, 4])}
    if action_dim:
        inputs["actions"] = np.transpose(arrays["in/actions"], [1, 0, 2])
    if state_dim:
        inputs["states"] = np.transpose(arrays["in/states"], [1, 0, 2])
    return meta, arrays, gen, inputs


def _generator_keys(arrays):
    return [k[4:] for k in arrays.files
            if k.startswith("out/") and not k.startswith("out/discrim_") and k not in ("out/learning_rate",
                                                                                     "out/kl_weight")]


def test_golden_savp_small():
    meta, arrays, gen, inputs = _load_case("savp_small")
    draws = {"eps_enc": arrays["rand/00"], "eps_prior": arrays["rand/01"], "sampling_enc": arrays["rand/02"],
             "sampling": arrays["rand/03"], "eps_samples": arrays["rand/04"], "sampling_samples": arrays["rand/05"]}
    out = gen(inputs, step=meta["global_step"], seed=[0, 0], draws=draws)
    keys = _generator_keys(arrays)
    assert list(out.keys()) == keys
    errors = {k: float(np.max(np.abs(out[k].numpy() - arrays["out/" + k]))) for k in keys}
    print("savp_small max abs errors:", errors)
    assert max(errors.values()) <= 1e-4, errors
    # Q3: step 0 of the prior unroll uses the posterior z (context_frames - 1 = 1 step), so it equals the posterior's
    np.testing.assert_array_equal(out["gen_images"][0].numpy(), out["gen_images_enc"][0].numpy())
    # the L1 loss the original reported is on the posterior unroll
    images = inputs["images"]
    l1 = np.mean(np.abs(images[1:] - out["gen_images_enc"].numpy()))
    assert l1 == pytest.approx(float(arrays["g_losses/gen_l1_loss"]), abs=1e-5)


def test_golden_deterministic_action_small_outputs_and_gradients():
    meta, arrays, gen, inputs = _load_case("deterministic_action_small")
    weights = meta["loss_weights"]
    with tf.GradientTape() as tape:
        out = gen(inputs, step=meta["global_step"], seed=[0, 0], draws={"sampling": arrays["rand/00"]})
        l2 = tf.reduce_mean(tf.square(inputs["images"][1:] - out["gen_images"]))
        state = tf.reduce_mean(tf.square(inputs["states"][1:] - out["gen_states"]))
        loss = weights["g_losses/gen_l2_loss"] * l2 + weights["g_losses/gen_state_loss"] * state
    keys = _generator_keys(arrays)
    assert list(out.keys()) == keys
    errors = {k: float(np.max(np.abs(out[k].numpy() - arrays["out/" + k]))) for k in keys}
    print("deterministic_action_small max abs errors:", errors)
    assert max(errors.values()) <= 1e-4, errors
    assert float(l2) == pytest.approx(float(arrays["g_losses_post/gen_l2_loss"]), abs=1e-6)
    assert float(state) == pytest.approx(float(arrays["g_losses_post/gen_state_loss"]), abs=1e-6)
    assert float(loss) == pytest.approx(float(arrays["g_loss_post"]), abs=1e-6)
    variables = gen.original_variables()
    names = [k[len("ggrad/"):] for k in arrays.files if k.startswith("ggrad/")]
    assert len(names) == 6
    grads = tape.gradient(loss, [variables[n] for n in names])
    for name, grad in zip(names, grads):
        ref = arrays["ggrad/" + name]
        err = float(np.max(np.abs(grad.numpy() - ref)))
        print(f"ggrad {name}: max abs {err:.2e}, relative {err / np.max(np.abs(ref)):.2e}")
        # relative 1e-3; a bias followed by an instance norm has a zero gradient (float noise, ~1e-9, in both)
        assert err <= 1e-3 * np.max(np.abs(ref)) + 1e-7, (name, err)
    assert np.max(np.abs(grads[1].numpy())) < 1e-7 and names[1].endswith("h0/conv_pool2d/bias")


# ---------------------------------------------------------------------------------------- scheduled sampling
def test_scheduled_sampling_probability_and_schedule():
    hp = HParams(**defaults.SAVP)
    hp.override_from_dict({"context_frames": 2, "sequence_length": 6})
    for step in (0, 900, 6122):
        assert float(ground_truth_probability(hp, step)) == pytest.approx(900 / (900 + np.exp(step / 900)), rel=1e-5)
    ones = np.ones([3, 3], np.int64)
    gt = ground_truth_schedule(hp, "train", 12000, 3, sampling=ones).numpy()
    assert gt.shape == (5, 3) and gt.all()
    gt = ground_truth_schedule(hp, "train", 12400, 3, sampling=ones).numpy()  # p < 0.001: all False
    assert gt[:2].all() and not gt[2:].any()
    gt = ground_truth_schedule(hp, "test", 0, 3, sampling=ones).numpy()
    assert gt[:2].all() and not gt[2:].any()
    hp.set_hparam("schedule_sampling", "linear")
    assert float(ground_truth_probability(hp, 25000)) == pytest.approx(0.75)
    drawn = ground_truth_schedule(hp, "train", 50000, 64, seed=tf.constant([3, 4])).numpy()
    assert 0.3 < drawn[2:].mean() < 0.7
    hp.set_hparam("schedule_sampling", "none")
    assert not ground_truth_schedule(hp, "train", 0, 2).numpy()[2:].any()


# --------------------------------------------------------------------------------------- draws from the seed
def _tiny(**overrides):
    values = dict(context_frames=2, sequence_length=4, ngf=4, nef=4, nz=2, num_samples=2)
    values.update(overrides)
    hp = HParams(**defaults.SAVP)
    hp.override_from_dict(values)
    return hp


def test_seeded_draws_are_reproducible():
    gen = SAVPGenerator(_tiny(), (32, 32, 3))
    images = np.random.default_rng(1).uniform(size=(4, 2, 32, 32, 3)).astype(np.float32)
    a = gen({"images": images}, step=5000, seed=[1, 2])
    b = gen({"images": images}, step=5000, seed=[1, 2])
    c = gen({"images": images}, step=5000, seed=[1, 3])
    np.testing.assert_array_equal(a["gen_images"].numpy(), b["gen_images"].numpy())
    assert not np.allclose(a["gen_images_samples"].numpy(), c["gen_images_samples"].numpy())
    assert a["gen_images_samples"].shape == (3, 2, 32, 32, 3, 2)


@pytest.mark.parametrize("overrides", [
    {"transformation": "dna"},
    {"transformation": "flow"},
    {"learn_prior": True, "use_e_rnn": True},
    {"ablation_rnn": True, "use_tile_concat": False},
    {"where_add": "input", "last_frames": 2, "context_images_background": True, "last_context_image_background": True},
    {"norm_layer": "layer", "conv_rnn_norm_layer": "layer", "rnn": "gru", "nz": 0},
])
def test_variants_run_and_use_every_variable(overrides):
    gen = SAVPGenerator(_tiny(**overrides), (32, 32, 3), action_dim=2, state_dim=1, mode="train")
    rng = np.random.default_rng(2)
    inputs = {"images": rng.uniform(size=(4, 1, 32, 32, 3)).astype(np.float32),
              "actions": rng.normal(size=(3, 1, 2)).astype(np.float32),
              "states": rng.normal(size=(4, 1, 1)).astype(np.float32)}
    variables = gen.original_variables()
    assert len(variables) == len(gen.trainable_variables)
    with tf.GradientTape() as tape:
        out = gen(inputs, step=0, seed=[5, 6])
        loss = tf.reduce_mean(out["gen_images"]) + tf.reduce_mean(out["gen_states"])
        if "gen_images_enc" in out:
            loss += tf.reduce_mean(out["gen_images_enc"]) + tf.reduce_mean(out["zs_mu_enc"])
    grads = tape.gradient(loss, list(variables.values()))
    unused = [name for name, g in zip(variables, grads) if g is None]
    assert not unused
    n = gen.cell.num_masks
    assert out["masks"].shape == (3, 1, 32, 32, 1, n)
    assert out["transformed_images"].shape == (3, 1, 32, 32, 3, n)
    np.testing.assert_allclose(out["masks"].numpy().sum(-1), 1.0, atol=1e-5)
    if overrides.get("transformation") == "flow":
        assert out["gen_flows"].shape == (3, 1, 32, 32, 2, 4)
        assert out["gen_flows_rgb"].shape == (3, 1, 32, 32, 3, 4)
    if overrides.get("learn_prior"):
        assert "zs_mu_prior" in out and out["zs_mu_prior"].shape == (3, 1, 2)
        assert "generator/prior/lstm/rnn/basic_lstm_cell/kernel" in variables
        assert "generator/encoder/lstm/rnn/basic_lstm_cell/kernel" in variables


def test_bad_inputs():
    with pytest.raises(InputError, match="mode must be 'train' or 'test', not 'val'"):
        SAVPGenerator(_tiny(), (32, 32, 3), mode="val")
    gen = SAVPGenerator(_tiny(nz=0), (32, 32, 3))
    with pytest.raises(InputError, match=r"images must be \[T=4, B, 32, 32, 3\], got \[4, 1, 32, 32, 1\]"):
        gen({"images": np.zeros((4, 1, 32, 32, 1), np.float32)}, step=0, seed=[0, 0])
    with pytest.raises(ValueError, match="too small"):
        SAVPGenerator(_tiny(), (16, 16, 3))
