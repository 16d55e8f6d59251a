"""HeatmapGenerator against the original's outputs (data_goldens.npz) and against the Gaussian formula."""

import numpy as np
import pytest

from vidpred_tf.data.heatmaps import HeatmapGenerator, gaussian_template


@pytest.fixture(scope="module")
def goldens(golden_mspred_dir):
    with np.load(golden_mspred_dir / "data_goldens.npz") as data:
        return {key: data[key] for key in data.files}


def _keypoints(goldens):
    return [tuple(float(v) for v in point) for point in goldens["hm_sq64_sigma1_kpts"]]


@pytest.mark.parametrize("sigma", [1, 2, 5])
def test_square_canvas_matches_golden_exactly(goldens, sigma):
    maps = HeatmapGenerator((64, 64), 4, float(sigma))(_keypoints(goldens))
    assert maps.dtype == np.float32 and maps.shape == (64, 64, 4)
    np.testing.assert_array_equal(maps.transpose(2, 0, 1), goldens[f"hm_sq64_sigma{sigma}"])


def test_array_keypoints_and_int_shape_give_the_same_maps(goldens):
    from_array = HeatmapGenerator(64, 4, 2.0)(goldens["hm_sq64_sigma1_kpts"])
    np.testing.assert_array_equal(from_array.transpose(2, 0, 1), goldens["hm_sq64_sigma2"])


def test_wide_canvas_matches_golden_exactly(goldens):
    maps = HeatmapGenerator((64, 112), 4, 4.0)(_keypoints(goldens))
    assert maps.shape == (64, 112, 4)
    np.testing.assert_array_equal(maps.transpose(2, 0, 1), goldens["hm_64x112_sigma4"])


def test_empty_keypoint_list_matches_golden(goldens):
    maps = HeatmapGenerator((64, 112), 2, 4.0)([])
    assert maps.shape == (64, 112, 2)
    np.testing.assert_array_equal(maps.transpose(2, 0, 1), goldens["hm_empty_64x112_sigma4"])
    assert not maps.any()


@pytest.mark.parametrize("point", [(0.0, 0.3), (0.3, 0.0), (0.005, 0.5)])
def test_keypoint_on_pixel_row_or_column_zero_leaves_its_channel_empty(point):
    maps = HeatmapGenerator((64, 64), 2, 1.0)([point, (0.5, 0.5)])
    assert not maps[..., 0].any()
    assert maps[..., 1].max() == 1.0
    wide = HeatmapGenerator((64, 112), 1, 4.0)([point])
    assert not wide.any()


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_blob_is_the_truncated_gaussian_around_the_keypoint_pixel(sigma):
    x, y = 0.3, 0.6  # pixel column int(19.2) = 19, row int(38.4) = 38
    maps = HeatmapGenerator((64, 64), 1, sigma)([(x, y)])[..., 0]
    rows, cols = np.mgrid[0:64, 0:64]
    reach = 3 * sigma + 1  # the template spans the centre +- (3 sigma + 1) pixels
    inside = (np.abs(cols - 19) <= reach) & (np.abs(rows - 38) <= reach)
    expected = np.where(inside, np.exp(-((cols - 19) ** 2 + (rows - 38) ** 2) / (2 * sigma ** 2)), 0.0)
    np.testing.assert_allclose(maps, expected, rtol=1e-6, atol=1e-7)


def test_blob_at_the_border_is_clipped_not_shifted():
    maps = HeatmapGenerator((64, 64), 1, 2.0)([(0.99, 0.02)])[..., 0]  # pixel (63, 1)
    assert maps[1, 63] == 1.0
    assert maps[0, 63] == pytest.approx(np.exp(-1 / 8), rel=1e-6)
    assert maps[1, 56] == pytest.approx(np.exp(-49 / 8), rel=1e-6)  # 7 = 3 sigma + 1 columns away
    assert maps[1, 55] == 0.0


def test_template_size_and_centre_for_fractional_sigma():
    template = gaussian_template(1.5)
    assert template.shape == (12, 12)  # ceil(6 * 1.5 + 3)
    assert template[5, 5] == pytest.approx(np.exp(-0.5 / (2 * 1.5 ** 2)))  # centre 3 sigma + 1 = 5.5
    assert template[5, 6] == template[5, 5]


def test_wide_canvas_places_blobs_at_their_columns():
    points = [(0.5, 0.5), (0.99, 0.25), (0.1, 0.75)]  # columns 56, 110, 11; rows 32, 16, 48
    maps = HeatmapGenerator((64, 112), 3, 4.0)(points)
    for channel, (row, col) in enumerate([(32, 56), (16, 110), (48, 11)]):
        assert np.unravel_index(np.argmax(maps[..., channel]), (64, 112)) == (row, col)
        assert maps[row, col, channel] == 1.0
    # Away from the window edges the blob is the same as on a square canvas, shifted.
    square = HeatmapGenerator((64, 64), 1, 4.0)([(32 / 64, 0.5)])[..., 0]
    np.testing.assert_array_equal(maps[:, 24:88, 0], square)
    assert not maps[:, :24, 0].any() and not maps[:, 88:, 0].any()


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="H <= W"):
        HeatmapGenerator((112, 64), 1, 1.0)
    with pytest.raises(ValueError, match="sigma"):
        HeatmapGenerator((64, 64), 1, 0.0)
    with pytest.raises(ValueError, match="num_kpoints"):
        HeatmapGenerator((64, 64), 0, 1.0)
    generator = HeatmapGenerator((64, 64), 2, 1.0)
    with pytest.raises(ValueError, match="built for 2 keypoints; got 1"):
        generator([(0.5, 0.5)])
    with pytest.raises(ValueError, match=r"keypoint 1 = \(1.2, 0.5\).*outside the 64x64"):
        generator([(0.5, 0.5), (1.2, 0.5)])
    with pytest.raises(ValueError, match="outside the 64x112"):
        HeatmapGenerator((64, 112), 1, 1.0)([(1.0, 0.5)])
