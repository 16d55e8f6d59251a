"""MSPred building blocks against independent NumPy definitions (PyTorch semantics)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.models.mspred import blocks
from vidpred_tf.models.mspred.vgg_conv import VGGConvDecoder, VGGConvEncoder


def _conv2d_reference(x, weight_oihw, bias, stride, padding):
    """Cross-correlation as torch.nn.functional.conv2d, NHWC in and out, weight in PyTorch layout."""
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    out_c, _, kh, kw = weight_oihw.shape
    height = (x.shape[1] - kh) // stride + 1
    width = (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], height, width, out_c))
    for i in range(height):
        for j in range(width):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.einsum("bhwc,ochw->bo", patch, weight_oihw)
    return out + bias


def _conv_transpose_reference(x, weight_iohw, bias, stride, padding):
    """torch conv_transpose2d by its definition: every input pixel scatters weight * value, then crop."""
    in_c, out_c, kh, kw = weight_iohw.shape
    batch, height, width, _ = x.shape
    full = np.zeros((batch, (height - 1) * stride + kh, (width - 1) * stride + kw, out_c))
    for i in range(height):
        for j in range(width):
            full[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :] += np.einsum(
                "bi,iohw->bhwo", x[:, i, j, :], weight_iohw)
    if padding:
        full = full[:, padding:-padding, padding:-padding, :]
    return full + bias


def _assign_torch(layer, state):
    for key, param in layer.original_variables().items():
        value = state[key]
        if param.layout in ("conv2d", "conv2d_transpose"):
            value = value.transpose(2, 3, 1, 0)
        elif param.layout in ("linear", "lstm_weight"):
            value = value.T
        param.variable.assign(value.astype(np.float32))


@pytest.mark.parametrize("kernel,stride,padding", [(4, 2, 1), (3, 1, 1), (1, 1, 0)])
def test_conv2d_matches_torch_definition(kernel, stride, padding):
    rng = np.random.default_rng(0)
    layer = blocks.TorchConv2D(3, 5, kernel, stride=stride, padding=padding)
    state = {"weight": rng.normal(size=(5, 3, kernel, kernel)), "bias": rng.normal(size=(5,))}
    _assign_torch(layer, state)
    x = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    expected = _conv2d_reference(x, state["weight"], state["bias"], stride, padding)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-4)


@pytest.mark.parametrize("kernel,stride,padding,expected_size", [(4, 2, 1, 10), (3, 1, 1, 5)])
def test_conv_transpose_matches_torch_definition(kernel, stride, padding, expected_size):
    rng = np.random.default_rng(1)
    layer = blocks.TorchConv2DTranspose(4, 3, kernel, stride=stride, padding=padding)
    state = {"weight": rng.normal(size=(4, 3, kernel, kernel)), "bias": rng.normal(size=(3,))}
    _assign_torch(layer, state)
    x = rng.normal(size=(2, 5, 5, 4)).astype(np.float32)
    actual = np.asarray(layer(x))
    assert actual.shape == (2, expected_size, expected_size, 3)
    np.testing.assert_allclose(actual, _conv_transpose_reference(x, state["weight"], state["bias"], stride, padding),
                               atol=1e-4)


def test_batch_norm_always_uses_batch_statistics():
    rng = np.random.default_rng(2)
    layer = blocks.BatchNormBatchStats(3)
    layer.gamma.assign([1.0, 2.0, 0.5])
    layer.beta.assign([0.0, 1.0, -1.0])
    x = rng.normal(3.0, 2.0, size=(4, 5, 5, 3)).astype(np.float32)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # biased variance, as PyTorch normalises
    expected = (x - mean) / np.sqrt(var + 1e-5) * [1.0, 2.0, 0.5] + [0.0, 1.0, -1.0]
    for training in (True, False):
        np.testing.assert_allclose(np.asarray(layer(x, training=training)), expected, atol=1e-5)
    assert not layer.non_trainable_weights  # no moving statistics


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def test_lstm_cell_gate_order_i_f_g_o_and_two_biases():
    rng = np.random.default_rng(3)
    cell = blocks.TorchLSTMCell(4, 3)
    state = {"weight_ih": rng.normal(size=(12, 4)), "weight_hh": rng.normal(size=(12, 3)),
             "bias_ih": rng.normal(size=(12,)), "bias_hh": rng.normal(size=(12,))}
    _assign_torch(cell, state)
    x, h, c = rng.normal(size=(2, 4)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    gates = x @ state["weight_ih"].T + state["bias_ih"] + h @ state["weight_hh"].T + state["bias_hh"]
    i, f, g, o = _sigmoid(gates[:, :3]), _sigmoid(gates[:, 3:6]), np.tanh(gates[:, 6:9]), _sigmoid(gates[:, 9:])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    h_port, c_port = cell(x.astype(np.float32), (h.astype(np.float32), c.astype(np.float32)))
    np.testing.assert_allclose(np.asarray(h_port), h_new, atol=1e-5)
    np.testing.assert_allclose(np.asarray(c_port), c_new, atol=1e-5)
    params = cell.original_variables()
    assert list(params) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    # One variable per PyTorch tensor: the trainable count is PyTorch's 4 * hidden * (in + hidden + 2).
    assert {id(p.variable) for p in params.values()} == {id(v) for v in cell.trainable_variables}
    assert sum(int(np.prod(v.shape)) for v in cell.trainable_variables) == 12 * (4 + 3 + 2)
    assert blocks.count_torch_parameters(params) == 12 * (4 + 3 + 2)


def test_sgd_step_moves_each_lstm_bias_as_torch_does():
    """torch trains bias_ih and bias_hh as two parameters with the same gradient, so one SGD step moves each by
    lr * g and their sum by 2 * lr * g; g comes from the analytic derivative of the cell, not from TF."""
    rng = np.random.default_rng(7)
    block = blocks.LinearLSTM(5, 0, hidden_size=3, num_layers=1, use_output=False)
    state = {"embed.weight": rng.normal(size=(3, 5)), "embed.bias": rng.normal(size=(3,)),
             "lstm.0.weight_ih": rng.normal(size=(12, 3)), "lstm.0.weight_hh": rng.normal(size=(12, 3)),
             "lstm.0.bias_ih": rng.normal(size=(12,)), "lstm.0.bias_hh": rng.normal(size=(12,))}
    _assign_torch(block, state)
    x, h, c = rng.normal(size=(4, 5)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    readout = rng.normal(size=(4, 3))  # loss = sum(readout * h')

    embedded = x @ state["embed.weight"].T + state["embed.bias"]
    gates = (embedded @ state["lstm.0.weight_ih"].T + state["lstm.0.bias_ih"]
             + h @ state["lstm.0.weight_hh"].T + state["lstm.0.bias_hh"])
    i, f, g, o = _sigmoid(gates[:, :3]), _sigmoid(gates[:, 3:6]), np.tanh(gates[:, 6:9]), _sigmoid(gates[:, 9:])
    c_new = f * c + i * g
    d_c = readout * o * (1 - np.tanh(c_new) ** 2)
    d_gates = np.concatenate([d_c * g * i * (1 - i), d_c * c * f * (1 - f), d_c * i * (1 - g ** 2),
                              readout * np.tanh(c_new) * o * (1 - o)], axis=1)
    bias_grad = d_gates.sum(axis=0)

    cell = block.lstm[0]
    lr = 1.0
    optimizer = keras.optimizers.SGD(learning_rate=lr)
    with tf.GradientTape() as tape:
        hidden, _ = block.step(tf.constant(x, tf.float32), [(tf.constant(h, tf.float32), tf.constant(c, tf.float32))])
        loss = tf.reduce_sum(hidden * readout)
    variables = block.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    np.testing.assert_allclose(cell.bias_ih.numpy(), state["lstm.0.bias_ih"] - lr * bias_grad, atol=1e-5)
    np.testing.assert_allclose(cell.bias_hh.numpy(), state["lstm.0.bias_hh"] - lr * bias_grad, atol=1e-5)
    summed_before = state["lstm.0.bias_ih"] + state["lstm.0.bias_hh"]
    np.testing.assert_allclose(cell.bias_ih.numpy() + cell.bias_hh.numpy(), summed_before - 2 * lr * bias_grad,
                               atol=1e-5)
    assert np.abs(lr * bias_grad).max() > 1e-2  # the step is large enough for a single summed bias to fail


def test_conv_lstm_cell_gate_order_i_f_o_g():
    rng = np.random.default_rng(4)
    cell = blocks.ConvLSTMCell(2, 2, kernel_size=1)
    weight = rng.normal(size=(8, 4, 1, 1))
    bias = rng.normal(size=(8,))
    cell.conv.kernel.assign(weight.transpose(2, 3, 1, 0).astype(np.float32))
    cell.conv.bias.assign(bias.astype(np.float32))
    x, h, c = (rng.normal(size=(1, 3, 3, 2)).astype(np.float32) for _ in range(3))
    gates = np.einsum("bhwc,oc->bhwo", np.concatenate([x, h], -1), weight[:, :, 0, 0]) + bias
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    i, f, o, g = sig(gates[..., 0:2]), sig(gates[..., 2:4]), sig(gates[..., 4:6]), np.tanh(gates[..., 6:8])
    c_new = f * c + i * g
    h_port, c_port = cell(x, (h, c))
    np.testing.assert_allclose(np.asarray(c_port), c_new, atol=1e-5)
    np.testing.assert_allclose(np.asarray(h_port), o * np.tanh(c_new), atol=1e-5)


def test_period_counter_and_the_stale_prior_schedule():
    counter = blocks.PeriodCounter(3)
    assert [counter.tick() for _ in range(8)] == [True, False, False, True, False, False, True, False]
    # A prior only ticks when its posterior fires (it is called only then): with period p it fires every p * p steps.
    for period in (1, 2, 4):
        posterior, prior = blocks.PeriodCounter(period), blocks.PeriodCounter(period)
        prior_fires = [t for t in range(40) if posterior.tick() and prior.tick()]
        assert prior_fires == list(range(0, 40, period * period))
    with pytest.raises(ValueError, match="period"):
        blocks.PeriodCounter(0)


def test_upsample_and_chw_flattening():
    x = np.arange(2 * 2 * 3 * 4, dtype=np.float32).reshape(2, 2, 3, 4)
    np.testing.assert_array_equal(np.asarray(blocks.upsample_nearest(x, 2)), x.repeat(2, 1).repeat(2, 2))
    flat = np.asarray(blocks.flatten_chw(x))
    np.testing.assert_array_equal(flat, x.transpose(0, 3, 1, 2).reshape(2, -1))
    np.testing.assert_array_equal(np.asarray(blocks.unflatten_chw(flat, 4, 2, 3)), x)


def test_deconv_head_names_shapes_and_output_range():
    head = blocks.DeconvHead(16, 2, num_filters=8, num_layers=2, period=4)
    params = head.original_variables("decoder_heads.0")
    assert {k: blocks.torch_shape(p) for k, p in params.items()} == {
        "decoder_heads.0.upc_layers.0.weight": (16, 8, 4, 4), "decoder_heads.0.upc_layers.0.bias": (8,),
        "decoder_heads.0.upc_layers.1.weight": (8,), "decoder_heads.0.upc_layers.1.bias": (8,),
        "decoder_heads.0.upc_layers.3.weight": (8, 8, 4, 4), "decoder_heads.0.upc_layers.3.bias": (8,),
        "decoder_heads.0.upc_layers.4.weight": (8,), "decoder_heads.0.upc_layers.4.bias": (8,),
        "decoder_heads.0.upc_layers.6.weight": (2, 8, 1, 1), "decoder_heads.0.upc_layers.6.bias": (2,)}
    out = np.asarray(head(np.random.default_rng(5).normal(size=(2, 4, 4, 16)).astype(np.float32)))
    assert out.shape == (2, 16, 16, 2) and out.min() > 0 and out.max() < 1
    with pytest.raises(ValueError, match="layout"):
        blocks.TorchParam(head.final_conv.kernel, "conv3d")


def _batch_norm_reference(x, gamma, beta):
    mean = x.mean(axis=(0, 1, 2))
    var = x.var(axis=(0, 1, 2))
    return (x - mean) / np.sqrt(var + 1e-5) * gamma + beta


def _vgg_layer_reference(x, state, prefix):
    y = _conv2d_reference(x, state[f"{prefix}.main.0.weight"], state[f"{prefix}.main.0.bias"], 1, 1)
    y = _batch_norm_reference(y, state[f"{prefix}.main.1.weight"], state[f"{prefix}.main.1.bias"])
    return np.where(y > 0, y, 0.2 * y)


def _max_pool_reference(x):
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _up_reference(x):
    return x.repeat(2, axis=1).repeat(2, axis=2)


def _random_torch_state(layer, rng):
    state = {}
    for key, param in layer.original_variables().items():
        shape = blocks.torch_shape(param)
        if key.endswith(".weight") and len(shape) == 1:  # a BN gamma
            state[key] = rng.uniform(0.5, 1.5, size=shape)
        else:
            state[key] = rng.normal(0.0, 0.1, size=shape)
    return state


@pytest.mark.parametrize("extra_deep", [False, True])
def test_vgg_conv_encoder_decoder_follow_the_original_layers(extra_deep):
    """models/VGG_Conv.py: c1/c2/c3 = 2/2/3 vgg_layers (3/4/5 extra deep) with max pools between, out_conv plain;
    decoder in_conv plain, then up + skip + upc1 (3 or 5 layers), upc2 (2 or 4), upc3 (2 or 3, the last one a
    ConvTranspose 3x3 s1 p1), sigmoid."""
    rng = np.random.default_rng(7)
    dim = 16
    encoder, decoder = VGGConvEncoder(dim, nc=1, extra_deep=extra_deep), VGGConvDecoder(dim, nc=1,
                                                                                          extra_deep=extra_deep)
    enc_state, dec_state = _random_torch_state(encoder, rng), _random_torch_state(decoder, rng)
    _assign_torch(encoder, enc_state)
    _assign_torch(decoder, dec_state)
    enc_counts = (3, 4, 5) if extra_deep else (2, 2, 3)
    dec_counts = (5, 4, 3) if extra_deep else (3, 2, 2)
    expected_keys = ({f"c{b + 1}.{i}.main.{m}.{p}" for b, n in enumerate(enc_counts) for i in range(n)
                      for m in (0, 1) for p in ("weight", "bias")} | {"out_conv.weight", "out_conv.bias"})
    assert set(enc_state) == expected_keys
    last = dec_counts[2] - 1
    expected_keys = ({f"upc{b + 1}.{i}.main.{m}.{p}" for b, n in enumerate(dec_counts)
                      for i in range(n - (1 if b == 2 else 0)) for m in (0, 1) for p in ("weight", "bias")}
                     | {"in_conv.weight", "in_conv.bias", f"upc3.{last}.weight", f"upc3.{last}.bias"})
    assert set(dec_state) == expected_keys
    assert dec_state[f"upc3.{last}.weight"].shape == (64, 1, 3, 3)  # ConvTranspose2d layout (in, out, k, k)

    x = rng.uniform(size=(2, 16, 16, 1))
    h = x
    skips = []
    for b, n in enumerate(enc_counts):
        h = h if b == 0 else _max_pool_reference(h)
        for i in range(n):
            h = _vgg_layer_reference(h, enc_state, f"c{b + 1}.{i}")
        skips.append(h)
    h4 = _conv2d_reference(_max_pool_reference(h), enc_state["out_conv.weight"], enc_state["out_conv.bias"], 1, 1)
    out, port_skips = encoder(x.astype(np.float32))
    np.testing.assert_allclose(out.numpy(), h4, atol=1e-4)
    assert [tuple(s.shape) for s in port_skips] == [(2, 16, 16, 64), (2, 8, 8, 128), (2, 4, 4, 256)]
    for port, ref in zip(port_skips, skips):
        np.testing.assert_allclose(port.numpy(), ref, atol=1e-4)

    d = _conv2d_reference(h4, dec_state["in_conv.weight"], dec_state["in_conv.bias"], 1, 1)
    features = [d]
    for b, n in enumerate(dec_counts):
        d = np.concatenate([_up_reference(d), skips[-1 - b]], axis=-1)
        for i in range(n - (1 if b == 2 else 0)):
            d = _vgg_layer_reference(d, dec_state, f"upc{b + 1}.{i}")
        features.append(d)
    frame = _conv_transpose_reference(d, dec_state[f"upc3.{last}.weight"], dec_state[f"upc3.{last}.bias"], 1, 1)
    frame = 1 / (1 + np.exp(-frame))
    port_frame, port_features = decoder(h4.astype(np.float32), [s.astype(np.float32) for s in skips])
    assert tuple(port_frame.shape) == (2, 16, 16, 1)
    np.testing.assert_allclose(port_frame.numpy(), frame, atol=1e-4)
    assert len(port_features) == 3
    for port, ref in zip(port_features, features[:3]):
        np.testing.assert_allclose(port.numpy(), ref, atol=1e-4)
