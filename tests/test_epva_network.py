"""EPVA network: parameter counts of the original's configurations, output shapes, the VAN mask blend, dropout in
eval, the layer norm over all non-batch axes, the quaternion pose loss and the epva ramp against independent math."""

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.layers.normalization import LayerNorm
from vidpred_tf.models.epva import losses
from vidpred_tf.models.epva.blocks import Seeds
from vidpred_tf.models.epva.config import EPVAConfig
from vidpred_tf.models.epva.network import EPVANetwork


def _count(block):
    return sum(int(np.prod(v.shape)) for _, v in block.tf1_variables())


@pytest.fixture(scope="module")
def default_gan_network():
    # Built once (slow on CPU) and never called on data.
    return EPVANetwork(EPVAConfig(model_mode="epva_gan", pred_noise_std=1.0))


def _tiny(**kw):
    values = dict(model_mode="epva", enc_size=8, van_first_depth=4, vgg_width_divisor=16)
    values.update(kw)
    return EPVAConfig(**values)


def _batch(steps=3, batch=2, seed=0):
    rng = np.random.RandomState(seed)
    return {"images": rng.uniform(size=(batch, steps, 64, 64, 3)).astype(np.float32),
            "actions": rng.normal(size=(batch, steps, 5)).astype(np.float32),
            "joint_poses": rng.normal(size=(batch, steps, 12)).astype(np.float32)}


def test_default_parameter_counts_match_the_original(default_gan_network):
    net = default_gan_network
    assert _count(net.encoder) == 14_845_824
    assert _count(net.van) == 7_599_192
    assert _count(net.predictor) == 1_149_466 + 6_969  # + noise_dense (pred_noise_std > 0)
    assert _count(net.discriminator) == 2_325_313
    names = dict(net.original_variables())
    assert tuple(names["timestep/predict/LSTMCell/W_0"].shape) == (276, 276)
    assert tuple(names["timestep/predict/LSTMCell_2/W_0"].shape) == (207, 276)
    assert tuple(names["timestep/van/van_dec/conv2d_transpose_5/kernel"].shape) == (3, 3, 4, 64)
    assert tuple(names["Discriminator/timestep/LSTMCell/W_0"].shape) == (896, 1024)
    cells = [n for n in names if n.startswith("timestep/predict/LSTMCell") and n.endswith("/W_0")]
    norms = [n for n in names if n.startswith("timestep/predict/LayerNorm") and n.endswith("/beta")]
    assert len(cells) == 21 and len(norms) == 11


def test_legacy_back_connection_is_named_variable():
    names = [n for n, _ in EPVANetwork(_tiny(use_legacy_vars=True)).original_variables()]
    assert "timestep/predict/Variable" in names and "timestep/predict/back_connect_init" not in names


def test_output_shapes_and_mask_normalisation():
    net = EPVANetwork(_tiny(pred_noise_std=1.0))
    out = net(_batch(), seed=tf.constant([1, 2]))
    f = 4
    expected = {"enc_out_all": (2, 3, 8), "pred_out_all": (2, 2, 8), "van_out_all": (2, 2, 64, 64, 3),
                "mask_out_all": (2, 2, 64, 64, 1), "van_on_enc_all": (2, 2, 64, 64, 3),
                "van_higher_on_enc_all": (2, 3, 8 + 64 * 6 * f), "van_higher_on_pred_all": (2, 2, 8 + 64 * 6 * f)}
    assert {k: tuple(v.shape) for k, v in out.items()} == expected
    np.testing.assert_allclose(out["mask_out_all"].numpy().max(axis=(2, 3, 4)), 1.0, rtol=1e-6)
    loss = losses.compute_losses(out, _batch(), net.config, 0)
    assert np.isfinite(loss["epva_loss"].numpy())


def test_pose_predictor_with_enc_size_12():
    net = EPVANetwork(_tiny(enc_size=12, model_mode="individual"))
    out = net(_batch(), pred_noise=None)
    assert tuple(out["pred_on_pose_out_all"].shape) == (2, 2, 12)
    assert tuple(out["van_on_pose_all"].shape) == (2, 2, 64, 64, 3)
    loss = losses.compute_losses(out, _batch(), net.config, 0)
    assert "pose_from_pred_on_pose_loss_quant/total_loss" in loss and "van_on_pose_loss/loss" in loss
    with pytest.raises(ValueError, match="individual needs enc_size == pose_dim"):
        EPVANetwork(_tiny(model_mode="individual"))
    with pytest.raises(ValueError, match="pred_noise: 2 tensors given; the unroll of 3 frames makes 4 predictor"):
        net(_batch(), pred_noise=[tf.zeros([2, 100])] * 2)


def test_van_output_is_the_mask_blend_with_the_first_frame():
    net = EPVANetwork(_tiny())
    kernel, bias = net.van.d_d6
    kernel.assign(tf.zeros_like(kernel))
    rgb, logit = np.array([0.3, -0.2, 0.7], np.float32), 0.4
    bias.assign(np.append(rgb, logit))
    batch = _batch()
    out = net(batch)
    mask = 1.0 / (1.0 + np.exp(-logit))
    first = np.broadcast_to(batch["images"][:, :1], out["van_out_all"].shape)
    np.testing.assert_allclose(out["van_out_all"].numpy(), rgb * mask + first * (1 - mask), atol=1e-6)


def test_dropout_is_active_in_eval_and_follows_the_seed():
    net = EPVANetwork(_tiny(enc_keep_prob=0.5))
    batch = _batch()
    a = net(batch, training=False, seed=tf.constant([3, 4]))["enc_out_all"].numpy()
    b = net(batch, training=False, seed=tf.constant([3, 4]))["enc_out_all"].numpy()
    c = net(batch, training=False, seed=tf.constant([5, 6]))["enc_out_all"].numpy()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0


def test_layer_norm_over_all_non_batch_axes():
    rng = np.random.RandomState(0)
    x = rng.normal(size=(2, 4, 5, 3)).astype(np.float32) * 3 + 1
    norm = LayerNorm()
    norm.build(x.shape)
    gamma, beta = rng.normal(size=3).astype(np.float32), rng.normal(size=3).astype(np.float32)
    norm.gamma.assign(gamma)
    norm.beta.assign(beta)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    var = x.var(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(norm(x).numpy(), (x - mean) / np.sqrt(var + 1e-12) * gamma + beta, atol=1e-5)
    assert tuple(norm.gamma.shape) == (3,)


def _numpy_quaternion(ai, aj, ak):
    ai, aj, ak = ai / 2, aj / 2, ak / 2
    ci, si, cj, sj, ck, sk = np.cos(ai), np.sin(ai), np.cos(aj), np.sin(aj), np.cos(ak), np.sin(ak)
    cc, cs, sc, ss = ci * ck, ci * sk, si * ck, si * sk
    return np.stack([cj * sc - sj * cs, cj * ss + sj * cc, cj * cs - sj * sc, cj * cc + sj * ss], axis=1)


def test_pose_loss_against_numpy():
    rng = np.random.RandomState(1)
    gen = rng.normal(size=(3, 2, 16)).astype(np.float32)
    true = rng.normal(size=(3, 2, 12)).astype(np.float32)
    true[..., -2:] = rng.uniform(-np.pi, np.pi, size=(3, 2, 2))
    parts = losses.pose_loss(tf.constant(gen), tf.constant(true), 7)
    g = gen[..., :12]
    joint = np.mean([np.mean((true[:, t, :7] - g[:, t, :7]) ** 2) for t in range(2)])
    ee = np.mean([np.mean((true[:, t, 7:10] - g[:, t, 7:10]) ** 2) for t in range(2)])
    quat = np.mean([np.mean(1 - np.sum(_numpy_quaternion(0 * g[:, t, -2], g[:, t, -2], g[:, t, -1])
                                       * _numpy_quaternion(0 * true[:, t, -2], true[:, t, -2], true[:, t, -1]),
                                       axis=1)) for t in range(2)])
    np.testing.assert_allclose(parts["total_loss"].numpy(), joint + ee + quat, rtol=1e-5)
    np.testing.assert_allclose(parts["loss_quant_angle"].numpy(), quat, rtol=1e-5)
    narrow = losses.pose_loss(tf.constant(gen[..., :8]), tf.constant(true), 7)
    assert float(narrow["total_loss"]) == 0.0


def test_epva_ramp():
    config = EPVAConfig(model_mode="epva", enc_pred_loss_scale=0.1, enc_pred_loss_scale_delay=10)
    np.testing.assert_allclose(losses.epva_loss_scale(config, 0).numpy(), 4.5398e-6, rtol=1e-4)
    np.testing.assert_allclose(losses.epva_loss_scale(config, 1).numpy(), 1.2339e-5, rtol=1e-4)


def test_from_flags_reads_known_keys_and_rejects_bad_values():
    config = EPVAConfig.from_flags({"enc_size": "16", "use_legacy_vars": "False", "enc_pred_use_l2norm": True,
                                    "data_dir": "ignored"})
    assert config.enc_size == 16 and config.use_legacy_vars is False and config.enc_pred_use_l2norm is True
    with pytest.raises(ValueError, match="flag --enc_size: 'x' is not a int"):
        EPVAConfig.from_flags({"enc_size": "x"})


def test_modified_gan_loss_matches_tfgan_label_smoothing():
    # use_wgan=False: tfgan's modified_discriminator_loss smooths the real label 1 to 1 * 0.75 + 0.5 * 0.25.
    config = _tiny(model_mode="epva_gan", use_wgan=False)
    net = EPVANetwork(config)
    rng = np.random.RandomState(2)
    width = 8 + 64 * 6 * 4
    outputs = {"van_higher_on_enc_all": tf.constant(rng.normal(size=(2, 3, width)).astype(np.float32)),
               "van_higher_on_pred_all": tf.constant(rng.normal(size=(2, 2, width)).astype(np.float32))}
    gan = losses.gan_losses(net, outputs, config, alpha=None, enc_pred_loss=tf.constant(0.5))
    real, fake = gan["discrim_real_logits"].numpy(), gan["discrim_gen_logits"].numpy()

    def sigmoid_ce(labels, logits):
        return np.mean(np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits))))

    expected = sigmoid_ce(0.875, real) + sigmoid_ce(0.0, fake)
    np.testing.assert_allclose(gan["discrim_total_loss"].numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(gan["enc_pred_loss_gan"].numpy(), -expected, rtol=1e-5)
    np.testing.assert_allclose(gan["enc_pred_loss_total"].numpy(), -expected + 0.5 * 1e-2, rtol=1e-5)


def test_a_new_network_is_built_and_round_trips_weights_h5(tmp_path):
    # All variables exist after __init__, so Keras must save and load without a forward pass.
    config = _tiny(model_mode="epva_gan")
    net = EPVANetwork(config)
    assert net.built
    path = str(tmp_path / "epva.weights.h5")
    net.save_weights(path)
    other = EPVANetwork(config)
    other.load_weights(path)
    for (name, a), (_, b) in zip(net.original_variables(), other.original_variables()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_encoder_noise_reaches_only_the_van_on_encoder_path():
    batch, seed = _batch(), tf.constant([7, 8])
    clean = EPVANetwork(_tiny())
    noisy = EPVANetwork(_tiny(enc_noise_stddev=0.5))
    noisy.set_weights(clean.get_weights())
    a, b = clean(batch, seed=seed), noisy(batch, seed=seed)
    np.testing.assert_array_equal(a["enc_out_all"].numpy(), b["enc_out_all"].numpy())
    np.testing.assert_array_equal(a["van_out_all"].numpy(), b["van_out_all"].numpy())
    assert np.abs(a["van_on_enc_all"].numpy() - b["van_on_enc_all"].numpy()).max() > 0


def test_lstm_state_noise_perturbs_the_states_after_each_predictor_call():
    # The noise is added to the carried states after the output, so the first prediction is untouched.
    batch, seed = _batch(steps=4), tf.constant([9, 10])
    clean = EPVANetwork(_tiny())
    noisy = EPVANetwork(_tiny(lstm_state_noise_stddev=0.5))
    noisy.set_weights(clean.get_weights())
    a, b = clean(batch, seed=seed)["pred_out_all"].numpy(), noisy(batch, seed=seed)["pred_out_all"].numpy()
    np.testing.assert_array_equal(a[:, 0], b[:, 0])
    assert np.abs(a[:, 1:] - b[:, 1:]).max() > 0
    again = noisy(batch, seed=seed)["pred_out_all"].numpy()
    np.testing.assert_array_equal(b, again)


def test_state_noise_is_a_truncated_normal_scaled_by_the_mean_feature_std():
    rng = np.random.RandomState(3)
    clean = EPVANetwork(_tiny()).predictor
    noisy = EPVANetwork(_tiny(lstm_state_noise_stddev=2.0)).predictor
    for a, b in zip(clean.weights, noisy.weights):
        b.assign(a)
    code = tf.constant(rng.normal(size=(64, 8)), tf.float32)
    action = tf.constant(rng.normal(size=(64, 5)), tf.float32)
    clean_states, noisy_states = [None] * 22, [None] * 22
    clean.step(code, action, clean_states, None, Seeds(None))
    noisy.step(code, action, noisy_states, None, Seeds(tf.constant([1, 2])))
    assert noisy_states[21] is None
    for k in (0, 18, 20):
        state = clean_states[k].numpy()
        std = 2.0 * np.mean(np.sqrt(state.var(axis=1)))
        noise = noisy_states[k].numpy() - state
        assert np.abs(noise).max() <= 2 * std * (1 + 1e-4)  # truncated at two standard deviations
        np.testing.assert_allclose(noise.std(), 0.8796 * std, rtol=0.05)  # std of a 2-sigma truncated normal


def test_grey_input_encoder_sees_only_the_luma():
    # encoder_grey_in: rgb_to_grayscale tiled to 3 channels before the x256 / ImageNet-mean preprocessing.
    net = EPVANetwork(_tiny(encoder_grey_in=True))
    rng = np.random.RandomState(4)
    for _, kernel, _ in net.encoder.convs:  # He-scaled weights, so that the features do not vanish
        fan_in = int(np.prod(kernel.shape[:3]))
        kernel.assign(rng.normal(size=kernel.shape).astype(np.float32) * np.sqrt(2.0 / fan_in))
    net.encoder.kernel.assign(rng.normal(size=net.encoder.kernel.shape).astype(np.float32))
    images = _batch()["images"][:, 0]
    grey = np.repeat(images @ np.array([0.2989, 0.587, 0.114], np.float32)[:, None], 3, axis=-1)
    seeds = Seeds(None)
    code = net.encoder.encode(images, seeds).numpy()
    assert np.abs(code).max() > 1e-2, np.abs(code).max()
    np.testing.assert_allclose(code, net.encoder.encode(grey, seeds).numpy(), rtol=1e-3, atol=1e-3 * np.abs(code).max())
    colour = EPVANetwork(_tiny())
    colour.set_weights(net.get_weights())
    assert np.abs(colour.encoder.encode(images, seeds).numpy() - code).max() > 0.05 * np.abs(code).max()
