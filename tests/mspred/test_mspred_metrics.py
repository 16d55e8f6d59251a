"""MSPred's metrics (spec 6.3, checklist item 18) against independent NumPy / scikit-learn math and hand cases."""

import math

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from vidpred_tf.metrics import conventions
from vidpred_tf.metrics.frame import higher_is_better, psnr_piqa, ssim_piqa
from vidpred_tf.metrics.keypoints import mpjpe, pck, pdj
from vidpred_tf.metrics.segmentation import confusion_matrices, segmentation_stats


def _frames(shape, seed):
    rng = np.random.default_rng(seed)
    gt = rng.random(shape).astype(np.float32)
    pred = np.clip(gt + 0.1 * rng.standard_normal(shape), 0, 1).astype(np.float32)
    return gt, pred


def test_psnr_piqa_is_80_db_for_identical_frames_and_the_epsilon_formula_otherwise():
    gt, pred = _frames((2, 3, 12, 12, 3), seed=0)
    np.testing.assert_allclose(psnr_piqa(gt, gt), np.full((2, 3), 80.0), rtol=1e-6)
    mse = np.mean((gt.astype(np.float64) - pred) ** 2, axis=(2, 3, 4))
    np.testing.assert_allclose(psnr_piqa(pred, gt), 10 * np.log10(1.0 / (mse + 1e-8)), rtol=1e-5)
    np.testing.assert_allclose(conventions.psnr(pred, gt, "piqa"), psnr_piqa(pred, gt))
    assert np.isinf(conventions.psnr(gt, gt, "no_epsilon")).all()
    assert higher_is_better("psnr_piqa") and conventions.higher_is_better("ssim_piqa")


def _gaussian_ssim_numpy(x, y):
    """piqa's SSIM written out: 11-tap Gaussian (sigma 1.5, sum 1), valid, per channel, mean over pixels and C."""
    offsets = np.arange(11) - 5.0
    taps = np.exp(-offsets ** 2 / (2 * 1.5 ** 2))
    taps /= taps.sum()

    def blur(image):  # (H, W) -> (H - 10, W - 10)
        rows = np.lib.stride_tricks.sliding_window_view(image, 11, axis=0) @ taps
        return np.lib.stride_tricks.sliding_window_view(rows, 11, axis=1) @ taps

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    values = []
    for c in range(x.shape[-1]):
        a, b = x[..., c].astype(np.float64), y[..., c].astype(np.float64)
        mu_a, mu_b = blur(a), blur(b)
        var_a = blur(a * a) - mu_a ** 2
        var_b = blur(b * b) - mu_b ** 2
        cov = blur(a * b) - mu_a * mu_b
        ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
        values.append(ssim_map.mean())
    return np.mean(values)


def test_ssim_piqa_matches_the_written_out_gaussian_ssim():
    gt, pred = _frames((2, 2, 16, 20, 3), seed=1)
    expected = np.array([[_gaussian_ssim_numpy(pred[b, t], gt[b, t]) for t in range(2)] for b in range(2)])
    np.testing.assert_allclose(ssim_piqa(pred, gt), expected, atol=2e-5)
    np.testing.assert_allclose(conventions.ssim(pred, gt, "piqa"), expected, atol=2e-5)
    np.testing.assert_allclose(ssim_piqa(gt, gt), np.ones((2, 2)), atol=1e-5)


def test_ssim_piqa_refuses_frames_outside_the_unit_range():
    gt, pred = _frames((1, 12, 12, 3), seed=2)
    with pytest.raises(ValueError, match=r"ssim_piqa: frames must lie in \[0, 1\]"):
        ssim_piqa(gt * 2.0, pred)


def _heatmap(height, width, peaks):
    """(H, W, K) maps, channel k a single peak of value v at (y, x) for peaks[k] = (y, x, v) or None (empty)."""
    maps = np.zeros((height, width, len(peaks)), np.float32)
    for k, peak in enumerate(peaks):
        if peak is not None:
            y, x, v = peak
            maps[y, x, k] = v
    return maps


def test_mpjpe_hand_case():
    target = _heatmap(10, 12, [(2, 3, 1.0), (5, 5, 1.0), (7, 1, 1.0), None])
    pred = _heatmap(10, 12, [(5, 7, 0.9), (5, 5, 0.02), (7, 1, 0.5), (1, 1, 0.9)])
    # Channel 0 off by (3, 4) -> 5 px; channel 1 not predicted (max < 0.03); channel 2 exact; channel 3 absent.
    assert mpjpe(pred[None], target[None]).tolist() == [2.5]
    # Identical heat maps with peaks >= 0.03 give 0; no valid joint at all gives NaN.
    assert mpjpe(target[None, None], target[None, None]).tolist() == [[0.0]]
    assert math.isnan(float(mpjpe(np.zeros((1, 4, 4, 2)), target[None, :4, :4, :2])[0]))


def _pdj_pck_reference(pred, target, factor):
    """Straight from the spec: body height from positive target peaks; correct = valid and within the threshold."""
    height = pred.shape[0]
    rows = []
    for maps in (pred, target):
        flat = maps.reshape(-1, maps.shape[-1])
        index = flat.argmax(axis=0)
        rows.append((flat.max(axis=0), index // maps.shape[1], index % maps.shape[1]))
    (pv, py, px), (tv, ty, tx) = rows
    ys = [ty[k] for k in range(len(tv)) if tv[k] > 0]
    body = (max(ys) - min(ys)) if ys else height
    threshold = factor * body if body > 0 else factor
    correct = sum(1 for k in range(len(tv)) if pv[k] >= 0.03 and tv[k] > 1e-6
                  and math.hypot(py[k] - ty[k], px[k] - tx[k]) <= threshold)
    predicted, present = int((pv >= 0.03).sum()), int((tv > 1e-6).sum())
    return (correct / present if present else math.nan), (correct / predicted if predicted else math.nan)


def test_pdj_and_pck_hand_case():
    # Target peaks at y = 2 and 12: body height 10. Pred errors: 0, 1, 3 px; channel 3 only predicted.
    target = _heatmap(16, 16, [(2, 3, 1.0), (12, 5, 1.0), (7, 7, 1.0), None])
    pred = _heatmap(16, 16, [(2, 3, 0.5), (12, 6, 0.5), (10, 7, 0.5), (1, 1, 0.5)])
    # threshold 0.2 * 10 = 2: channels 0 and 1 correct -> pdj 2/3 (3 present), pck 2/4 (4 predicted).
    assert pdj(pred[None], target[None], 0.2).tolist() == pytest.approx([2 / 3])
    assert pck(pred[None], target[None], 0.2).tolist() == pytest.approx([0.5])
    # threshold 0.1 * 10 = 1: channel 1 (1 px) still correct; 0.05 -> 0.5 px: only channel 0.
    assert pdj(pred[None], target[None], 0.1).tolist() == pytest.approx([2 / 3])
    assert pdj(pred[None], target[None], 0.05).tolist() == pytest.approx([1 / 3])
    rng = np.random.default_rng(3)
    for trial in range(6):
        pred_maps = rng.random((12, 14, 5)).astype(np.float32) ** 8
        target_maps = rng.random((12, 14, 5)).astype(np.float32) ** 8 * (rng.random(5) > 0.3)
        for factor in (0.1, 0.3, 0.5):
            expected_pdj, expected_pck = _pdj_pck_reference(pred_maps, target_maps, factor)
            got_pdj = float(pdj(pred_maps[None], target_maps[None], factor)[0])
            got_pck = float(pck(pred_maps[None], target_maps[None], factor)[0])
            np.testing.assert_allclose([got_pdj, got_pck], [expected_pdj, expected_pck], rtol=1e-6)


def test_single_target_keypoint_uses_the_factor_in_pixels():
    target = _heatmap(8, 8, [(4, 4, 1.0)])
    near = _heatmap(8, 8, [(4, 5, 1.0)])
    assert pdj(near[None], target[None], 0.5).tolist() == [0.0]  # 1 px > 0.5 px
    assert pdj(near[None], target[None], 1.0).tolist() == [1.0]


def test_keypoint_metrics_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="mpjpe: predictions and targets must have the same shape"):
        mpjpe(np.zeros((1, 4, 4, 2)), np.zeros((1, 4, 4, 3)))
    with pytest.raises(ValueError, match="pdj@-1"):
        pdj(np.zeros((1, 4, 4, 2)), np.zeros((1, 4, 4, 2)), -1)


def _one_hot(classes, num_classes):
    return np.eye(num_classes, dtype=np.float32)[classes]


def test_segmentation_against_sklearn_confusion_matrix():
    rng = np.random.default_rng(4)
    num_classes = 5
    target_classes = rng.integers(0, 4, size=(3, 6, 7))  # class 4 never in the target
    pred_classes = np.where(rng.random((3, 6, 7)) < 0.6, target_classes, rng.integers(0, 3, size=(3, 6, 7)))
    pred_scores = _one_hot(pred_classes, num_classes) + 0.01 * rng.random((3, 6, 7, num_classes))
    stats = segmentation_stats(pred_scores, _one_hot(target_classes, num_classes))
    cms = confusion_matrices(pred_classes, target_classes, num_classes)
    for i in range(3):
        cm = confusion_matrix(target_classes[i].ravel(), pred_classes[i].ravel(), labels=np.arange(num_classes))
        np.testing.assert_array_equal(cms[i], cm)
        tp, per_target, per_pred = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            np.testing.assert_allclose(stats["precision"][i], tp / per_pred, rtol=1e-6)
            np.testing.assert_allclose(stats["recall"][i], tp / per_target, rtol=1e-6)
            iou = tp / (per_pred + per_target - tp)
        np.testing.assert_allclose(stats["iou"][i], iou, rtol=1e-6)
        assert stats["accuracy"][i] == pytest.approx(np.trace(cm) / cm.sum())
        # Class 4 is in neither map: the faithful plain mean is NaN, the "present" mean skips it.
        assert math.isnan(stats["mean_iou"][i])
        assert stats["mean_iou_present"][i] == pytest.approx(np.nanmean(iou))


def test_segmentation_hand_case_precision_is_what_the_original_calls_accuracy():
    # 4 pixels: target [0, 0, 1, 1], prediction [0, 1, 1, 1].
    target = _one_hot(np.array([[0, 0], [1, 1]]), 2)[None]
    pred = _one_hot(np.array([[0, 1], [1, 1]]), 2)[None]
    stats = segmentation_stats(pred, target)
    assert stats["accuracy"].tolist() == [0.75]
    np.testing.assert_allclose(stats["precision"][0], [1.0, 2 / 3])  # the original's classwise "accuracy" (a precision)
    np.testing.assert_allclose(stats["recall"][0], [0.5, 1.0])
    np.testing.assert_allclose(stats["iou"][0], [0.5, 2 / 3])
    assert stats["mean_iou"][0] == pytest.approx((0.5 + 2 / 3) / 2)
