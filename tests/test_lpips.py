"""LPIPS (Keras) against an independent NumPy statement of the definition on random weights of the real shapes;
known answers (identical frames, range equivalence, gray tiling); the converter from the original key layout."""

import collections
import importlib.util
import os
import warnings

import numpy as np
import pytest
import tensorflow as tf
from numpy.lib.stride_tricks import sliding_window_view
from torch_zip_writer import write_torch_zip

from vidpred_tf.convert import lpips as convert_lpips
from vidpred_tf.convert.lpips import (
    WeightMismatchError,
    lpips_from_original,
    read_state_dict,
)
from vidpred_tf.metrics.lpips import LPIPS

HAVE_TORCH = importlib.util.find_spec("torch") is not None

# ---------------------------------------------------------------------------------------------------------------
# The reference: NCHW NumPy float64, weights in their original OIHW layout, trunks written out from torchvision's
# definitions and lpips' slicing (not from the package's tables).

SHIFT = np.array([-0.030, -0.088, -0.188])
SCALE = np.array([0.458, 0.448, 0.450])


def _conv(key, cin, cout, kernel, stride=1, pad=0):
    return ("conv", key, cin, cout, kernel, stride, pad)


def _pool(kernel, stride, ceil=False):
    return ("pool", kernel, stride, ceil)


def _fire(index, cin, squeeze, expand):
    return ("fire", f"features.{index}", cin, squeeze, expand)


_VGG_BLOCKS = [[(0, 3, 64), (2, 64, 64)], [(5, 64, 128), (7, 128, 128)],
               [(10, 128, 256), (12, 256, 256), (14, 256, 256)], [(17, 256, 512), (19, 512, 512), (21, 512, 512)],
               [(24, 512, 512), (26, 512, 512), (28, 512, 512)]]

TRUNKS = {
    # AlexNet: features[0:2], [2:5], [5:8], [8:10], [10:12] -> relu1 .. relu5.
    "alex": [[_conv("features.0", 3, 64, 11, 4, 2)],
             [_pool(3, 2), _conv("features.3", 64, 192, 5, 1, 2)],
             [_pool(3, 2), _conv("features.6", 192, 384, 3, 1, 1)],
             [_conv("features.8", 384, 256, 3, 1, 1)],
             [_conv("features.10", 256, 256, 3, 1, 1)]],
    # VGG16: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
    "vgg": [([_pool(2, 2)] if block else []) + [_conv(f"features.{i}", cin, cout, 3, 1, 1) for i, cin, cout in convs]
            for block, convs in enumerate(_VGG_BLOCKS)],
    # SqueezeNet1.1: features[0:2], [2:5], [5:8], [8:10], [10], [11], [12]; pools with ceil_mode.
    "squeeze": [[_conv("features.0", 3, 64, 3, 2, 0)],
                [_pool(3, 2, True), _fire(3, 64, 16, 64), _fire(4, 128, 16, 64)],
                [_pool(3, 2, True), _fire(6, 128, 32, 128), _fire(7, 256, 32, 128)],
                [_pool(3, 2, True), _fire(9, 256, 48, 192)],
                [_fire(10, 384, 48, 192)], [_fire(11, 384, 64, 256)], [_fire(12, 512, 64, 256)]],
}
LPIPS_CHANNELS = {"alex": [64, 192, 384, 256, 256], "vgg": [64, 128, 256, 512, 512],
                  "squeeze": [64, 128, 256, 384, 384, 512, 512]}


def _fire_convs(op):
    _, key, cin, squeeze, expand = op
    return [(f"{key}.squeeze", cin, squeeze, 1, 1, 0), (f"{key}.expand1x1", squeeze, expand, 1, 1, 0),
            (f"{key}.expand3x3", squeeze, expand, 3, 1, 1)]


def _all_convs(net):
    for stage in TRUNKS[net]:
        for op in stage:
            if op[0] == "conv":
                yield op[1:]
            elif op[0] == "fire":
                yield from _fire_convs(op)


def random_original_weights(net, seed):
    """(torchvision backbone state_dict incl. an unused classifier head, lpips v0.1 linear state_dict), float32."""
    rng = np.random.default_rng(seed)
    backbone = {}
    for key, cin, cout, kernel, _, _ in _all_convs(net):
        fan_in = cin * kernel * kernel
        backbone[f"{key}.weight"] = (rng.standard_normal((cout, cin, kernel, kernel)) * np.sqrt(2.0 / fan_in)
                                     ).astype(np.float32)
        backbone[f"{key}.bias"] = rng.uniform(-0.1, 0.2, cout).astype(np.float32)
    backbone["classifier.1.weight"] = rng.standard_normal((10, 4)).astype(np.float32)
    backbone["classifier.1.bias"] = rng.standard_normal(10).astype(np.float32)
    linear = {f"lin{i}.model.1.weight": rng.uniform(0.0, 1.0, (1, c, 1, 1)).astype(np.float32)
              for i, c in enumerate(LPIPS_CHANNELS[net])}
    return backbone, linear


def _np_conv_relu(x, weight, bias, stride, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    kernel = weight.shape[-1]
    windows = sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.tensordot(windows, weight.astype(np.float64), axes=([1, 4, 5], [1, 2, 3]))  # [N, H', W', O]
    out = out.transpose(0, 3, 1, 2) + bias.astype(np.float64)[None, :, None, None]
    return np.maximum(out, 0.0)


def _np_max_pool(x, kernel, stride, ceil):
    def out_size(size):
        steps = -(-(size - kernel) // stride) if ceil else (size - kernel) // stride
        if ceil and steps * stride >= size:  # PyTorch drops a last window that would start outside the input
            steps -= 1
        return steps + 1

    out_h, out_w = out_size(x.shape[2]), out_size(x.shape[3])
    need_h, need_w = (out_h - 1) * stride + kernel, (out_w - 1) * stride + kernel
    x = np.pad(x, ((0, 0), (0, 0), (0, max(need_h - x.shape[2], 0)), (0, max(need_w - x.shape[3], 0))),
               constant_values=-np.inf)
    windows = sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride][:, :, :out_h, :out_w]
    return windows.max(axis=(-2, -1))


def _np_taps(net, backbone, images_nhwc_signed):
    x = (images_nhwc_signed.astype(np.float64) - SHIFT) / SCALE
    x = x.transpose(0, 3, 1, 2)
    taps = []
    for stage in TRUNKS[net]:
        for op in stage:
            if op[0] == "pool":
                x = _np_max_pool(x, *op[1:])
            elif op[0] == "conv":
                key, _, _, _, stride, pad = op[1:]
                x = _np_conv_relu(x, backbone[f"{key}.weight"], backbone[f"{key}.bias"], stride, pad)
            else:
                squeeze, expand1, expand3 = _fire_convs(op)
                s = _np_conv_relu(x, backbone[f"{squeeze[0]}.weight"], backbone[f"{squeeze[0]}.bias"], 1, 0)
                x = np.concatenate(
                    [_np_conv_relu(s, backbone[f"{expand1[0]}.weight"], backbone[f"{expand1[0]}.bias"], 1, 0),
                     _np_conv_relu(s, backbone[f"{expand3[0]}.weight"], backbone[f"{expand3[0]}.bias"], 1, 1)],
                    axis=1)
        taps.append(x)
    return taps


def lpips_reference(net, backbone, linear, frames0, frames1):
    """LPIPS v0.1 of [N, H, W, 3] frames in [-1, 1]: the definition, term by term."""
    total = np.zeros(frames0.shape[0])
    for index, (tap0, tap1) in enumerate(zip(_np_taps(net, backbone, frames0), _np_taps(net, backbone, frames1))):
        unit0 = tap0 / (np.sqrt(np.sum(tap0 ** 2, axis=1, keepdims=True)) + 1e-10)
        unit1 = tap1 / (np.sqrt(np.sum(tap1 ** 2, axis=1, keepdims=True)) + 1e-10)
        weights = linear[f"lin{index}.model.1.weight"][0, :, 0, 0].astype(np.float64)
        weighted = np.einsum("c,nchw->nhw", weights, (unit0 - unit1) ** 2)
        total += weighted.mean(axis=(1, 2))
    return total


# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def original_weights():
    cache = {}

    def get(net):
        if net not in cache:
            cache[net] = random_original_weights(net, seed={"alex": 1, "vgg": 2, "squeeze": 3}[net])
        return cache[net]

    return get


@pytest.fixture(scope="module")
def alex_metric(original_weights):
    return lpips_from_original("alex", *original_weights("alex"))


def _frames(shape, seed):
    rng = np.random.default_rng(seed)
    first = rng.random(shape)
    second = np.clip(first + 0.3 * rng.standard_normal(shape), 0.0, 1.0)
    return first.astype(np.float32), second.astype(np.float32)


@pytest.mark.parametrize("net, height, width", [("alex", 64, 64), ("vgg", 64, 64), ("squeeze", 67, 61)])
def test_matches_numpy_reference_of_the_definition(net, height, width, original_weights):
    backbone, linear = original_weights(net)
    metric = lpips_from_original(net, backbone, linear)
    frames0, frames1 = _frames((3, height, width, 3), seed=10)
    got = metric(frames0, frames1, input_range="[0,1]")
    expected = lpips_reference(net, backbone, linear, 2.0 * frames0.astype(np.float64) - 1.0,
                               2.0 * frames1.astype(np.float64) - 1.0)
    assert got.shape == (3,)
    assert np.all(expected > 1e-3)  # a meaningful comparison, not of near-zeros
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_every_tap_has_the_lpips_channel_count(alex_metric):
    from vidpred_tf.metrics.lpips import LPIPSNetwork

    for net, channels in LPIPS_CHANNELS.items():
        network = alex_metric.network if net == "alex" else LPIPSNetwork(net)
        taps = network.features(tf.zeros([1, 64, 64, 3]))
        assert [int(t.shape[-1]) for t in taps] == channels
    # AlexNet at 64x64: 15x15 after the stride-4 convolution, 7x7 and 3x3 after the pools.
    taps = alex_metric.network.features(tf.zeros([1, 64, 64, 3]))
    assert [tuple(t.shape[1:3]) for t in taps] == [(15, 15), (7, 7), (3, 3), (3, 3), (3, 3)]


def test_identical_frames_give_exactly_zero(alex_metric):
    frames, _ = _frames((2, 3, 64, 64, 3), seed=3)
    values = alex_metric(frames, frames.copy(), input_range="[0,1]")
    assert values.shape == (2, 3)
    assert np.all(values == 0.0)


def test_both_input_ranges_give_the_same_value_for_the_same_picture(alex_metric):
    frames0, frames1 = _frames((4, 64, 64, 3), seed=4)
    unit = alex_metric(frames0, frames1, input_range="[0,1]")
    signed = alex_metric(frames0 * 2.0 - 1.0, frames1 * 2.0 - 1.0, input_range="[-1,1]")
    np.testing.assert_allclose(unit, signed, rtol=1e-6)
    # And the range matters: calling [0, 1] frames "[-1,1]" (MSPred's usage) is a different number.
    assert not np.allclose(alex_metric(frames0, frames1, input_range="[-1,1]"), unit, rtol=1e-3)


def test_gray_frames_are_tiled_to_rgb(alex_metric, original_weights):
    frames0, frames1 = _frames((2, 64, 64, 1), seed=5)
    gray = alex_metric(frames0, frames1, input_range="[0,1]")
    rgb = alex_metric(np.repeat(frames0, 3, axis=-1), np.repeat(frames1, 3, axis=-1), input_range="[0,1]")
    np.testing.assert_array_equal(gray, rgb)
    backbone, linear = original_weights("alex")
    expected = lpips_reference("alex", backbone, linear, np.repeat(2.0 * frames0 - 1.0, 3, -1),
                               np.repeat(2.0 * frames1 - 1.0, 3, -1))
    np.testing.assert_allclose(gray, expected, rtol=1e-5, atol=1e-7)


def test_leading_axes_are_flattened_and_restored(alex_metric):
    frames0, frames1 = _frames((2, 3, 64, 64, 3), seed=6)
    values = alex_metric(frames0, frames1, input_range="[0,1]")
    assert values.shape == (2, 3) and isinstance(values, np.ndarray)
    one_by_one = np.array([[alex_metric(frames0[b, t], frames1[b, t], input_range="[0,1]")
                            for t in range(3)] for b in range(2)])
    np.testing.assert_allclose(values, one_by_one, rtol=1e-5)
    single = alex_metric(frames0[0, 0], frames1[0, 0], input_range="[0,1]")
    assert single.shape == ()
    # Tensors in, tensor out; also inside tf.function with an unknown batch size.
    tensor = alex_metric(tf.constant(frames0), tf.constant(frames1), input_range="[0,1]")
    assert tf.is_tensor(tensor)
    np.testing.assert_allclose(tensor.numpy(), values, rtol=1e-6)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 64, 64, 3], tf.float32)] * 2)
    def graph(a, b):
        return alex_metric(a, b, input_range="[0,1]")

    np.testing.assert_allclose(graph(frames0, frames1).numpy(), values, rtol=1e-5)


def test_small_batches_give_the_same_values(original_weights):
    metric = lpips_from_original("alex", *original_weights("alex"), batch_size=2)
    frames0, frames1 = _frames((5, 64, 64, 3), seed=7)
    whole = lpips_from_original("alex", *original_weights("alex"))(frames0, frames1, input_range="[0,1]")
    np.testing.assert_allclose(metric(frames0, frames1, input_range="[0,1]"), whole, rtol=1e-5)


def test_bad_inputs_are_refused_clearly(alex_metric):
    frames0, frames1 = _frames((2, 64, 64, 3), seed=8)
    with pytest.raises(TypeError):
        alex_metric(frames0, frames1)  # the range has no default
    with pytest.raises(ValueError, match=r"input_range must be one of \['\[0,1\]', '\[-1,1\]'\]; got '0-1'"):
        alex_metric(frames0, frames1, input_range="0-1")
    with pytest.raises(ValueError, match="1 \\(gray\\) or 3 \\(RGB\\) channels"):
        alex_metric(frames0[..., :2], frames1[..., :2], input_range="[0,1]")
    with pytest.raises(ValueError, match="same shape"):
        alex_metric(frames0, frames1[:1], input_range="[0,1]")
    with pytest.raises(ValueError, match="frame height 16 is too small"):
        alex_metric(frames0[:, :16], frames1[:, :16], input_range="[0,1]")
    with pytest.raises(ValueError, match="integer dtype uint8"):
        alex_metric((frames0 * 255).astype(np.uint8), (frames1 * 255).astype(np.uint8), input_range="[0,1]")
    with pytest.raises(ValueError,
                       match=r"first input has values in \[0\.0\d+, 25\d\.\d+\], far outside input_range \[0,1\]"):
        alex_metric(frames0 * 255.0, frames1 * 255.0, input_range="[0,1]")
    with pytest.raises(ValueError, match="unknown LPIPS net 'resnet'; known nets: \\['alex', 'vgg', 'squeeze'\\]"):
        LPIPS("resnet")


def test_random_weights_warn_once():
    metric = LPIPS("squeeze")
    frames0, frames1 = _frames((1, 32, 32, 3), seed=9)
    with pytest.warns(UserWarning, match="random weights"):
        metric(frames0, frames1, input_range="[0,1]")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metric(frames0, frames1, input_range="[0,1]")


# ---------------------------------------------------------------------------------------------------------------
# The converter.

def test_npz_round_trip_in_the_original_key_layout(tmp_path, original_weights, alex_metric):
    backbone, linear = original_weights("alex")
    backbone_path, linear_path = tmp_path / "alexnet-owt.npz", tmp_path / "alex_v0.1.npz"
    np.savez(backbone_path, **backbone)
    np.savez(linear_path, **linear)
    metric = lpips_from_original("alex", str(backbone_path), str(linear_path))
    assert metric.pretrained
    # Kernels are the originals transposed OIHW -> HWIO.
    np.testing.assert_array_equal(metric.network.conv_layer("features.3").kernel.numpy(),
                                  backbone["features.3.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(metric.network.lin_layers[2].kernel.numpy()[0, 0, :, 0],
                                  linear["lin2.model.1.weight"][0, :, 0, 0])
    exported_backbone, exported_linear = convert_lpips.export(metric)
    assert sorted(exported_backbone) == sorted(k for k in backbone if not k.startswith("classifier."))
    for key, value in exported_backbone.items():
        np.testing.assert_array_equal(value, backbone[key])
    for key, value in exported_linear.items():
        np.testing.assert_array_equal(value, linear[key])
    frames0, frames1 = _frames((2, 64, 64, 3), seed=11)
    np.testing.assert_array_equal(metric(frames0, frames1, input_range="[0,1]"),
                                  alex_metric(frames0, frames1, input_range="[0,1]"))


def test_command_line_writes_weights_that_lpips_loads(tmp_path, original_weights, alex_metric, capsys):
    backbone, linear = original_weights("alex")
    np.savez(tmp_path / "backbone.npz", **backbone)
    np.savez(tmp_path / "linear.npz", **linear)
    output = tmp_path / "lpips_alex.weights.h5"
    code = convert_lpips.main(["--net", "alex", "--backbone", str(tmp_path / "backbone.npz"),
                               "--linear", str(tmp_path / "linear.npz"), "--output", str(output)])
    assert code == 0
    assert "2470848 parameters" in capsys.readouterr().out  # AlexNet features (2469696) + lin layers (1152)
    assert sorted(os.listdir(tmp_path)) == ["backbone.npz", "linear.npz", "lpips_alex.weights.h5"]
    metric = LPIPS("alex", weights=str(output))
    assert metric.pretrained and metric.name == "lpips_v0.1_alex"
    frames0, frames1 = _frames((2, 64, 64, 3), seed=12)
    np.testing.assert_array_equal(metric(frames0, frames1, input_range="[0,1]"),
                                  alex_metric(frames0, frames1, input_range="[0,1]"))
    with pytest.raises(ValueError, match=r"LPIPS\(squeeze\): .*lpips_alex.weights.h5 does not hold weights of "
                                         r"this net"):
        LPIPS("squeeze", weights=str(output))
    # A misfit is reported, not raised, by the command line.
    code = convert_lpips.main(["--net", "vgg", "--backbone", str(tmp_path / "backbone.npz"),
                               "--linear", str(tmp_path / "linear.npz"), "--output", str(tmp_path / "v.weights.h5")])
    assert code == 1
    assert ("key 'features.0.weight' has shape [64, 3, 11, 11]; LPIPS(vgg) needs [64, 3, 3, 3]"
            in capsys.readouterr().err)
    assert not (tmp_path / "v.weights.h5").exists()


def _copy(state):
    return {key: value.copy() for key, value in state.items()}


def test_misfits_are_refused_naming_the_key(original_weights):
    backbone, linear = original_weights("alex")
    metric = LPIPS("alex")
    before = metric.network.conv_layer("features.0").kernel.numpy().copy()

    missing = _copy(backbone)
    del missing["features.8.bias"]
    with pytest.raises(WeightMismatchError, match=r"missing key 'features\.8\.bias' \(shape \[256\]\)"):
        convert_lpips.load(metric, missing, linear)

    extra = _copy(backbone)
    extra["features.13.weight"] = np.zeros((4, 4, 1, 1), np.float32)
    with pytest.raises(WeightMismatchError, match=r"unexpected key 'features\.13\.weight' \(shape \[4, 4, 1, 1\]\)"):
        convert_lpips.load(metric, extra, linear)

    wrong = _copy(backbone)
    wrong["features.3.weight"] = np.zeros((192, 64, 3, 3), np.float32)
    with pytest.raises(WeightMismatchError,
                       match=r"key 'features\.3\.weight' has shape \[192, 64, 3, 3\]; LPIPS\(alex\) needs "
                             r"\[192, 64, 5, 5\]"):
        convert_lpips.load(metric, wrong, linear)

    no_dropout_layout = {key.replace(".model.1.", ".model.0."): value for key, value in linear.items()}
    with pytest.raises(WeightMismatchError, match=r"missing key 'lin0\.model\.1\.weight'"):
        convert_lpips.load(metric, backbone, no_dropout_layout)

    _, vgg_linear = original_weights("vgg")
    with pytest.raises(WeightMismatchError, match=r"key 'lin1\.model\.1\.weight' has shape \[1, 128, 1, 1\]"):
        convert_lpips.load(metric, backbone, vgg_linear)

    # Nothing was assigned by any failed load.
    np.testing.assert_array_equal(metric.network.conv_layer("features.0").kernel.numpy(), before)
    assert not metric.pretrained


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="weight file .*nowhere.npz not found"):
        read_state_dict(tmp_path / "nowhere.npz")
    with pytest.raises(ValueError, match="LPIPS weights must be a .weights.h5 file"):
        LPIPS("alex", weights=str(tmp_path / "alex.pth"))
    with pytest.raises(FileNotFoundError, match="LPIPS weights file .*missing.weights.h5 not found"):
        LPIPS("alex", weights=str(tmp_path / "missing.weights.h5"))


@pytest.mark.skipif(HAVE_TORCH, reason="torch is installed")
def test_pth_without_torch_says_what_to_do(tmp_path):
    path = tmp_path / "alex.pth"
    path.write_bytes(b"\x80\x02not really")
    with pytest.raises(ImportError, match=r"reading .*alex\.pth needs PyTorch .* or save the same state_dict as "
                                          r"\.npz"):
        read_state_dict(path)


def test_pth_round_trip_without_torch(tmp_path, original_weights, alex_metric):
    # torch.save zips written without torch: the trunk as a bare state_dict, the calibration under "state_dict".
    backbone, linear = original_weights("alex")
    write_torch_zip(tmp_path / "alexnet.pth", collections.OrderedDict(backbone),
                    {str(index): value for index, value in enumerate(backbone.values())})
    write_torch_zip(tmp_path / "alex.pth", {"state_dict": collections.OrderedDict(linear)},
                    {str(index): value for index, value in enumerate(linear.values())})
    metric = lpips_from_original("alex", str(tmp_path / "alexnet.pth"), str(tmp_path / "alex.pth"))
    frames0, frames1 = _frames((2, 64, 64, 3), seed=13)
    np.testing.assert_array_equal(metric(frames0, frames1, input_range="[0,1]"),
                                  alex_metric(frames0, frames1, input_range="[0,1]"))
