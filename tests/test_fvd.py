"""FVD: Frechet distance against closed forms, the I3D preprocessing, the I3D network and its converter."""

import os
import sys

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.convert import i3d as i3d_convert
from vidpred_tf.convert.i3d import find_scope
from vidpred_tf.convert.i3d import main as convert_main
from vidpred_tf.convert.tf1 import CheckpointMismatchError, write_tf1_checkpoint
from vidpred_tf.metrics.fvd import frechet_distance, fvd, i3d_embeddings, preprocess_for_i3d
from vidpred_tf.metrics.i3d import InceptionI3d, build_i3d

# ---------------------------------------------------------------------------------------------------------
# Frechet distance


def _samples_with_moments(rng, mean, cov, count):
    """Samples whose sample mean and unbiased sample covariance equal ``mean`` and ``cov`` exactly."""
    dims = len(mean)
    z = rng.normal(size=(count, dims))
    z -= z.mean(axis=0)
    whiten = np.linalg.inv(np.linalg.cholesky(np.atleast_2d(np.cov(z, rowvar=False, ddof=1))))
    z = z @ whiten.T
    return mean + z @ np.linalg.cholesky(cov).T


def _random_orthogonal(rng, dims):
    q, r = np.linalg.qr(rng.normal(size=(dims, dims)))
    return q * np.sign(np.diag(r))


def test_frechet_distance_commuting_gaussians_closed_form():
    rng = np.random.default_rng(0)
    dims = 6
    basis = _random_orthogonal(rng, dims)
    d1, d2 = rng.uniform(0.2, 3.0, dims), rng.uniform(0.2, 3.0, dims)
    mu1, mu2 = rng.normal(size=dims), rng.normal(size=dims)
    s1, s2 = basis @ np.diag(d1) @ basis.T, basis @ np.diag(d2) @ basis.T
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(d1 + d2 - 2 * np.sqrt(d1 * d2))
    a = _samples_with_moments(rng, mu1, s1, 300)
    b = _samples_with_moments(rng, mu2, s2, 200)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_one_dimensional_gaussians():
    rng = np.random.default_rng(1)
    a = _samples_with_moments(rng, np.array([1.5]), np.array([[4.0]]), 50)
    b = _samples_with_moments(rng, np.array([-0.5]), np.array([[0.25]]), 80)
    # (m1 - m2)^2 + (s1 - s2)^2 with s the standard deviations 2 and 0.5.
    assert frechet_distance(a, b) == pytest.approx(4.0 + 2.25, rel=1e-10)


def test_frechet_distance_general_covariances_match_eigenvalue_form():
    rng = np.random.default_rng(2)
    dims = 5
    m1, m2 = rng.normal(size=(dims, dims)), rng.normal(size=(dims, dims))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(dims), m2 @ m2.T + 0.1 * np.eye(dims)
    mu1, mu2 = rng.normal(size=dims), rng.normal(size=dims)
    # tr(sqrt(S1 S2)) is the sum of the square roots of the (real, positive) eigenvalues of S1 S2.
    root_trace = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).real))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * root_trace
    a, b = _samples_with_moments(rng, mu1, s1, 100), _samples_with_moments(rng, mu2, s2, 120)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_without_scipy_gives_the_same(monkeypatch):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(64, 7)), rng.normal(loc=0.3, scale=1.7, size=(40, 7))
    with_scipy = frechet_distance(a, b)
    monkeypatch.setitem(sys.modules, "scipy", None)  # `from scipy import linalg` now raises ImportError
    assert frechet_distance(a, b) == pytest.approx(with_scipy, rel=1e-8)


def test_frechet_distance_identical_sets_zero_and_symmetric():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(200, 16)).astype(np.float32)
    b = rng.normal(loc=0.5, size=(150, 16)).astype(np.float32)
    assert abs(frechet_distance(a, a)) < 1e-8
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)
    assert frechet_distance(a, b) > 0.2 * 16  # the mean shift alone gives 0.25 per dimension


def test_frechet_distance_rejects_bad_embeddings():
    with pytest.raises(ValueError, match="embedding sizes differ, 3 vs 4"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((3, 2), np.nan), np.zeros((5, 2)))


# ---------------------------------------------------------------------------------------------------------
# Preprocessing


def _legacy_bilinear(image, out_h, out_w):
    """TF1 resize_bilinear (align_corners=False, no half-pixel centres) written from its definition."""
    in_h, in_w = image.shape[:2]
    out = np.zeros((out_h, out_w) + image.shape[2:])
    for y in range(out_h):
        sy = y * in_h / out_h
        y0 = int(np.floor(sy))
        y1 = min(y0 + 1, in_h - 1)
        dy = sy - y0
        for x in range(out_w):
            sx = x * in_w / out_w
            x0 = int(np.floor(sx))
            x1 = min(x0 + 1, in_w - 1)
            dx = sx - x0
            top = image[y0, x0] * (1 - dx) + image[y0, x1] * dx
            bottom = image[y1, x0] * (1 - dx) + image[y1, x1] * dx
            out[y, x] = top * (1 - dy) + bottom * dy
    return out


def test_preprocess_shape_range_gray_and_resize_convention():
    rng = np.random.default_rng(5)
    videos = rng.integers(0, 256, size=(2, 16, 5, 7, 1), dtype=np.uint8)
    videos[0, 0, 0, 0, 0], videos[0, 0, 0, 1, 0] = 0, 255
    out = preprocess_for_i3d(videos).numpy()
    assert out.shape == (2, 16, 224, 224, 3) and out.dtype == np.float32
    assert out[0, 0, 0, 0, 0] == pytest.approx(-1.0) and out.min() >= -1.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    expected = _legacy_bilinear(videos[1, 3].astype(np.float64) / 255.0, 224, 224) * 2 - 1
    np.testing.assert_allclose(out[1, 3], np.repeat(expected, 3, axis=-1), atol=1e-5)
    # float input in [0, 1] is the same video as uint8 / 255
    np.testing.assert_allclose(preprocess_for_i3d(videos.astype(np.float32) / 255.0).numpy(), out, atol=1e-6)


def test_preprocess_keeps_224_frames_and_refuses_bad_input():
    frames = np.linspace(0, 1, 16 * 224 * 224 * 3, dtype=np.float32).reshape(1, 16, 224, 224, 3)
    np.testing.assert_allclose(preprocess_for_i3d(frames).numpy(), frames * 2 - 1, atol=1e-6)
    with pytest.raises(ValueError, match="at least 16 frames .* got 15"):
        preprocess_for_i3d(np.zeros((1, 15, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="1 \\(gray\\) or 3 \\(RGB\\) channels, got 2"):
        preprocess_for_i3d(np.zeros((1, 16, 32, 32, 2), np.uint8))
    with pytest.raises(ValueError, match="must be in \\[0, 1\\].*255"):
        preprocess_for_i3d(np.full((1, 16, 8, 8, 3), 255.0, np.float32))
    with pytest.raises(ValueError, match="\\[batch, frames, height, width, channels\\]"):
        preprocess_for_i3d(np.zeros((16, 8, 8, 3), np.uint8))


# ---------------------------------------------------------------------------------------------------------
# The I3D network, described here independently of the port from deepmind/kinetics-i3d i3d.py.

STEM = [("Conv3d_1a_7x7", 7, 3, 64), ("Conv3d_2b_1x1", 1, 64, 64), ("Conv3d_2c_3x3", 3, 64, 192)]
MIXED = [  # name, Branch_0, Branch_1 (1x1, 3x3), Branch_2 (1x1, 3x3), Branch_3
    ("Mixed_3b", 64, 96, 128, 16, 32, 32), ("Mixed_3c", 128, 128, 192, 32, 96, 64),
    ("Mixed_4b", 192, 96, 208, 16, 48, 64), ("Mixed_4c", 160, 112, 224, 24, 64, 64),
    ("Mixed_4d", 128, 128, 256, 24, 64, 64), ("Mixed_4e", 112, 144, 288, 32, 64, 64),
    ("Mixed_4f", 256, 160, 320, 32, 128, 128), ("Mixed_5b", 256, 160, 320, 32, 128, 128),
    ("Mixed_5c", 384, 192, 384, 48, 128, 128),
]
SCOPE = "RGB/inception_i3d"


def original_shapes(num_classes=400):
    """Every tensor of the original RGB checkpoint: name -> shape."""
    shapes = {}

    def unit(scope, k, cin, cout):
        shapes[f"{scope}/conv_3d/w"] = (k, k, k, cin, cout)
        for stat in ("beta", "moving_mean", "moving_variance"):
            shapes[f"{scope}/batch_norm/{stat}"] = (cout,)

    for name, k, cin, cout in STEM:
        unit(f"{SCOPE}/{name}", k, cin, cout)
    cin = 192
    for name, b0, b1a, b1b, b2a, b2b, b3 in MIXED:
        second = "Conv3d_0a_3x3" if name == "Mixed_5b" else "Conv3d_0b_3x3"  # the original's naming slip
        unit(f"{SCOPE}/{name}/Branch_0/Conv3d_0a_1x1", 1, cin, b0)
        unit(f"{SCOPE}/{name}/Branch_1/Conv3d_0a_1x1", 1, cin, b1a)
        unit(f"{SCOPE}/{name}/Branch_1/Conv3d_0b_3x3", 3, b1a, b1b)
        unit(f"{SCOPE}/{name}/Branch_2/Conv3d_0a_1x1", 1, cin, b2a)
        unit(f"{SCOPE}/{name}/Branch_2/{second}", 3, b2a, b2b)
        unit(f"{SCOPE}/{name}/Branch_3/Conv3d_0b_1x1", 1, cin, b3)
        cin = b0 + b1b + b2b + b3
    shapes[f"{SCOPE}/Logits/Conv3d_0c_1x1/conv_3d/w"] = (1, 1, 1, cin, num_classes)
    shapes[f"{SCOPE}/Logits/Conv3d_0c_1x1/conv_3d/b"] = (num_classes,)
    return shapes


def keras_path(original_name):
    """Where the port keeps an original tensor (its Keras variable path)."""
    path = original_name[len("RGB/"):]
    for old, new in (("/conv_3d/w", "/conv_3d/kernel"), ("/conv_3d/b", "/conv_3d/bias")):
        if path.endswith(old):
            path = path[: -len(old)] + new
    return path


@pytest.fixture(scope="module")
def i3d():
    return build_i3d()


def test_original_tensor_table_matches_published_counts():
    shapes = original_shapes()
    # deepmind/kinetics-i3d data/checkpoints/rgb_scratch/model.ckpt.index lists 230 tensors, 12,704,544 values
    assert len(shapes) == 230
    assert sum(int(np.prod(s)) for s in shapes.values()) == 12_704_544


def test_i3d_parameter_count_equals_original(i3d):
    shapes = original_shapes()
    assert i3d.count_params() == sum(int(np.prod(s)) for s in shapes.values()) == 12_704_544
    trainable = sum(int(np.prod(s)) for n, s in shapes.items() if "moving_" not in n)
    assert sum(int(np.prod(v.shape)) for v in i3d.trainable_variables) == trainable == 12_689_984
    port = {v.path: tuple(v.shape) for v in i3d.variables}
    assert port == {keras_path(n): s for n, s in shapes.items()}


def test_i3d_logits_head_and_endpoints_on_224(i3d):
    rng = np.random.default_rng(6)
    for variable in i3d.variables:  # non-trivial statistics so that batch norm matters
        if variable.path.endswith("moving_variance"):
            variable.assign(rng.uniform(0.5, 2.0, variable.shape).astype(np.float32))
        elif variable.path.endswith(("moving_mean", "beta", "bias")):
            variable.assign(rng.normal(0, 0.1, variable.shape).astype(np.float32))
    video = rng.uniform(-1, 1, (1, 16, 224, 224, 3)).astype(np.float32)
    ends = i3d.endpoints(video)
    assert ends["Conv3d_1a_7x7"].shape == (1, 8, 112, 112, 64)
    assert ends["MaxPool3d_3a_3x3"].shape == (1, 8, 28, 28, 192)
    assert ends["Mixed_4f"].shape == (1, 4, 14, 14, 832)
    assert ends["Mixed_5c"].shape == (1, 2, 7, 7, 1024)
    assert "Predictions" not in ends and ends["Logits"].shape == (1, 400)
    # Logits from Mixed_5c by the definition: 2x7x7 VALID mean, 1x1x1 conv with bias, mean over time.
    mixed = ends["Mixed_5c"].numpy().astype(np.float64)
    pooled = np.stack([mixed[:, t:t + 2].mean(axis=(1, 2, 3)) for t in range(mixed.shape[1] - 1)], axis=1)
    head = i3d.get_layer("Logits").conv.conv_3d
    expected = (pooled @ head.kernel.numpy()[0, 0, 0] + head.bias.numpy()).mean(axis=1)
    np.testing.assert_allclose(ends["Logits"].numpy(), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(i3d(video).numpy(), ends["Logits"].numpy(), atol=1e-5)


def test_unit3d_is_conv_offset_only_batch_norm_relu():
    rng = np.random.default_rng(7)
    stem = InceptionI3d(final_endpoint="Conv3d_1a_7x7")
    video = rng.uniform(-1, 1, (1, 4, 9, 9, 3)).astype(np.float32)
    stem(video)
    unit = stem.get_layer("Conv3d_1a_7x7")
    kernel = rng.normal(0, 0.05, (7, 7, 7, 3, 64)).astype(np.float32)
    beta, mean = rng.normal(0, 0.1, 64), rng.normal(0, 0.1, 64)
    variance = rng.uniform(0.0, 0.01, 64)  # small variances make epsilon = 1e-3 visible
    unit.conv_3d.kernel.assign(kernel)
    for variable, value in ((unit.batch_norm.beta, beta), (unit.batch_norm.moving_mean, mean),
                            (unit.batch_norm.moving_variance, variance)):
        variable.assign(value.astype(np.float32))
    conv = tf.nn.conv3d(video, kernel, strides=[1, 2, 2, 2, 1], padding="SAME").numpy().astype(np.float64)
    expected = np.maximum((conv - mean) / np.sqrt(variance + 1e-3) + beta, 0.0)
    np.testing.assert_allclose(stem(video).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_i3d_small_input_runs_to_mixed_5c_and_logits_explain_the_size(i3d):
    video = np.zeros((1, 16, 32, 32, 3), np.float32)
    ends = i3d.endpoints(video, up_to="Mixed_5c")
    assert list(ends)[-1] == "Mixed_5c" and ends["Mixed_5c"].shape == (1, 2, 1, 1, 1024)
    assert ends["MaxPool3d_4a_3x3"].shape == (1, 4, 2, 2, 480)
    with pytest.raises(ValueError, match="224x224"):
        i3d(video)
    with pytest.raises(ValueError, match="unknown I3D final_endpoint 'Mixed_6a'"):
        InceptionI3d(final_endpoint="Mixed_6a")
    with pytest.raises(ValueError, match="RGB videos"):
        InceptionI3d(final_endpoint="Conv3d_1a_7x7")(np.zeros((1, 4, 8, 8, 1), np.float32))


# ---------------------------------------------------------------------------------------------------------
# Converter


def _original_values(rng, hub_shapes=False):
    values = {}
    for name, shape in original_shapes().items():
        if hub_shapes and "/batch_norm/" in name:
            shape = (1, 1, 1, 1) + shape  # Sonnet's broadcast shape for batch-norm tensors
        if name.endswith("moving_variance"):
            values[name] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
        else:
            values[name] = rng.normal(0, 0.05, shape).astype(np.float32)
    return values


def test_converter_hub_directory_round_trip_and_cli(i3d, tmp_path):
    rng = np.random.default_rng(8)
    values = _original_values(rng, hub_shapes=True)
    hub_dir = tmp_path / "i3d-kinetics-400_1"
    (hub_dir / "variables").mkdir(parents=True)
    write_tf1_checkpoint(str(hub_dir / "variables" / "variables"), values)
    report = i3d_convert.load(i3d, str(hub_dir))
    assert len(report.loaded) == 230
    by_path = {v.path: v for v in i3d.variables}
    for name, value in values.items():
        np.testing.assert_array_equal(by_path[keras_path(name)].numpy(), value.reshape(-1) if
                                      "/batch_norm/" in name else value, err_msg=name)
    # the command line writes Keras weights that load_i3d reads back
    output = tmp_path / "out" / "i3d.weights.h5"
    assert convert_main(["--checkpoint", str(hub_dir), "--output", str(output)]) == 0
    assert sorted(os.listdir(output.parent)) == ["i3d.weights.h5"]
    name = f"{SCOPE}/Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/w"
    i3d.original_variables()[name].assign(np.zeros(values[name].shape, np.float32))
    i3d.load_weights(str(output))
    np.testing.assert_array_equal(i3d.original_variables()[name].numpy(), values[name])


def test_converter_refuses_misfits_by_name(i3d, tmp_path):
    values = {name: np.zeros(shape, np.float32) for name, shape in original_shapes().items()}
    renamed = dict(values)
    old = f"{SCOPE}/Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/w"
    renamed[f"{SCOPE}/Mixed_5b/Branch_2/Conv3d_0b_3x3/conv_3d/w"] = renamed.pop(old)
    write_tf1_checkpoint(str(tmp_path / "renamed" / "model.ckpt"), renamed)
    with pytest.raises(CheckpointMismatchError, match="Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/w"):
        i3d_convert.load(i3d, str(tmp_path / "renamed" / "model.ckpt"))

    wrong = dict(values)
    bad = f"{SCOPE}/Mixed_4c/Branch_1/Conv3d_0a_1x1/batch_norm/beta"
    wrong[bad] = np.zeros((113,), np.float32)
    write_tf1_checkpoint(str(tmp_path / "wrong" / "model.ckpt"), wrong)
    before = i3d.original_variables()[f"{SCOPE}/Conv3d_1a_7x7/conv_3d/w"].numpy()
    with pytest.raises(CheckpointMismatchError, match=f"{bad}.*\\(113,\\).*\\(112,\\)"):
        i3d_convert.load(i3d, str(tmp_path / "wrong" / "model.ckpt.index"))
    np.testing.assert_array_equal(i3d.original_variables()[f"{SCOPE}/Conv3d_1a_7x7/conv_3d/w"].numpy(), before)

    two = {"RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w": np.zeros((1,), np.float32),
           "Flow/inception_i3d/Conv3d_1a_7x7/conv_3d/w": np.zeros((1,), np.float32)}
    write_tf1_checkpoint(str(tmp_path / "joint" / "model.ckpt"), two)
    with pytest.raises(CheckpointMismatchError, match="Flow/inception_i3d, RGB/inception_i3d"):
        find_scope(str(tmp_path / "joint" / "model.ckpt"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        i3d_convert.load(i3d, str(tmp_path / "nowhere"))


# ---------------------------------------------------------------------------------------------------------
# FVD end to end (the network stops early so that 32x32 frames work; the distance is the same code path)


def test_fvd_end_to_end_with_a_small_embedding_network():
    class PooledStem:
        """Global average of Conv3d_1a_7x7: a cheap embedding with the I3D calling convention."""

        def __init__(self):
            self.stem = InceptionI3d(final_endpoint="Conv3d_1a_7x7")

        def __call__(self, batch, training=False):
            assert batch.shape[1:] == (16, 224, 224, 3) and not training
            return tf.reduce_mean(self.stem(batch[:, :, ::8, ::8], training=False), axis=[1, 2, 3])

    network = PooledStem()
    rng = np.random.default_rng(9)
    real = rng.integers(0, 256, (5, 16, 24, 24, 1), dtype=np.uint8)
    fake = rng.integers(0, 128, (4, 16, 24, 24, 1), dtype=np.uint8)
    real_emb = i3d_embeddings(network, real, batch_size=2)
    assert real_emb.shape == (5, 64)
    np.testing.assert_allclose(real_emb, i3d_embeddings(network, real, batch_size=5), atol=1e-5)
    expected = frechet_distance(real_emb, i3d_embeddings(network, fake, batch_size=3))
    assert fvd(real, fake, network, batch_size=3) == pytest.approx(expected, rel=1e-6)
    assert fvd(real, real, network) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="needs the I3D network"):
        fvd(real, fake, None)
