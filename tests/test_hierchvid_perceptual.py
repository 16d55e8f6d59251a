"""hierchvid's frozen perceptual networks (AlexNet conv5, stacked hourglass) and their weight files."""

import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
from fixtures.hierchvid_perceptual import (
    SMALL_ALEXNET_WIDTHS,
    SMALL_HOURGLASS_WIDTHS,
    fake_alexnet,
    torch_hourglass_shapes,
    write_perceptual_models,
)

from vidpred_tf.convert import hierchvid_perceptual as convert
from vidpred_tf.errors import InputError
from vidpred_tf.golden.common import run_cases
from vidpred_tf.models.hierchvid.alexnet import AlexNetFeatures, alexnet_weight_shapes
from vidpred_tf.models.hierchvid.hourglass import (
    NUM_PARAMS,
    StackedHourglassFeatures,
    batch_moment_norm,
    hourglass_param_shapes,
    resize_bilinear_legacy,
)
from vidpred_tf.papers.hierchvid import golden_perceptual


@pytest.fixture(scope="module")
def real_models(tmp_path_factory):
    return write_perceptual_models(tmp_path_factory.mktemp("real"))


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    return write_perceptual_models(tmp_path_factory.mktemp("small"), SMALL_ALEXNET_WIDTHS, SMALL_HOURGLASS_WIDTHS,
                                   dummies=False)


def _images(batch, size, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)


def _count(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


def test_real_size_alexnet_conv5_and_grouped_kernels(real_models):
    net = AlexNetFeatures(convert.load_alexnet_weights(real_models))
    assert net(_images(1, 128)).shape == (1, 7, 7, 256)
    assert [tuple(net.kernels[f"conv{k}"].shape) for k in range(1, 6)] == [
        (11, 11, 3, 96), (5, 5, 48, 256), (3, 3, 256, 384), (3, 3, 192, 384), (3, 3, 192, 256)]
    assert _count(net.weights) == 2_334_080 and not net.trainable_weights
    assert list(net.original_variables())[:2] == ["Variable", "Variable_1"]
    assert list(net.original_variables(first=10))[-1] == "Variable_19"


def test_grouped_convs_keep_the_halves_apart(small_models):
    net = AlexNetFeatures(convert.load_alexnet_weights(small_models))
    rng = np.random.RandomState(3)
    for name, groups in (("conv2", 2), ("conv3", 1), ("conv4", 2), ("conv5", 2)):
        c_in = net.kernels[name].shape[2] * groups
        x = rng.randn(1, 5, 5, c_in).astype(np.float32)
        changed = x.copy()
        changed[..., c_in // 2:] += 1.0  # only the second half of the input channels
        before, after = np.asarray(net.conv_relu(x, name)), np.asarray(net.conv_relu(changed, name))
        half = before.shape[-1] // 2
        first_half_same = np.array_equal(before[..., :half], after[..., :half])
        assert first_half_same == (groups == 2), name


def test_real_size_hourglass_consumes_414_arrays_and_returns_four_levels(real_models):
    assert len(list((real_models / "hourglass").glob("*.npy"))) == 800
    params = convert.load_hourglass_weights(real_models)
    net = StackedHourglassFeatures(params)
    assert len(net.params) == NUM_PARAMS == 414 and _count(net.params) == 12_720_256
    assert not net.trainable_weights and len(net.non_trainable_weights) == 414
    outputs = net(_images(1, 128))
    assert [tuple(o.shape) for o in outputs] == [(1, s, s, 512) for s in (8, 16, 32, 64)]
    names = net.original_variables(first=20)
    assert list(names)[0] == "Variable_20" and list(names)[-1] == "Variable_433"


def test_hourglass_order_matches_an_independent_listing(small_models):
    params = convert.load_hourglass_weights(small_models)
    listing = torch_hourglass_shapes(SMALL_HOURGLASS_WIDTHS)
    assert len(listing) == 414
    expected = [(s[2], s[3], s[1], s[0]) if len(s) == 4 else s for _, s in listing]  # OIHW -> HWIO
    assert [p.shape for p in params] == expected
    assert [s for _, s in hourglass_param_shapes(SMALL_HOURGLASS_WIDTHS)] == expected
    torch_file = np.load(small_models / "hourglass" / "hourglass_weights_11.npy")  # a 3x3 conv, (O, I, kh, kw)
    np.testing.assert_array_equal(params[10][1, 2, 0, 1], torch_file[1, 0, 1, 2])


def _numpy_resize_legacy(image, out_h, out_w):
    """TF1 bilinear, align_corners=False, no half-pixel centres: source = destination * in / out."""
    in_h, in_w = image.shape[1:3]

    def axis(n_out, n_in):
        src = np.arange(n_out) * (n_in / n_out)
        low = np.floor(src).astype(int)
        return low, np.minimum(low + 1, n_in - 1), src - low

    y0, y1, fy = axis(out_h, in_h)
    x0, x1, fx = axis(out_w, in_w)
    top = image[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + image[:, y0][:, :, x1] * fx[None, None, :, None]
    bottom = image[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + image[:, y1][:, :, x1] * fx[None, None, :, None]
    return top * (1 - fy)[None, :, None, None] + bottom * fy[None, :, None, None]


@pytest.mark.parametrize("size_in,size_out", [((128, 128), (256, 256)), ((8, 8), (16, 16)), ((5, 6), (7, 9))])
def test_legacy_bilinear_resize_matches_numpy(size_in, size_out):
    image = np.random.RandomState(1).randn(2, *size_in, 3).astype(np.float32)
    actual = np.asarray(resize_bilinear_legacy(image, list(size_out)))
    np.testing.assert_allclose(actual, _numpy_resize_legacy(image.astype(np.float64), *size_out), atol=1e-5)


def _directional_check(loss_fn, x, step, rtol):
    direction = tf.constant(np.random.RandomState(6).randn(*x.shape), x.dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = loss_fn(x)
    grad = tape.gradient(loss, x)
    assert grad is not None and np.all(np.isfinite(grad)) and np.any(np.asarray(grad) != 0)
    numeric = (loss_fn(x + step * direction) - loss_fn(x - step * direction)) / (2 * step)
    np.testing.assert_allclose(float(tf.reduce_sum(grad * direction)), float(numeric), rtol=rtol)


@pytest.mark.parametrize("num_groups", [1, 2])
def test_batch_moment_norm_gradient_goes_through_the_moments(num_groups):
    rng = np.random.RandomState(4)
    x = tf.constant(rng.randn(4, 3, 5, 2) * 3 + 1)
    weights, offset = tf.constant(rng.randn(4, 3, 5, 2)), tf.constant([0.5, -1.0], tf.float64)
    normed = np.asarray(batch_moment_norm(x, offset, num_groups))
    chunks = np.asarray(x).reshape(num_groups, -1, 2)
    expected = (chunks - chunks.mean(1, keepdims=True)) / np.sqrt(chunks.var(1, keepdims=True) + 1e-5) + [0.5, -1]
    np.testing.assert_allclose(normed, expected.reshape(normed.shape), rtol=1e-10)
    # the finite difference moves the moments with x: a gradient holding them constant (weights / sigma) fails
    _directional_check(lambda v: tf.reduce_sum(batch_moment_norm(v, offset, num_groups) * weights), x, 1e-6, 1e-6)


def test_gradients_reach_the_input_of_both_networks(small_models):
    alexnet = AlexNetFeatures(convert.load_alexnet_weights(small_models))
    hourglass = StackedHourglassFeatures(convert.load_hourglass_weights(small_models))
    images = tf.constant(_images(2, 32, seed=5))
    _directional_check(lambda x: tf.reduce_sum(alexnet(x) ** 2), images, 1e-3, 2e-2)
    weights = [tf.constant(np.random.RandomState(7 + k).randn(2, s, s, 10).astype(np.float32))
               for k, s in enumerate((8, 16, 32, 64))]
    with tf.GradientTape() as tape:  # deep random BN nets are too sensitive for a finite difference
        tape.watch(images)
        loss = sum(tf.reduce_sum(o * w) for o, w in zip(hourglass(images, num_groups=2), weights))
    grad = np.asarray(tape.gradient(loss, images))
    assert np.all(np.isfinite(grad)) and np.all(np.any(grad != 0, axis=(1, 2, 3)))


def test_load_export_round_trip(small_models, tmp_path):
    alexnet = AlexNetFeatures(convert.load_alexnet_weights(small_models))
    hourglass = StackedHourglassFeatures(convert.load_hourglass_weights(small_models))
    convert.export(alexnet, tmp_path)
    convert.export(hourglass, tmp_path)
    zeros_alexnet = AlexNetFeatures({n: (np.zeros(w), np.zeros(b)) for n, (w, b) in alexnet_weight_shapes(
        SMALL_ALEXNET_WIDTHS).items()})
    assert convert.load(zeros_alexnet, tmp_path) == 10
    for a, b in zip(alexnet.weights, zeros_alexnet.weights):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(hourglass.params, convert.load_hourglass_weights(tmp_path / "hourglass")):
        np.testing.assert_array_equal(a, b)


def test_converter_errors_name_the_file(small_models, tmp_path):
    broken = tmp_path / "perceptual_models"
    shutil.copytree(small_models, broken)
    os.remove(broken / "hourglass" / "hourglass_weights_7.npy")
    with pytest.raises(FileNotFoundError, match=r"hourglass_weights_7\.npy: no such file"):
        convert.load_hourglass_weights(broken)
    np.save(broken / "hourglass" / "hourglass_weights_7.npy", np.zeros((3, 4, 1, 1), np.float32))
    np.save(broken / "hourglass" / "hourglass_weights_11.npy", np.zeros((3, 3, 5, 5), np.float32))
    with pytest.raises(InputError, match=r"hourglass_weights_11\.npy.*has shape \(5, 5, 3, 3\)"):
        convert.load_hourglass_weights(broken)
    table = fake_alexnet(SMALL_ALEXNET_WIDTHS)
    del table["conv3"]
    np.save(broken / "alexnet" / "bvlc_alexnet.npy", np.array(table, dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match=r"bvlc_alexnet\.npy: no conv3 entry"):
        convert.load_alexnet_weights(broken)
    table = fake_alexnet(SMALL_ALEXNET_WIDTHS)
    table["conv4"][0] = table["conv4"][0][:, :, :2]  # not half of conv3's 8 channels
    np.save(broken / "alexnet" / "bvlc_alexnet.npy", np.array(table, dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match=r"bvlc_alexnet\.npy: conv4 kernel has shape \(3, 3, 2, 8\), expected "
                       r"\(3, 3, 8 // 2, out\)"):
        convert.load_alexnet_weights(broken)
    os.remove(broken / "alexnet" / "bvlc_alexnet.npy")
    with pytest.raises(FileNotFoundError, match=r"alexnet/bvlc_alexnet\.npy: no such file"):
        convert.load_alexnet_weights(broken)
    packed = tmp_path / "packed.npz"
    np.savez(packed, alexnet_conv1_W=np.zeros((11, 11, 3, 8), np.float32))
    with pytest.raises(InputError, match=r"packed\.npz: no key alexnet_conv1_b"):
        convert.load_alexnet_weights(packed)
    with pytest.raises(InputError, match=r"packed\.npz: no key hourglass_weights_1 "):
        convert.load_hourglass_weights(packed)


def test_converter_main_counts_the_real_sizes(real_models, tmp_path, capsys):
    assert convert.main([str(real_models)]) == 0
    out = capsys.readouterr().out
    assert "AlexNet: 10 arrays, 2,334,080 parameters" in out and "hourglass: 414 arrays, 12,720,256" in out
    assert convert.main([str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


@pytest.fixture(scope="module")
def hierchvid_golden(golden_dir):
    path = golden_dir / "hierchvid"
    if not path.is_dir():
        stop = pytest.fail if "VIDPRED_GOLDEN_DIR" in os.environ else pytest.skip
        stop(f"the goldens at {golden_dir} have no hierchvid/ folder")
    return path


def test_golden_perceptual_outputs_match(hierchvid_golden, tmp_path):
    lines = []
    assert run_cases("hierchvid", golden_perceptual.find_cases(hierchvid_golden), golden_perceptual.check_case,
                     lines.append) == 0, "\n".join(lines)
    text = "\n".join(lines)
    for key in ["perc/alexnet_conv5_of_xtpn"] + [f"perc/hourglass_layer{k}_of_xtpn" for k in range(4)]:
        assert re.search(rf"ok   output    {re.escape(key)}: max_abs=", text), key
    # a renamed copy is found by its keys
    shutil.copy(hierchvid_golden / "perceptual_penn_small.npz", tmp_path / "weights_any_name.npz")
    shutil.copy(hierchvid_golden / "imggen_penn_small.npz", tmp_path / "recorded.npz")
    cases = golden_perceptual.find_cases(tmp_path)
    assert [c.name for c in cases] == ["recorded_perceptual"] and not cases[0].missing
    os.remove(tmp_path / "weights_any_name.npz")
    assert golden_perceptual.find_cases(tmp_path)[0].missing
