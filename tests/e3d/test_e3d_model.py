"""E3D-LSTM models: variables and parameter counts vs the original's inventory, config rules, cell maths."""

import json

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.layers.eidetic import EideticLSTMCell, JointLayerNorm, eidetic_attention
from vidpred_tf.models.e3d import MODEL_NAMES, E3DConfig, build_model, e3d_losses

# Spec e3d.md §9.3 / §4.4 (the inventory must agree with these too).
PARAMS = {
    ("original_e3d_lstm", "mnist"): 6473232, ("original_e3d_lstm_residuals", "mnist"): 12898832,
    ("e3d_lstm", "mnist"): 6486048, ("e3d_lstm_add", "mnist"): 6486048, ("e3d_lstm_concat", "mnist"): 6492192,
    ("original_e3d_lstm", "kth"): 7017024, ("original_e3d_lstm_residuals", "kth"): 13980224,
    ("e3d_lstm", "kth"): 7221888, ("e3d_lstm_add", "kth"): 7221888, ("e3d_lstm_concat", "kth"): 7246464,
}


def _config_for(entry, **changes):
    c = entry["config"]
    return E3DConfig(model_name=c["model_name"], img_width=c["img_width"], patch_size=c["patch_size"],
                     img_channel=c["img_channel"], input_length=c["input_length"],
                     total_length=c["total_length"], num_hidden=c["num_hidden"], **changes)


@pytest.fixture(scope="module")
def inventory(golden_e3d_dir):
    return json.loads((golden_e3d_dir / "variable_inventory.json").read_text())


@pytest.mark.parametrize("model_name", MODEL_NAMES)
@pytest.mark.parametrize("dataset", ["mnist", "kth"])
def test_variables_and_parameter_counts_match_the_original(inventory, model_name, dataset):
    entry = inventory[f"{model_name}/{dataset}"]
    model = build_model(_config_for(entry))
    ported = [(name, list(v.shape)) for name, v in model.original_variables().items()]
    original = [(v["name"], list(v["shape"])) for v in entry["model_variables"]]
    assert ported == original
    assert model.parameter_count() == entry["model_param_count"] == PARAMS[(model_name, dataset)]
    # nothing outside the mapping: every Keras weight is an original variable
    assert len(model.weights) == len(original)

    frozen = build_model(_config_for(entry, pretrained_model="pretrain/model.ckpt-80000"))
    assert frozen.parameter_count(trainable_only=True) == entry["pretrained_model_set"]["trainable_param_count"]
    not_trainable = [n for n, v in frozen.original_variables().items() if not v.trainable]
    assert not_trainable == entry["pretrained_model_set"]["non_trainable_model_variables"]


def test_model_names_and_knobs():
    assert MODEL_NAMES == ("e3d_lstm", "original_e3d_lstm", "original_e3d_lstm_residuals", "e3d_lstm_add",
                           "e3d_lstm_concat")
    with pytest.raises(ValueError, match="Name of network unknown 'concept_lstm'"):
        E3DConfig(model_name="concept_lstm")
    assert E3DConfig().model_name == "e3d_lstm"
    head = E3DConfig(model_name="original_e3d_lstm")
    assert head.cell_kernel == (1, 5, 5) and head.eidetic_attention and head.decoder_trainable
    edited = E3DConfig(model_name="original_e3d_lstm", cell_kernel="2,5,5", l2_form="norm", l1_weight=0.0)
    assert edited.cell_kernel == (2, 5, 5) and edited.l2_form == "norm"
    # replace() re-derives knobs that were not given: a pretrained model freezes the decoder
    assert not head.replace(pretrained_model="x").decoder_trainable
    assert head.replace(pretrained_model="x", decoder_trainable=True).decoder_trainable
    assert E3DConfig(model_name="original_e3d_lstm_residuals", pretrained_model="x").decoder_trainable
    with pytest.raises(ValueError, match="the 2-D models of the original reshape the decoder input to 64"):
        E3DConfig(model_name="e3d_lstm", num_hidden="64,32")
    with pytest.raises(ValueError, match="eidetic_attention=True needs 3-D cells"):
        E3DConfig(model_name="e3d_lstm", eidetic_attention=True)
    with pytest.raises(ValueError, match="residual_mode"):
        E3DConfig(model_name="original_e3d_lstm", residual_mode="sideways")
    with pytest.raises(ValueError, match="not a multiple of patch_size"):
        E3DConfig(img_width=10, patch_size=4)

    class Flags:
        model_name = "original_e3d_lstm"
        img_width, patch_size, total_length, input_length, img_channel = 16, 4, 6, 3, 1
        num_hidden = "8,8"
        layer_norm = True
        pretrained_model = ""
        cell_kernel = "2,5,5"
        decoder_trainable = "auto"

    from_flags = E3DConfig.from_flags(Flags)
    assert from_flags.cell_kernel == (2, 5, 5) and from_flags.num_hidden == (8, 8) and from_flags.patch_channels == 16


def _small(model_name, **changes):
    base = dict(model_name=model_name, img_width=8, patch_size=2, input_length=2, total_length=4, num_hidden="4,4")
    if model_name.startswith("e3d_lstm"):
        base["enforce_decoder_width_64"] = False
    base.update(changes)
    return E3DConfig(**base)


def test_joint_layer_norm_matches_numpy():
    layer = JointLayerNorm()
    x = np.random.RandomState(0).normal(size=(2, 2, 3, 3, 5)).astype(np.float32)
    layer.build(x.shape)
    layer.gamma.assign(np.arange(1, 6, dtype=np.float32))
    layer.beta.assign(np.full(5, 0.5, np.float32))
    mean = x.reshape(2, -1).mean(1).reshape(2, 1, 1, 1, 1)
    var = x.reshape(2, -1).var(1).reshape(2, 1, 1, 1, 1)
    expected = (x - mean) / np.sqrt(var + 1e-12) * np.arange(1, 6) + 0.5
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=2e-5)
    assert layer.gamma.shape == (5,) and layer.epsilon == 1e-12


def test_attention_is_unscaled_softmax_over_the_history():
    rng = np.random.RandomState(1)
    q = rng.normal(size=(2, 2, 3, 3, 4)).astype(np.float32)
    hist = rng.normal(size=(2, 6, 3, 3, 4)).astype(np.float32)
    qf, hf = q.reshape(2, -1, 4), hist.reshape(2, -1, 4)
    logits = np.einsum("bic,bjc->bij", qf, hf)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    expected = np.einsum("bij,bjc->bic", weights, hf).reshape(q.shape)
    np.testing.assert_allclose(eidetic_attention(q, hist).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("conv_ndims,attention", [(3, True), (2, False)])
def test_cell_returns_the_input_memory_and_state_shapes(conv_ndims, attention):
    spatial = (3, 3) if conv_ndims == 3 else (9,)
    kernel = (2, 5, 5) if conv_ndims == 3 else (5, 5)
    cell = EideticLSTMCell(6, kernel, conv_ndims=conv_ndims, eidetic_attention=attention, name="e3d0")
    rng = np.random.RandomState(2)
    x = tf.constant(rng.normal(size=(2, 2) + spatial + (4,)), tf.float32)
    h = tf.constant(rng.normal(size=(2, 2) + spatial + (6,)), tf.float32)
    memory = tf.constant(rng.normal(size=(2, 2) + spatial + (7,)), tf.float32)
    cell.build(x.shape, memory_shape=memory.shape)
    new_h, new_c, returned = cell(x, h, h, memory, tf.concat([h, h], 1))
    assert returned is memory
    assert new_h.shape == new_c.shape == (2, 2) + spatial + (6,)
    names = list(cell.original_variables())
    prefix = "conv3d" if conv_ndims == 3 else "conv2d"
    assert names[:2] == [f"{prefix}/kernel", f"{prefix}/bias"]
    assert ("self_attn/gamma" in names) == attention and ("new_cell/gamma" in names) == (not attention)
    assert cell.original_variables()[f"{prefix}_2/kernel"].shape[-2] == 7  # memory width, not the layer's
    fixed = EideticLSTMCell(6, kernel, conv_ndims=conv_ndims, eidetic_attention=attention,
                            return_new_memory=True, name="e3d0")
    fixed.build(x.shape, memory_shape=h.shape)
    assert fixed(x, h, h, h, tf.concat([h, h], 1))[2] is not h


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_small_models_run_and_decode_one_frame_per_step(model_name):
    config = _small(model_name, num_hidden="4,4,4")
    model = build_model(config)
    images = np.random.RandomState(3).uniform(size=(2, 4, 4, 4, 4)).astype(np.float32)
    mask = np.ones((2, 1, 4, 4, 4), np.float32)
    gen = model(images, mask)
    assert gen.shape == (2, 3, 4, 4, 4)
    # with an all-ones mask every input is a true frame, so teacher forcing equals feeding the truth directly
    full = build_model(config.replace(input_length=3))
    for a, b in zip(full.weights, model.weights):
        a.assign(b)
    np.testing.assert_allclose(gen.numpy(), full(images).numpy(), atol=1e-6)
    loss, l1, l2 = e3d_losses(gen, images, config)
    diff = gen.numpy() - images[:, 1:]
    expected_l2 = {"half_sum_sq": 0.5 * np.sum(diff ** 2), "sum_sq": np.sum(diff ** 2),
                   "norm": np.sqrt(np.sum(diff ** 2))}[config.l2_form]
    np.testing.assert_allclose([float(l1), float(l2), float(loss)],
                               [np.abs(diff).sum(), expected_l2, np.abs(diff).sum() + expected_l2], rtol=1e-5)


def test_layer_norm_off_and_propagated_memory_build_and_run():
    config = _small("original_e3d_lstm", layer_norm=False, propagate_memory=True)
    model = build_model(config)
    names = list(model.original_variables())
    assert not any("/hidden/" in n or "/inputs/" in n or "/global_memory/" in n for n in names)
    assert any(n.endswith("e3d0/self_attn/gamma") for n in names)
    images = np.random.RandomState(4).uniform(size=(2, 4, 4, 4, 4)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = e3d_losses(model(images), images, config)[0]
    grads = dict(zip(names, tape.gradient(loss, list(model.original_variables().values()))))
    # with the memory passed on, the memory kernel of the second layer does learn
    assert np.any(grads["generator/e3d-lstm/e3d1/conv3d_2/kernel"].numpy())


def test_two_replicas_sum_the_gradients_of_the_unnormalised_loss(mirrored_two_cpus):
    config = _small("original_e3d_lstm")
    strategy = mirrored_two_cpus
    with strategy.scope():
        model = build_model(config)
    images = np.random.RandomState(5).uniform(size=(4, 4, 4, 4, 4)).astype(np.float32)
    mask = np.zeros((2, 1, 4, 4, 4), np.float32)

    def per_replica_grads(batch):
        with tf.GradientTape() as tape:
            loss = e3d_losses(model(batch, mask), batch, config)[0]
        return tape.gradient(loss, model.trainable_variables)

    dataset = tf.data.Dataset.from_tensors(images).unbatch().batch(4)
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
    summed = strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(per_replica_grads, args=(batch,)), axis=None)
    halves = [per_replica_grads(tf.constant(images[:2])), per_replica_grads(tf.constant(images[2:]))]
    for total, a, b in zip(summed, *halves):
        np.testing.assert_allclose(total.numpy(), (a + b).numpy(), rtol=1e-4, atol=1e-4)


def test_wrong_input_shapes_are_named():
    model = build_model(_small("original_e3d_lstm"))
    with pytest.raises(ValueError,
                       match=r"expected patched images \[B, 4, 4, 4, 4\] \(reshape_patch with patch_size 2\)"):
        model(np.zeros((2, 4, 8, 8, 1), np.float32))
    with pytest.raises(ValueError, match=r"expected a sampling mask \[B, 1, 4, 4, 4\]"):
        model(np.zeros((2, 4, 4, 4, 4), np.float32), np.zeros((2, 2, 4, 4, 4), np.float32))
