"""The SAVP baselines (SV2P, SNA, DNA): variables vs the original's inventories, a hand count for DNA (which
has none), small forward passes, the KL terms, and replays of outputs the ORIGINAL code produced.

``tests/data/savp_{sv2p,sna,dna}_reference.npz`` were made by building the original generators (TF1 graph mode
with the contrib shims of the golden README) at a tiny size: weights from :func:`recipe` (regenerated here;
``var_sums`` guards it), inputs stored as uint8/255, every random tensor the graph creates (``normal<i>`` in
creation order, ``shuffles`` = the ``RandomShuffle`` outputs in creation order) evaluated once and fed back,
outputs ``out/<key>`` time-major as inside ``tower_fn``, and the original's unweighted loss terms
``loss/<name>``. DNA was built by calling ``dna_model.generator_fn(inputs, hparams=...)`` directly (the
original model class cannot: spec Q18), with its ``dna_transformation`` given a ``(k, k)`` pair where
``construct_model`` passes an int (a second original bug of the ``'dna'`` transformation).
"""

import ast
import json
import pathlib
import zlib

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.layers import slim_layers
from vidpred_tf.models.savp.dna import DNA_DEFAULTS, DNAGenerator
from vidpred_tf.models.savp.sna import SNA_DEFAULTS, SNAGenerator
from vidpred_tf.models.savp.sv2p import SV2P_DEFAULTS, SV2PGenerator, sv2p_kl_divergence, sv2p_kl_loss

DATA = pathlib.Path(__file__).resolve().parent / "data"
CLASSES = {"sv2p": SV2PGenerator, "sna": SNAGenerator, "dna": DNAGenerator}


def recipe(name, shape):
    """The reference's weights: Glorot-uniform limit (TF1 fans) for kernels, 0.1*U(-1,1) for biases and beta,
    1 + 0.1*U(-1,1) for gamma; the generator seeded by crc32 of the TF1 name."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    shape = tuple(shape)
    if len(shape) >= 2:
        rec = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        limit = np.sqrt(6.0 / (shape[-2] * rec + shape[-1] * rec))
        return rng.uniform(-limit, limit, shape).astype(np.float32)
    u = rng.uniform(-1.0, 1.0, shape).astype(np.float32) * np.float32(0.1)
    return (u + np.float32(1.0)) if name.endswith("/gamma") else u


def time_major(x):
    return np.swapaxes(x, 0, 1)


# ------------------------------------------------------------------------------------------ inventories
INVENTORIES = [
    ("bair_action_free__sv2p_time_invariant", 8378500),
    ("kth__sv2p_time_invariant", 8372162),
    ("kth__sv2p_time_variant", 8372162),
    ("bair__sv2p_time_variant", 8378948),
    ("bair__sna_l1", 2374225),
]


@pytest.mark.parametrize("config,count", INVENTORIES)
def test_variables_match_inventory(golden_dir, config, count):
    inv = json.loads((golden_dir / "savp" / "inventory" / f"{config}.json").read_text())
    cfg = inv["config"]
    dims = (4, 3) if cfg["use_state"] else (0, 0)
    gen = CLASSES[cfg["model"]](cfg["resolved_hparams"], cfg["image_shape"], *dims)
    mine = [(name, list(var.shape)) for name, var in gen.original_variables().items()]
    assert mine == [(v["name"], v["shape"]) for v in inv["generator_trainable"]]
    assert slim_layers.param_count(gen.original_variables()) == inv["generator_param_count"] == count
    assert cfg["resolved_hparams"]["multi_latent" if cfg["model"] == "sv2p" else "ngf"] == (
        gen.hparams.values()["multi_latent" if cfg["model"] == "sv2p" else "ngf"])


def test_dna_param_count_by_hand():
    """dna_model.construct_model at 64x64x3 with actions 4 / states 3, kernel 9x9, 10 masks (DNA defaults).
    conv: k*k*in*out (+out biases, or 2*out layer-norm beta/gamma instead); conv-LSTM Gates: 5*5*(in+u)*4u + 4u;
    transposed conv the same as conv; dense in*out + out."""
    terms = {
        "scale1_conv1": 5 * 5 * 3 * 32 + 2 * 32,                   # 2464 (layer_norm1)
        "state1": 5 * 5 * (32 + 32) * 128 + 128, "ln2": 64,        # 204928
        "state2": 5 * 5 * (32 + 32) * 128 + 128, "ln3": 64,        # 204928
        "conv2": 3 * 3 * 32 * 32 + 32,                             # 9248
        "state3": 5 * 5 * (32 + 64) * 256 + 256, "ln4": 128,       # 614656
        "state4": 5 * 5 * (64 + 64) * 256 + 256, "ln5": 128,       # 819456
        "conv3": 3 * 3 * 64 * 64 + 64,                             # 36928
        "conv4": 1 * 1 * (64 + 4 + 3) * 64 + 64,                   # 4608 (enc2 ++ tiled [action, state])
        "state5": 5 * 5 * (64 + 128) * 512 + 512, "ln6": 256,      # 2458112
        "convt1": 3 * 3 * 128 * 128 + 128,                         # 147584
        "state6": 5 * 5 * (128 + 64) * 256 + 256, "ln7": 128,      # 1229056
        "convt2": 3 * 3 * 96 * 96 + 96,                            # 83040 (state6 64 ++ conv2 32)
        "state7": 5 * 5 * (96 + 32) * 128 + 128, "ln8": 64,        # 409728
        "convt3": 3 * 3 * 64 * 64 + 2 * 64,                        # 36992 (state7 32 ++ enc0 32; layer_norm9)
        "convt4": 1 * 1 * 64 * 3 + 3,                              # 195
        "cdna_params": (8 * 8 * 128) * (9 * 9 * 10) + 9 * 9 * 10,  # 6636330
        "convt7": 1 * 1 * 64 * 11 + 11,                            # 715
        "state_pred": 7 * 3 + 3,                                   # 24
    }
    by_hand = sum(terms.values())
    assert by_hand == 12899824
    # Cross-check from the sv2p inventory (same tower): bair__sv2p_time_variant 8378948, less its latent tower
    # (3*3*36*32+64 + 3*3*32*64+128 + 3*3*64*64+128 + 2*(3*3*64*1+2) = 67140), less the latent channel of
    # conv4 (64), plus the bigger CDNA head ((810-250) * (8192+1)).
    assert 8378948 - 67140 - 64 + (810 - 250) * (8192 + 1) == by_hand
    gen = DNAGenerator(dict(DNA_DEFAULTS, context_frames=2, sequence_length=12), (64, 64, 3), 4, 3)
    assert slim_layers.param_count(gen.original_variables()) == by_hand
    assert list(gen.original_variables())[-2:] == ["generator/state_pred/weights", "generator/state_pred/biases"]


def test_defaults_follow_the_original():
    assert SV2P_DEFAULTS["kl_weight"] == pytest.approx(0.08) and SV2P_DEFAULTS["decay_steps"] == (0, 0)
    assert SV2P_DEFAULTS["kl_anneal_steps"] == (100000, 120000) and SV2P_DEFAULTS["batch_size"] == 32
    assert SNA_DEFAULTS["ngf"] == 16 and SNA_DEFAULTS["kernel_size"] == (5, 5)
    assert DNA_DEFAULTS["kernel_size"] == (9, 9) and DNA_DEFAULTS["decay_steps"] == (200000, 300000)
    for defaults in (SV2P_DEFAULTS, SNA_DEFAULTS, DNA_DEFAULTS):
        assert defaults["l1_weight"] == 0.0 and defaults["l2_weight"] == 1.0
        assert defaults["schedule_sampling_k"] == 900.0


# ------------------------------------------------------------------------------------------ small forward
def _inputs(seq=5, batch=2, size=16, pix=False):
    rng = np.random.default_rng(7)
    inputs = {"images": rng.uniform(size=(seq, batch, size, size, 3)).astype("f4"),
              "actions": rng.uniform(-1, 1, size=(seq - 1, batch, 4)).astype("f4"),
              "states": rng.uniform(-1, 1, size=(seq, batch, 3)).astype("f4")}
    if pix:
        inputs["pix_distribs"] = rng.uniform(0.1, 1, size=(seq, batch, size, size, 1)).astype("f4")
    return inputs


def _pair(cls, hparams, dims=(4, 3), size=16):
    """A train-mode and a test-mode generator with the same weights."""
    train = cls(hparams, (size, size, 3), *dims, mode="train")
    test = cls(hparams, (size, size, 3), *dims, mode="test")
    for name, var in test.original_variables().items():
        var.assign(train.original_variables()[name])
    return train, test


@pytest.mark.parametrize("model", ["sv2p", "sna", "dna"])
def test_small_forward_train_vs_test(model):
    hp = dict(context_frames=2, sequence_length=5)
    if model == "sna":
        hp["ngf"] = 4
    train, test = _pair(CLASSES[model], hp)
    inputs = _inputs(pix=model != "sv2p")
    # step 0: round(2 * 900/901) = 2 samples of 2 take the ground truth in train mode; test mode feeds back.
    out_train = train(inputs, step=0, seed=[3, 4])
    out_test = test(inputs, step=0, seed=[3, 4])
    keys = {"sv2p": ["gen_images", "gen_states", "gen_images_enc", "gen_states_enc", "zs_mu_enc",
                     "zs_log_sigma_sq_enc"],
            "sna": ["gen_images", "gen_states", "gen_pix_distribs"],
            "dna": ["gen_images", "gen_states", "masks", "gen_pix_distribs"]}[model]
    assert list(out_train) == keys
    assert list(out_test) == [k for k in keys if not k.endswith("_enc")]
    assert out_train["gen_images"].shape == (4, 2, 16, 16, 3)
    assert out_train["gen_states"].shape == (4, 2, 3)
    for value in list(out_train.values()) + list(out_test.values()):
        assert np.all(np.isfinite(value.numpy()))
    a, b = out_train["gen_images"].numpy(), out_test["gen_images"].numpy()
    np.testing.assert_allclose(a[:2], b[:2], atol=1e-6)  # context steps see the same frames
    assert np.abs(a[3] - b[3]).max() > 1e-4  # step 3: ground truth (train) vs own prediction (test)
    if model == "sv2p":
        assert out_train["zs_mu_enc"].shape == (2, 2, 2, 1)
    if model == "dna":
        assert out_train["masks"].shape == (4, 2, 16, 16, 1, 11)
        np.testing.assert_allclose(out_train["masks"].numpy().sum(-1), 1.0, atol=1e-5)
    if "gen_pix_distribs" in out_train:
        np.testing.assert_allclose(out_train["gen_pix_distribs"].numpy().sum(axis=(2, 3)), 1.0, atol=1e-4)


def test_stateless_draws():
    gen = SV2PGenerator(dict(context_frames=2, sequence_length=5, multi_latent=True), (16, 16, 3), mode="test")
    inputs = {"images": _inputs()["images"]}
    one = gen(inputs, seed=[1, 2])["gen_images"].numpy()
    np.testing.assert_array_equal(one, gen(inputs, seed=[1, 2])["gen_images"].numpy())
    assert np.abs(one - gen(inputs, seed=[1, 3])["gen_images"].numpy()).max() > 1e-5
    latent = np.zeros((4, 2, 2, 2, 1), np.float32)
    np.testing.assert_array_equal(gen(inputs, seed=[1, 2], draws={"latent": latent})["gen_images"].numpy(),
                                  gen(inputs, seed=[5, 6], draws={"latent": latent})["gen_images"].numpy())
    perms = slim_layers.stateless_permutations(tf.constant([1, 2]), 6, 5).numpy()
    assert all(sorted(p) == list(range(5)) for p in perms)


def test_sv2p_kl_terms_vs_numpy():
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(2, 4, 3, 2)).astype("f4")
    logs = rng.normal(size=(2, 4, 3, 2)).astype("f4")
    inner = 1 + logs - mu ** 2 - np.exp(logs)
    loss = sv2p_kl_loss({"zs_mu_enc": mu, "zs_log_sigma_sq_enc": logs}).numpy()
    np.testing.assert_allclose(loss, -0.5 * inner.sum(-1).mean(), rtol=1e-5)
    quirk = sv2p_kl_divergence(mu, logs).numpy()
    assert quirk.shape == (2, 3, 2)
    np.testing.assert_allclose(quirk, -0.5 * inner.sum(axis=1), rtol=1e-5)


def test_bad_input():
    with pytest.raises(InputError, match="image_shape"):
        SV2PGenerator(dict(context_frames=2, sequence_length=5), (20, 16, 3))
    with pytest.raises(InputError, match="needs actions and states"):
        SNAGenerator(dict(context_frames=2, sequence_length=5), (16, 16, 3))
    with pytest.raises(InputError, match="one mask"):
        DNAGenerator(dict(context_frames=2, sequence_length=5, transformation="dna"), (16, 16, 3), 4, 3)
    with pytest.raises(InputError, match="stp"):
        SV2PGenerator(dict(context_frames=2, sequence_length=5, transformation="stp"), (16, 16, 3))
    gen = SV2PGenerator(dict(context_frames=2, sequence_length=5), (16, 16, 3), mode="test")
    with pytest.raises(InputError, match="images"):
        gen({"images": np.zeros((4, 2, 16, 16, 3), "f4")})


# ------------------------------------------------------------------------------------------ the original
def _replay(path, case, cls):
    ref = np.load(DATA / path)
    key = lambda k: f"{case}/{k}"  # noqa: E731
    cfg = ast.literal_eval(str(ref[key("config")]))
    hp = dict(cfg["hp"], context_frames=cfg["ctx"], sequence_length=cfg["T"])
    dims = (4, 3) if cfg["use_state"] else (0, 0)
    gen = cls(hp, cfg["image_shape"], *dims, mode=cfg["mode"])
    variables = gen.original_variables()
    names = [str(n) for n in ref[key("var_names")]]
    # The original built in test mode has no latent tower; every one of its variables exists here, in order.
    assert names == list(variables)[:len(names)]
    for name, total in zip(names, ref[key("var_sums")]):
        value = recipe(name, variables[name].shape)
        assert float(np.sum(value, dtype=np.float64)) == pytest.approx(float(total), rel=1e-9, abs=1e-9)
        variables[name].assign(value)
    inputs = {"images": time_major(ref[key("images_u8")].astype(np.float32) / np.float32(255.0))}
    if cfg["use_state"]:
        inputs["actions"] = time_major(ref[key("actions")])
        inputs["states"] = time_major(ref[key("states")])
    if key("pix_u8") in ref:
        inputs["pix_distribs"] = time_major(ref[key("pix_u8")].astype(np.float32) / np.float32(255.0))
    return ref, key, cfg, gen, inputs


def _compare(ref, key, outputs):
    expected = sorted(k[len(key("out/")):] for k in ref.files if k.startswith(key("out/")))
    expected = [k for k in expected if k not in ("kl_weight", "learning_rate")]
    assert sorted(outputs) == expected
    for name, value in outputs.items():
        np.testing.assert_allclose(value.numpy(), ref[key(f"out/{name}")], atol=1e-4, rtol=0, err_msg=name)


@pytest.mark.parametrize("case", ["action_tv", "free_ti", "free_ti_test"])
def test_sv2p_matches_original(case):
    ref, key, cfg, gen, inputs = _replay("savp_sv2p_reference.npz", case, SV2PGenerator)
    draws = {"latent": ref[key("normal0")]}  # creation order: prior samples, [posterior samples], shuffles
    if cfg["mode"] == "train":
        n_ss = cfg["T"] - 1 - cfg["ctx"]
        draws.update(latent_enc=ref[key("normal1")], shuffle=ref[key("shuffles")][:n_ss],
                     shuffle_enc=ref[key("shuffles")][n_ss:])
    outputs = gen(inputs, step=cfg["step"], draws=draws)
    _compare(ref, key, outputs)
    if cfg["mode"] == "train":
        target = inputs["images"][1:]
        l2 = np.mean((outputs["gen_images_enc"].numpy() - target) ** 2)
        assert l2 == pytest.approx(float(ref[key("loss/gen_l2_loss")]), rel=1e-5)
        assert float(sv2p_kl_loss(outputs)) == pytest.approx(float(ref[key("loss/gen_kl_loss")]), rel=1e-5)
    if case == "free_ti":  # step 6122: one sample of two takes the ground truth; the permutation decides which
        flipped = dict(draws, shuffle=ref[key("shuffles")][:1, ::-1])
        assert np.abs(gen(inputs, step=cfg["step"], draws=flipped)["gen_images"].numpy()
                      - ref[key("out/gen_images")]).max() > 1e-3
    if case == "action_tv":  # step 60000 > num_iterations_1st_stage: the posterior latent is used
        assert np.abs(ref[key("out/gen_images_enc")] - ref[key("out/gen_images")]).max() > 1e-3


def test_sna_matches_original():
    ref, key, cfg, gen, inputs = _replay("savp_sna_reference.npz", "sna", SNAGenerator)
    outputs = gen(inputs, step=cfg["step"], draws={"shuffle": ref[key("shuffles")]})
    _compare(ref, key, outputs)
    l1 = np.mean(np.abs(outputs["gen_images"].numpy() - inputs["images"][1:]))
    assert l1 == pytest.approx(float(ref[key("loss/gen_l1_loss")]), rel=1e-5)


@pytest.mark.parametrize("case", ["cdna", "dna", "cdna_test"])
def test_dna_matches_original(case):
    ref, key, cfg, gen, inputs = _replay("savp_dna_reference.npz", case, DNAGenerator)
    draws = {"shuffle": ref[key("shuffles")]} if key("shuffles") in ref else None
    _compare(ref, key, gen(inputs, step=cfg["step"], draws=draws))


def test_sv2p_gradients_reach_every_variable_under_tf_function():
    gen = SV2PGenerator(dict(context_frames=2, sequence_length=4), (16, 16, 3), 4, 3, mode="train")
    inputs = {k: tf.constant(v) for k, v in _inputs(seq=4).items()}

    @tf.function
    def loss_and_grads(step):
        with tf.GradientTape() as tape:
            out = gen(inputs, step=step, seed=tf.constant([1, 2]))
            loss = tf.reduce_mean(tf.square(out["gen_images_enc"] - inputs["images"][1:])) + sv2p_kl_loss(out)
        return loss, tape.gradient(loss, list(gen.original_variables().values()))

    loss, grads = loss_and_grads(tf.constant(60000, tf.int64))
    assert np.isfinite(loss.numpy())
    assert len(gen.trainable_weights) == len(gen.original_variables())
    # every variable, state_pred too: its prediction is tiled into the next step's bottleneck
    assert [n for n, g in zip(gen.original_variables(), grads) if g is None] == []
