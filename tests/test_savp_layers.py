"""SAVP's shared layers against independent math: the fused resamplers against their slow forms (the original
docstrings' equivalences, spec checklist 18) and NumPy, the TF1 cells' gate math and the instance norm against
NumPy, and the TF1 variable names and creation orders."""

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.layers import normalization, resampling, tf1_cells

RNG = np.random.default_rng(0)


def _rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_conv_same(x, k):
    """Naive NumPy SAME cross-correlation, stride 1, TF's padding split (more at the end)."""
    n, h, w, _ = x.shape
    kh, kw, _, co = k.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2
    xp = np.pad(x, [[0, 0], [top, kh - 1 - top], [left, kw - 1 - left], [0, 0]])
    out = np.zeros((n, h, w, co), np.float64)
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,cd->nhwd", xp[:, i:i + h, j:j + w, :], k[i, j])
    return out


def _np_instance_norm(x, gamma, beta, eps):
    axes = tuple(range(1, x.ndim - 1))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


# ------------------------------------------------------------------------------------------------- resampling
@pytest.mark.parametrize("ksize", [3, 5])
def test_conv_pool2d_equals_conv_then_avgpool(ksize):
    x, k, b = _rand(4, 16, 16, 8), 0.1 * _rand(ksize, ksize, 8, 12), _rand(12)
    fused = resampling.conv_pool2d(x, k, b, strides=(2, 2)).numpy()
    slow = resampling.conv_pool2d_v2(x, k, b, strides=(2, 2)).numpy()
    ref = _np_conv_same(x, k)
    ref = ref.reshape(4, 8, 2, 8, 2, 12).mean(axis=(2, 4)) + b
    assert fused.shape == (4, 8, 8, 12)
    np.testing.assert_allclose(fused, slow, atol=1e-5)
    np.testing.assert_allclose(fused, ref, atol=1e-5)
    assert resampling.pooled_kernel(tf.constant(k)).shape == (ksize + 1, ksize + 1, 8, 12)


def test_upsample_conv2d_equals_bilinear_upsample_then_conv():
    x, k, b = _rand(4, 8, 8, 6), 0.1 * _rand(3, 3, 6, 5), _rand(5)
    fused = resampling.upsample_conv2d(x, k, b, strides=(2, 2)).numpy()
    slow = resampling.upsample_conv2d_v2(x, k, b, strides=(2, 2)).numpy()
    assert fused.shape == (4, 16, 16, 5)
    np.testing.assert_allclose(fused, slow, atol=1e-5)
    assert resampling.upsampled_kernel(tf.constant(k)).shape == (6, 6, 5, 6)
    # interior pixels against an independent NumPy bilinear 2x upsampling (half-pixel centres) + SAME conv
    up = np.zeros((4, 16, 16, 6))
    src = (np.arange(16) + 0.5) / 2 - 0.5
    lo = np.floor(src).astype(int)
    frac = src - lo
    lo_c, hi_c = np.clip(lo, 0, 7), np.clip(lo + 1, 0, 7)
    rows = x[:, lo_c] * (1 - frac)[None, :, None, None] + x[:, hi_c] * frac[None, :, None, None]
    up = rows[:, :, lo_c] * (1 - frac)[None, None, :, None] + rows[:, :, hi_c] * frac[None, None, :, None]
    ref = _np_conv_same(up, k) + b
    np.testing.assert_allclose(fused[:, 2:-2, 2:-2], ref[:, 2:-2, 2:-2], atol=1e-4)


def test_bilinear_kernel_values():
    np.testing.assert_allclose(resampling.bilinear_kernel(2)[0], np.array([.25, .75, .75, .25]) * .25)
    np.testing.assert_allclose(resampling.bilinear_kernel(2).sum(), 4.0)


def test_conv_pool2d_rejects_odd_sizes():
    with pytest.raises(ValueError, match="multiple of the stride"):
        resampling.conv_pool2d(_rand(1, 5, 6, 2), _rand(3, 3, 2, 2))


def test_resampling_layers_names_shapes():
    down = resampling.downsample_layer("conv_pool2d", 32, (5, 5))
    down.build((None, 64, 64, 14))
    up = resampling.upsample_layer("upsample_conv2d", 64, (3, 3))
    up.build((None, 8, 8, 136))
    deconv = resampling.upsample_layer("deconv2d", 7, (4, 4))
    deconv.build((None, 8, 8, 3))
    assert [(n, tuple(v.shape)) for n, v in down.tf1_variables()] == [
        ("conv_pool2d/kernel", (5, 5, 14, 32)), ("conv_pool2d/bias", (32,))]
    assert [(n, tuple(v.shape)) for n, v in up.tf1_variables()] == [
        ("upsample_conv2d/kernel", (3, 3, 136, 64)), ("upsample_conv2d/bias", (64,))]
    assert [(n, tuple(v.shape)) for n, v in deconv.tf1_variables()] == [
        ("deconv2d/kernel", (4, 4, 7, 3)), ("deconv2d/bias", (7,))]
    assert down(tf.zeros([2, 64, 64, 14])).shape == (2, 32, 32, 32)
    assert up(tf.zeros([2, 8, 8, 136])).shape == (2, 16, 16, 64)
    assert deconv(tf.zeros([2, 8, 8, 3])).shape == (2, 16, 16, 7)
    v2 = resampling.downsample_layer("conv_pool2d_v2", 4, 3)
    v2.build((None, 8, 8, 2))
    v1 = resampling.downsample_layer("conv_pool2d", 4, 3)
    v1.build((None, 8, 8, 2))
    v1.kernel.assign(v2.kernel)
    x = _rand(2, 8, 8, 2)
    np.testing.assert_allclose(v1(x).numpy(), v2(x).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="unknown kind 'maxpool'"):
        resampling.downsample_layer("maxpool", 4, 3)


# ---------------------------------------------------------------------------------------------- normalisation
def test_instance_norm_matches_numpy_and_tf1_eps():
    x = _rand(3, 5, 6, 4) * 3 + 1
    norm = normalization.InstanceNorm()
    norm.build((None, 5, 6, 4))
    assert [n for n, _ in norm.tf1_variables()] == ["InstanceNorm/beta", "InstanceNorm/gamma"]
    gamma, beta = _rand(4), _rand(4)
    norm.gamma.assign(gamma)
    norm.beta.assign(beta)
    assert norm.epsilon == pytest.approx(1.001e-5)
    np.testing.assert_allclose(norm(x).numpy(), _np_instance_norm(x, gamma, beta, 1.001e-5), atol=2e-5)
    # a near-constant channel shows the eps: 1.001e-5 (TF1's clamp), not the 1e-6 the code asked for
    flat = np.full((1, 4, 4, 1), 2.0, np.float32)
    flat[0, 0, 0, 0] += 1e-2
    ours = normalization.instance_norm(flat).numpy()
    np.testing.assert_allclose(ours, _np_instance_norm(flat, 1.0, 0.0, 1.001e-5), rtol=1e-4)
    assert not np.allclose(ours, _np_instance_norm(flat, 1.0, 0.0, 1e-6), rtol=1e-2)


def test_layer_and_batch_norm():
    x = _rand(2, 3, 3, 4)
    ln = normalization.norm_layer("layer")
    ln.build((None, 3, 3, 4))
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    var = x.var(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(ln(x).numpy(), (x - mean) / np.sqrt(var + 1e-12), atol=1e-5)
    bn = normalization.norm_layer("batch")
    bn.build((None, 3, 3, 4))
    assert [n for n, _ in bn.tf1_variables()] == ["batch_normalization/gamma", "batch_normalization/beta",
                                                  "batch_normalization/moving_mean",
                                                  "batch_normalization/moving_variance"]
    np.testing.assert_allclose(bn(x).numpy(), x / np.sqrt(1 + 1e-3), atol=1e-6)
    with pytest.raises(ValueError, match="unknown kind 'group'"):
        normalization.norm_layer("group")


# --------------------------------------------------------------------------------------------------- cells
def test_tf1_lstm_cell_gate_math():
    cell = tf1_cells.TF1LSTMCell(3)
    cell.build(2)
    assert [(n, tuple(v.shape)) for n, v in cell.tf1_variables()] == [
        ("basic_lstm_cell/kernel", (5, 12)), ("basic_lstm_cell/bias", (12,))]
    kernel, bias = _rand(5, 12), _rand(12)
    cell.kernel.assign(kernel)
    cell.bias.assign(bias)
    x, c, h = _rand(4, 2), _rand(4, 3), _rand(4, 3)
    out, (new_c, new_h) = cell(x, (c, h))
    z = np.concatenate([x, h], 1) @ kernel + bias
    i, j, f, o = z[:, :3], z[:, 3:6], z[:, 6:9], z[:, 9:]
    ref_c = c * _sigmoid(f + 1.0) + _sigmoid(i) * np.tanh(j)
    ref_h = np.tanh(ref_c) * _sigmoid(o)
    np.testing.assert_allclose(new_c.numpy(), ref_c, atol=1e-5)
    np.testing.assert_allclose(new_h.numpy(), ref_h, atol=1e-5)
    np.testing.assert_allclose(out.numpy(), ref_h, atol=1e-5)
    # a fresh bias is zero, and the kernel is glorot-uniform: |w| <= sqrt(6 / (fan_in + fan_out))
    fresh = tf1_cells.TF1LSTMCell(8)
    fresh.build(8)
    assert np.all(fresh.bias.numpy() == 0)
    assert np.abs(fresh.kernel.numpy()).max() <= np.sqrt(6 / (16 + 32)) + 1e-6


def test_tf1_gru_cell_math():
    cell = tf1_cells.TF1GRUCell(3)
    cell.build(2)
    assert [n for n, _ in cell.tf1_variables()] == ["gru_cell/gates/kernel", "gru_cell/gates/bias",
                                                    "gru_cell/candidate/kernel", "gru_cell/candidate/bias"]
    assert np.all(cell.gates_bias.numpy() == 1)
    x, h = _rand(4, 2), _rand(4, 3)
    out, _ = cell(x, h)
    gk, gb, ck, cb = (v.numpy() for _, v in cell.tf1_variables())
    g = _sigmoid(np.concatenate([x, h], 1) @ gk + gb)
    r, u = g[:, :3], g[:, 3:]
    cand = np.tanh(np.concatenate([x, r * h], 1) @ ck + cb)
    np.testing.assert_allclose(out.numpy(), u * h + (1 - u) * cand, atol=1e-5)


def test_basic_conv2d_lstm_cell_math_and_names():
    filters, channels = 2, 3
    cell = tf1_cells.BasicConv2DLSTMCell(filters, (3, 3), normalizer="instance", separate_norms=False)
    cell.build(channels)
    assert [(n, tuple(v.shape)) for n, v in cell.tf1_variables()] == [
        ("basic_conv2dlstm_cell/kernel", (3, 3, 5, 8)),
        ("basic_conv2dlstm_cell/input_transform_forget_output/gamma", (8,)),
        ("basic_conv2dlstm_cell/input_transform_forget_output/beta", (8,)),
        ("basic_conv2dlstm_cell/state/gamma", (2,)),
        ("basic_conv2dlstm_cell/state/beta", (2,))]
    values = [_rand(3, 3, 5, 8), _rand(8), _rand(8), _rand(2), _rand(2)]
    for (_, var), value in zip(cell.tf1_variables(), values):
        var.assign(value)
    kernel, g1, b1, g2, b2 = values
    x, c, h = _rand(2, 6, 6, channels), _rand(2, 6, 6, filters), _rand(2, 6, 6, filters)
    out, (new_c, new_h) = cell(x, (c, h))
    z = _np_instance_norm(_np_conv_same(np.concatenate([x, h], -1), kernel), g1, b1, 1.001e-5)
    i, j, f, o = np.split(z, 4, axis=-1)
    ref_c = _np_instance_norm(c * _sigmoid(f + 1.0) + _sigmoid(i) * np.tanh(j), g2, b2, 1.001e-5)
    ref_h = np.tanh(ref_c) * _sigmoid(o)
    np.testing.assert_allclose(new_c.numpy(), ref_c, atol=1e-4)
    np.testing.assert_allclose(out.numpy(), ref_h, atol=1e-4)
    # without a normaliser the convolution has a bias; a non-spatial input adds a bias-free 'weights' matrix
    plain = tf1_cells.BasicConv2DLSTMCell(filters, (5, 5))
    plain.build(channels, 4)
    assert [(n, tuple(v.shape)) for n, v in plain.tf1_variables()] == [
        ("basic_conv2dlstm_cell/kernel", (5, 5, 5, 8)), ("basic_conv2dlstm_cell/bias", (8,)),
        ("basic_conv2dlstm_cell/weights", (4, 8))]
    out, _ = plain((x, _rand(2, 4)), (c, h))
    assert out.shape == (2, 6, 6, filters)
