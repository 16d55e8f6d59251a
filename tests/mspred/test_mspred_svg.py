"""MSPred's SVG baselines (deterministic, ConvDeterministic, LP, ConvLP), their DCGAN-64 / VGG-64 encoders, and
CopyLast: parameter names, shapes and counts against the original's inventory, a NumPy re-computation of the
linear deterministic model's first prediction, the latent choice in train/eval mode, seeds, and CopyLast."""

import importlib.resources
import json

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.convert import mspred as convert_mspred
from vidpred_tf.convert.torch_files import read_state_dict
from vidpred_tf.models.mspred.blocks import torch_shape
from vidpred_tf.models.mspred.build import setup_model
from vidpred_tf.models.mspred.copy_last import CopyLast
from vidpred_tf.models.mspred.dcgan_64 import DCGAN64Decoder, DCGAN64Encoder
from vidpred_tf.models.mspred.svg import SVGDeterministic, SVGLearnedPrior, build_svg_model
from vidpred_tf.models.mspred.vgg_64 import VGG64Decoder, VGG64Encoder

SVG_TYPES = ("deterministic", "ConvDeterministic", "LP", "ConvLP")


def mmnist_params(model_type):
    text = importlib.resources.files("vidpred_tf.models.mspred").joinpath("configs/mmnist.json").read_text()
    params = json.loads(text)
    params["model"]["model_type"] = model_type
    return params


def tiny_params(model_type, enc_dec_type="DCGAN"):
    """A small config: linear models need 64 px frames, the conv ones run at 32 px (a 2x2 latent map; at 1x1 the
    encoder's last BN, over a batch of 2, would leave little more than a sign per channel)."""
    params = mmnist_params(model_type)
    model = params["model"]
    model["enc_dec_type"] = enc_dec_type
    model["enc_dec"].update(dim=8, num_filters=2)
    model["LSTM"].update(hidden_dim=6, num_layers=2)
    model["LSTM_Prior"].update(hidden_dim=5, latent_dim=2, num_layers=1)
    model["LSTM_Posterior"].update(hidden_dim=4, latent_dim=7, num_layers=1)
    params["dataset"]["img_size"] = 64 if model_type in ("deterministic", "LP") else 32
    return params


def randomize(model, seed=0):
    """Weights scaled by 1/sqrt(fan-in): the original's N(0, 0.02) init lets almost no signal through, which
    would hide what a prediction depends on."""
    rng = np.random.default_rng(seed)
    for variable in model.trainable_variables:
        shape = tuple(variable.shape)
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        scale = 1.0 / np.sqrt(fan_in) if len(shape) > 1 else 0.1
        value = rng.normal(0.0, scale, shape) + (1.0 if "gamma" in variable.path else 0.0)
        variable.assign(value.astype(np.float32))
    return model


def frames(batch, length, size, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, (batch, length, size, size, 3)).astype(np.float32)


# -------------------------------------------------------------------------------------------------------------
# Names, shapes and counts against the original
# -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model_type", SVG_TYPES)
def test_torch_names_shapes_and_counts_match_inventory(golden_mspred_dir, model_type):
    entry = json.loads((golden_mspred_dir / "inventory.json").read_text())[f"SVG_{model_type}_mmnist"]
    model = build_svg_model(mmnist_params(model_type))
    params = model.original_variables()
    expected = {p["name"]: tuple(p["shape"]) for p in entry["params"]}
    assert expected.pop("device_param") == (0,)
    assert list(params) == [k for k in entry["state_dict_keys"] if k != "device_param"]
    assert {name: torch_shape(p) for name, p in params.items()} == expected
    assert model.count_parameters() == entry["total_trainable_params"]
    # One trainable variable per original tensor (LSTM bias_ih and bias_hh included), nothing else trained.
    mapped = [id(p.variable) for p in params.values()]
    assert sorted(mapped) == sorted(id(v) for v in model.trainable_variables)
    assert sum(int(np.prod(v.shape)) for v in model.trainable_variables) == entry["total_trainable_params"]
    assert isinstance(model, SVGLearnedPrior if "LP" in model_type else SVGDeterministic)
    assert model.linear == (model_type in ("deterministic", "LP"))


@pytest.mark.parametrize("model_type", ("LP", "ConvLP"))
def test_original_state_dict_loads_and_exports(model_type, tmp_path):
    model = setup_model(tiny_params(model_type))
    assert isinstance(model, SVGLearnedPrior)
    rng = np.random.default_rng(13)
    state = {"device_param": np.zeros((0,), np.float32)}
    state.update({key: rng.normal(size=torch_shape(p)).astype(np.float32)
                  for key, p in model.original_variables().items()})
    convert_mspred.load(model, state)
    exported = read_state_dict(convert_mspred.export(model, tmp_path / "exported.npz"))
    assert list(exported) == list(state)
    for key, value in state.items():
        np.testing.assert_array_equal(exported[key], value)
    # The layouts: (out, in, kh, kw) -> (kh, kw, in, out) for a conv, (out, in) -> (in, out) for a Linear.
    key = "predictor.input_conv.weight" if model_type == "ConvLP" else "predictor.embed.weight"
    port = model.original_variables()[key].variable.numpy()
    np.testing.assert_array_equal(port, state[key].transpose(2, 3, 1, 0) if port.ndim == 4 else state[key].T)


def test_vgg_64_names_and_shapes_follow_the_original_layers():
    # The original VGG_64 (no inventory entry): vgg_layers of 3x3 convs, c5 a 4x4 conv to dim, upc1 a 4x4 ConvT.
    encoder, decoder = VGG64Encoder(128, nc=3), VGG64Decoder(128, nc=3)
    enc = {k: torch_shape(p) for k, p in encoder.original_variables("encoder").items()}
    dec = {k: torch_shape(p) for k, p in decoder.original_variables("decoder").items()}
    expected = {}
    enc_blocks = [[(3, 64), (64, 64)], [(64, 128), (128, 128)], [(128, 256), (256, 256), (256, 256)],
                  [(256, 512), (512, 512), (512, 512)]]
    for b, block in enumerate(enc_blocks):
        for i, (nin, nout) in enumerate(block):
            expected[f"encoder.c{b + 1}.{i}.main.0.weight"] = (nout, nin, 3, 3)
            expected[f"encoder.c{b + 1}.{i}.main.0.bias"] = (nout,)
            expected[f"encoder.c{b + 1}.{i}.main.1.weight"] = (nout,)
            expected[f"encoder.c{b + 1}.{i}.main.1.bias"] = (nout,)
    expected.update({"encoder.c5.0.weight": (128, 512, 4, 4), "encoder.c5.0.bias": (128,),
                     "encoder.c5.1.weight": (128,), "encoder.c5.1.bias": (128,)})
    assert enc == expected
    expected = {"decoder.upc1.0.weight": (128, 512, 4, 4), "decoder.upc1.0.bias": (512,),
                "decoder.upc1.1.weight": (512,), "decoder.upc1.1.bias": (512,),
                "decoder.upc5.1.weight": (64, 3, 3, 3), "decoder.upc5.1.bias": (3,)}
    dec_blocks = [[(1024, 512), (512, 512), (512, 256)], [(512, 256), (256, 256), (256, 128)],
                  [(256, 128), (128, 64)], [(128, 64)]]
    for b, block in enumerate(dec_blocks):
        for i, (nin, nout) in enumerate(block):
            expected[f"decoder.upc{b + 2}.{i}.main.0.weight"] = (nout, nin, 3, 3)
            expected[f"decoder.upc{b + 2}.{i}.main.0.bias"] = (nout,)
            expected[f"decoder.upc{b + 2}.{i}.main.1.weight"] = (nout,)
            expected[f"decoder.upc{b + 2}.{i}.main.1.bias"] = (nout,)
    assert dec == expected


# -------------------------------------------------------------------------------------------------------------
# NumPy re-computation (PyTorch NCHW semantics, weights read back in the original layout)
# -------------------------------------------------------------------------------------------------------------
def torch_arrays(module, prefix=""):
    """name -> array in the original PyTorch layout."""
    arrays = {}
    for name, param in module.original_variables(prefix).items():
        value = np.asarray(param.variable.numpy(), dtype=np.float64)
        if param.layout in ("conv2d", "conv2d_transpose"):
            value = value.transpose(3, 2, 0, 1)
        elif param.layout in ("linear", "lstm_weight"):
            value = value.T
        arrays[name] = value
    return arrays


def np_conv2d(x, w, b, stride, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    kh, kw = w.shape[2:]
    out_h, out_w = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], out_h, out_w))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
            out += np.einsum("bchw,oc->bohw", patch, w[:, :, i, j])
    return out + b[None, :, None, None]


def np_conv_transpose2d(x, w, b, stride, pad):
    # out[s*i - pad + ki, s*j - pad + kj] += x[i, j] * w[:, :, ki, kj]  (w is (in, out, kh, kw))
    height, width = x.shape[2:]
    kh, kw = w.shape[2:]
    full = np.zeros((x.shape[0], w.shape[1], (height - 1) * stride + kh, (width - 1) * stride + kw))
    for i in range(kh):
        for j in range(kw):
            full[:, :, i:i + stride * height:stride, j:j + stride * width:stride] += np.einsum(
                "bchw,co->bohw", x, w[:, :, i, j])
    full = full[:, :, pad:full.shape[2] - pad, pad:full.shape[3] - pad]
    return full + b[None, :, None, None]


def np_batch_norm(x, gamma, beta):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * gamma[None, :, None, None] + beta[None, :, None, None]


def leaky(x):
    return np.where(x > 0, x, 0.2 * x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_dcgan64_encoder(w, x, prefix="encoder."):
    skips = []
    for k in range(1, 5):
        p = f"{prefix}c{k}.main."
        x = leaky(np_batch_norm(np_conv2d(x, w[p + "0.weight"], w[p + "0.bias"], 2, 1), w[p + "1.weight"],
                                w[p + "1.bias"]))
        skips.append(x)
    p = prefix + "c5."
    vec = np.tanh(np_batch_norm(np_conv2d(x, w[p + "0.weight"], w[p + "0.bias"], 1, 0), w[p + "1.weight"],
                                w[p + "1.bias"]))
    return vec.reshape(x.shape[0], -1), skips


def np_dcgan64_decoder(w, vec, skips, prefix="decoder."):
    p = prefix + "upc1."
    d = leaky(np_batch_norm(np_conv_transpose2d(vec[:, :, None, None], w[p + "0.weight"], w[p + "0.bias"], 1, 0),
                            w[p + "1.weight"], w[p + "1.bias"]))
    features = [d]
    for k, skip in zip((2, 3, 4), (skips[3], skips[2], skips[1])):
        p = f"{prefix}upc{k}.main."
        d = leaky(np_batch_norm(np_conv_transpose2d(np.concatenate([d, skip], 1), w[p + "0.weight"],
                                                    w[p + "0.bias"], 2, 1), w[p + "1.weight"], w[p + "1.bias"]))
        features.append(d)
    p = prefix + "upc5.0."
    frame = sigmoid(np_conv_transpose2d(np.concatenate([d, skips[0]], 1), w[p + "weight"], w[p + "bias"], 2, 1))
    return frame, features


def test_dcgan_64_encoder_decoder_match_numpy():
    encoder, decoder = DCGAN64Encoder(6, nc=2, nf=3), DCGAN64Decoder(6, nc=2, nf=3)
    randomize(encoder, seed=4)
    randomize(decoder, seed=5)
    w = torch_arrays(encoder, "encoder")
    w.update(torch_arrays(decoder, "decoder"))
    x = np.random.default_rng(1).uniform(0, 1, (3, 64, 64, 2)).astype(np.float32)
    vec, skips = encoder(x)
    frame, features = decoder(vec, skips)
    np_vec, np_skips = np_dcgan64_encoder(w, x.transpose(0, 3, 1, 2).astype(np.float64))
    np_frame, np_features = np_dcgan64_decoder(w, np_vec, np_skips)
    assert vec.shape == (3, 6)
    np.testing.assert_allclose(vec.numpy(), np_vec, atol=2e-5)
    assert [tuple(s.shape) for s in skips] == [(3, 32, 32, 3), (3, 16, 16, 6), (3, 8, 8, 12), (3, 4, 4, 24)]
    for ours, ref in zip(skips, np_skips):
        np.testing.assert_allclose(ours.numpy(), ref.transpose(0, 2, 3, 1), atol=2e-4)
    assert [tuple(f.shape) for f in features] == [(3, 4, 4, 24), (3, 8, 8, 12), (3, 16, 16, 6), (3, 32, 32, 3)]
    for ours, ref in zip(features, np_features):
        np.testing.assert_allclose(ours.numpy(), ref.transpose(0, 2, 3, 1), atol=2e-4)
    np.testing.assert_allclose(frame.numpy(), np_frame.transpose(0, 2, 3, 1), atol=2e-5)


def test_deterministic_first_prediction_matches_numpy():
    # context 1, one prediction: encode frame 0, one LSTM step from zero state, decode with frame 0's skips.
    model = randomize(build_svg_model(tiny_params("deterministic")), seed=6)
    w = torch_arrays(model)
    x = frames(2, 2, 64, seed=3)
    out = model(x, context=1, num_preds=1)
    vec, skips = np_dcgan64_encoder(w, x[:, 0].transpose(0, 3, 1, 2).astype(np.float64))
    h_in = vec @ w["predictor.embed.weight"].T + w["predictor.embed.bias"]
    for k in range(2):
        # h = c = 0: the recurrent weights drop out, both biases stay.
        gates = h_in @ w[f"predictor.lstm.{k}.weight_ih"].T + w[f"predictor.lstm.{k}.bias_ih"] \
            + w[f"predictor.lstm.{k}.bias_hh"]
        gate_i, _, gate_g, gate_o = np.split(gates, 4, axis=1)
        cell = sigmoid(gate_i) * np.tanh(gate_g)
        h_in = sigmoid(gate_o) * np.tanh(cell)
    pred_vec = np.tanh(h_in @ w["predictor.output.0.weight"].T + w["predictor.output.0.bias"])
    expected, _ = np_dcgan64_decoder(w, pred_vec, skips)
    assert out["preds"][0].shape == (2, 1, 64, 64, 3)
    np.testing.assert_allclose(out["preds"][0].numpy()[:, 0], expected.transpose(0, 2, 3, 1), atol=2e-5)
    np.testing.assert_array_equal(out["target_masks"][0], [False, True])


# -------------------------------------------------------------------------------------------------------------
# Forward behaviour
# -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model_type", SVG_TYPES)
def test_forward_shapes_and_masks(model_type):
    params = tiny_params(model_type)
    size = params["dataset"]["img_size"]
    model = build_svg_model(params)
    out = model(frames(2, 7, size), context=3, num_preds=[4, 2, 2], training=True, seed=tf.constant([1, 2]))
    assert out["preds"][0].shape == (2, 4, size, size, 3)
    assert list(out["preds"]) == [0]
    np.testing.assert_array_equal(np.nonzero(out["target_masks"][0])[0], [3, 4, 5, 6])
    preds = out["preds"][0].numpy()
    assert preds.min() >= 0.0 and preds.max() <= 1.0
    steps = 3 + 4 - 1
    if "LP" in model_type:
        latent_shape = (2, 2) if model.linear else (2, 2, 2, 2)  # DCGAN_Conv: 32 px / 16
        for key in ("mu_post", "logvar_post", "mu_prior", "logvar_prior", "latents"):
            assert len(out[key][0]) == steps
            assert all(tuple(v.shape) == latent_shape for v in out[key][0])
        assert out["fire_times"] == {"posterior_0": list(range(steps)), "prior_0": list(range(steps))}
    else:
        assert all(out[key] == {0: []} for key in ("mu_post", "logvar_post", "mu_prior", "logvar_prior",
                                                    "latents"))


@pytest.mark.parametrize("model_type", ("LP", "ConvLP"))
def test_latent_is_posterior_in_training_and_prior_after_context_in_eval(model_type):
    params = tiny_params(model_type)
    size = params["dataset"]["img_size"]
    model = build_svg_model(params)
    context, num_preds, steps = 3, 3, 5
    x = frames(2, context + num_preds, size, seed=4)
    latent_shape = (2, 2) if model.linear else (2, 2, 2, 2)
    rng = np.random.default_rng(5)
    eps = {"posterior_0": rng.normal(size=(steps, *latent_shape)).astype(np.float32),
           "prior_0": rng.normal(size=(steps, *latent_shape)).astype(np.float32)}
    for training in (True, False):
        out = model(x, context=context, num_preds=num_preds, training=training, eps=eps)
        for t in range(steps):
            post = out["mu_post"][0][t] + np.exp(0.5 * out["logvar_post"][0][t]) * eps["posterior_0"][t]
            prior = out["mu_prior"][0][t] + np.exp(0.5 * out["logvar_prior"][0][t]) * eps["prior_0"][t]
            use_posterior = training or t < context - 1
            np.testing.assert_allclose(out["latents"][0][t], post if use_posterior else prior, atol=1e-5)
            assert not np.allclose(post, prior, atol=1e-3)


@pytest.mark.parametrize("model_type", ("LP", "ConvLP"))
def test_eval_predictions_ignore_future_frames_training_ones_do_not(model_type):
    params = tiny_params(model_type)
    size = params["dataset"]["img_size"]
    model = randomize(build_svg_model(params), seed=1)
    x = frames(2, 6, size, seed=6)
    changed = x.copy()
    changed[:, 3:] = frames(2, 3, size, seed=7)
    seed = tf.constant([3, 4])
    for training, same in ((False, True), (True, False)):
        first = model(x, context=3, num_preds=3, training=training, seed=seed)["preds"][0].numpy()
        second = model(changed, context=3, num_preds=3, training=training, seed=seed)["preds"][0].numpy()
        if same:
            np.testing.assert_array_equal(first, second)
            # Given only the context (as `vidpred predict` does), eval mode predicts the same frames.
            only_context = model(x[:, :3], context=3, num_preds=3, seed=seed)
            np.testing.assert_array_equal(only_context["preds"][0].numpy(), first)
            assert not only_context["target_masks"][0].any()
        else:
            # Same ops on the same inputs otherwise, so any difference is the posterior reading those frames.
            assert np.abs(first - second).max() > 1e-5


def test_seeds_and_eps_control_the_lp_samples():
    params = tiny_params("ConvLP")
    model = randomize(build_svg_model(params), seed=2)
    x = frames(2, 6, 32, seed=8)
    run = lambda **kw: model(x, context=3, num_preds=3, **kw)["preds"][0].numpy()  # noqa: E731
    np.testing.assert_array_equal(run(seed=tf.constant([1, 2])), run(seed=tf.constant([1, 2])))
    assert np.abs(run(seed=tf.constant([1, 2])) - run(seed=tf.constant([2, 1]))).max() > 1e-3
    zeros = {"posterior_0": np.zeros((5, 2, 2, 2, 2), np.float32), "prior_0": np.zeros((5, 2, 2, 2, 2), np.float32)}
    out = model(x, context=3, num_preds=3, eps=zeros)
    for latent, mu_prior in zip(out["latents"][0][2:], out["mu_prior"][0][2:]):
        np.testing.assert_allclose(latent, mu_prior, atol=1e-6)
    with pytest.raises(ValueError, match="prior_0"):
        model(x, context=3, num_preds=3, eps={"posterior_0": zeros["posterior_0"]})
    with pytest.raises(ValueError, match="latent needs"):
        model(x, context=3, num_preds=3, eps={"posterior_0": np.zeros((5, 2, 1, 1, 2), np.float32),
                                              "prior_0": zeros["prior_0"]})


def test_deterministic_model_teacher_forcing_and_batch_statistics():
    model = randomize(build_svg_model(tiny_params("ConvDeterministic")), seed=3)
    x = frames(3, 6, 32, seed=9)
    plain = model(x, context=3, num_preds=3)["preds"][0].numpy()
    np.testing.assert_array_equal(plain, model(x, context=3, num_preds=3, training=True)["preds"][0].numpy())
    # Autoregressive: the frames after the context are never read; with teacher forcing they are.
    changed = x.copy()
    changed[:, 3:] = 1.0 - changed[:, 3:]
    np.testing.assert_array_equal(plain, model(changed, context=3, num_preds=3)["preds"][0].numpy())
    forced = model(x, context=3, num_preds=3, teacher_force=True)["preds"][0].numpy()
    np.testing.assert_allclose(forced[:, 0], plain[:, 0], atol=1e-6)
    forced_changed = model(changed, context=3, num_preds=3, teacher_force=True)["preds"][0].numpy()
    assert np.abs(forced[:, 1:] - forced_changed[:, 1:]).max() > 1e-3
    # BN always uses the batch's statistics: another sequence in the batch changes this one's prediction.
    other = x.copy()
    other[2] = frames(1, 6, 32, seed=10)[0]
    assert np.abs(plain[0] - model(other, context=3, num_preds=3)["preds"][0].numpy()[0]).max() > 1e-3


def test_forward_compiles_and_has_gradients():
    params = tiny_params("ConvLP")
    params["dataset"]["img_size"] = 16
    model = build_svg_model(params)
    x = tf.constant(frames(2, 4, 16, seed=11))

    @tf.function
    def loss_and_grads(batch, seed):
        with tf.GradientTape() as tape:
            out = model(batch, context=2, num_preds=2, training=True, seed=seed)
            loss = tf.reduce_mean(tf.square(out["preds"][0] - batch[:, 2:]))
            for key, other in (("mu_post", "mu_prior"), ("logvar_post", "logvar_prior")):
                loss += tf.add_n([tf.reduce_mean(tf.square(a - b)) for a, b in zip(out[key][0], out[other][0])])
        return loss, tape.gradient(loss, model.trainable_variables)

    loss, grads = loss_and_grads(x, tf.constant([5, 6]))
    assert np.isfinite(loss.numpy())
    assert all(g is not None for g in grads)


def test_bad_configs_and_inputs_are_named():
    with pytest.raises(ValueError, match="dataset.img_size"):
        params = tiny_params("LP")
        params["dataset"]["img_size"] = 32
        build_svg_model(params)
    with pytest.raises(ValueError, match="not an SVG baseline"):
        build_svg_model(tiny_params("SpatioTempHierarchConvLSTM"))
    with pytest.raises(ValueError, match="enc_dec_type"):
        params = tiny_params("ConvLP")
        params["model"]["enc_dec_type"] = "ResNet"
        build_svg_model(params)
    model = build_svg_model(tiny_params("ConvLP"))
    with pytest.raises(ValueError, match="in training mode"):
        model(frames(1, 4, 32), context=3, num_preds=3, training=True)
    with pytest.raises(ValueError, match="built for"):
        model(frames(1, 6, 16), context=3, num_preds=3)


def test_vgg_variants_run():
    params = tiny_params("ConvLP", enc_dec_type="VGG")
    params["dataset"]["img_size"] = 16
    model = build_svg_model(params)
    out = model(frames(2, 4, 16), context=2, num_preds=2, training=True, seed=tf.constant([0, 1]))
    assert out["preds"][0].shape == (2, 2, 16, 16, 3)
    assert out["latents"][0][0].shape == (2, 2, 2, 2)  # VGG_Conv: 16 px / 8
    encoder, decoder = VGG64Encoder(8, nc=1), VGG64Decoder(8, nc=1)
    vec, skips = encoder(np.zeros((2, 64, 64, 1), np.float32) + np.linspace(0, 1, 64, dtype=np.float32)[:, None])
    frame, features = decoder(vec, skips)
    assert vec.shape == (2, 8)
    assert [s.shape[1:] for s in skips] == [(64, 64, 64), (32, 32, 128), (16, 16, 256), (8, 8, 512)]
    assert [f.shape[1:] for f in features] == [(4, 4, 512), (8, 8, 256), (16, 16, 128), (32, 32, 64)]
    assert frame.shape == (2, 64, 64, 1)


# -------------------------------------------------------------------------------------------------------------
# CopyLast
# -------------------------------------------------------------------------------------------------------------
def test_copy_last_repeats_the_last_context_step_of_every_level():
    rng = np.random.default_rng(12)
    x = rng.uniform(size=(2, 57, 8, 8, 3)).astype(np.float32)
    hmap_1 = rng.uniform(size=(2, 57, 8, 8, 9)).astype(np.float32)
    hmap_2 = rng.uniform(size=(2, 57, 8, 8, 1)).astype(np.float32)
    model = setup_model(mmnist_params("CopyLast"))
    assert isinstance(model, CopyLast) and model.periods == (1, 4, 8)
    out = model(x, context=17, num_preds=5, heatmaps=[hmap_1, hmap_2])
    for level, source in enumerate((x, hmap_1, hmap_2)):
        expected = np.repeat(source[:, 16:17], 5, axis=1)
        np.testing.assert_array_equal(np.asarray(out["preds"][level]), expected)
    # The frames the hierarchical model predicts for mmnist (spec checklist 8).
    assert np.nonzero(out["target_masks"][0])[0].tolist() == [17, 18, 19, 20, 21]
    assert np.nonzero(out["target_masks"][1])[0].tolist() == [20, 24, 28, 32, 36]
    assert np.nonzero(out["target_masks"][2])[0].tolist() == [24, 32, 40, 48, 56]
    assert out["mu_post"] == {0: [], 1: [], 2: []} and model.original_variables() == {}
    only_frames = CopyLast(periods=[1, 2])(x[:, :10], context=4, num_preds=[3, 2])
    assert list(only_frames["preds"]) == [0] and only_frames["preds"][0].shape == (2, 3, 8, 8, 3)
    with pytest.raises(ValueError, match="context"):
        model(x[:, :5], context=6, num_preds=2)
    with pytest.raises(ValueError, match="periods"):
        CopyLast(periods=[1, 0])


def _original_svg_forward(model, x, context, pred_frames, teacher_force, training, eps):
    """VideoPredModel.forward of the original, step by step, from the port's layers: target = frame t+1, skips
    taken while t < context (so those of the last context frame), the posterior called at every step (also in
    eval), latent = posterior while t < context - 1 or training, next input = true frame during the context or
    with teacher forcing, else the prediction."""
    x = tf.constant(x)
    batch, num_frames = int(x.shape[0]), int(x.shape[1])
    inputs, targets = x, x[:, 1:]
    next_input, preds, latents, states, skips = inputs[:, 0], [], [], {}, None
    draws = {"posterior_0": 0, "prior_0": 0}

    def gaussian(name, module, feats):
        key = f"{name}_0"
        noise = eps[key][draws[key]]
        draws[key] += 1
        result, states[name] = module.step(feats, states[name], noise)
        return result

    for t in range(context + pred_frames - 1):
        target_feats = model.encoder(targets[:, t])[0] if t < num_frames - 1 else None
        if t < context:
            feats, skips = model.encoder(next_input)
        else:
            feats, _ = model.encoder(next_input)
        if not states:
            for name in ("predictor", "prior", "posterior"):
                if getattr(model, name) is not None:
                    states[name] = model._initial_state(getattr(model, name), batch, feats)
        if model.prior is not None:
            latent_post = gaussian("posterior", model.posterior, target_feats)[0] if target_feats is not None \
                else None
            latent_prior = gaussian("prior", model.prior, feats)[0]
            latent = latent_post if (t < context - 1 or training) else latent_prior
            latents.append(latent)
            feats = tf.concat([feats, latent], 1 if model.linear else -1)
        pred_feats, states["predictor"] = model.predictor.step(feats, states["predictor"])
        frame, _ = model.decoder(pred_feats, skips)
        if t >= context - 1:
            preds.append(frame)
        next_input = inputs[:, t + 1] if (t < context - 1 or teacher_force) else frame
    return np.stack(preds, 1), latents


@pytest.mark.parametrize("model_type,teacher_force,training", [("ConvLP", False, False), ("ConvLP", True, False),
                                                               ("LP", False, True),
                                                               ("ConvDeterministic", False, False)])
def test_forward_matches_a_step_by_step_transliteration_of_the_original(model_type, teacher_force, training):
    params = tiny_params(model_type)
    size = params["dataset"]["img_size"]
    model = randomize(build_svg_model(params), seed=11)
    context, num_preds = 3, 3
    x = frames(2, context + num_preds, size, seed=12)
    steps = context + num_preds - 1
    latent_shape = (2, 2) if model.linear else (2, 2, 2, 2)
    rng = np.random.default_rng(13)
    eps = {key: rng.normal(size=(steps, *latent_shape)).astype(np.float32) for key in ("posterior_0", "prior_0")}
    expected, latents = _original_svg_forward(model, x, context, num_preds, teacher_force, training, eps)
    out = model(x, context=context, num_preds=num_preds, teacher_force=teacher_force, training=training,
                eps=eps if model.prior is not None else None)
    np.testing.assert_allclose(out["preds"][0].numpy(), expected, atol=2e-5)
    assert len(out["latents"][0]) == len(latents)
    for actual, reference in zip(out["latents"][0], latents):
        np.testing.assert_allclose(np.asarray(actual), np.asarray(reference), atol=2e-5)
