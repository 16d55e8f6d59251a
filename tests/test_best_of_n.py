"""Best-of-N selection (vidpred_tf.metrics.best_of_n) on hand-made samples."""

import math

import numpy as np
import pytest

from vidpred_tf.metrics.best_of_n import (
    BestOfNTracker,
    best_of_n,
    best_sample_indices,
    nan_framewise_mean,
    nan_mean,
    summarize_best_of_n,
    take_samples,
    worst_of_n,
)

# 3 samples, 2 sequences, 3 frames. Frame sums: seq 0 -> [6, 3, 9], seq 1 -> [10, 12, 2].
HAND = np.array([
    [[1, 2, 3], [5, 5, 0]],
    [[0, 0, 3], [4, 4, 4]],
    [[3, 3, 3], [1, 0, 1]],
], dtype=np.float64)


def test_lower_is_better_keeps_the_sample_with_the_smallest_frame_sum():
    assert best_sample_indices(HAND, higher_is_better=False).tolist() == [1, 2]
    np.testing.assert_array_equal(best_of_n(HAND, higher_is_better=False), [[0, 0, 3], [1, 0, 1]])
    np.testing.assert_array_equal(worst_of_n(HAND, higher_is_better=False), [[3, 3, 3], [4, 4, 4]])


def test_higher_is_better_keeps_the_largest_sum_not_the_largest_single_frame():
    # seq 1: sample 0 has the largest single frame (5) but sample 1 the largest sum (12).
    np.testing.assert_array_equal(best_of_n(HAND, higher_is_better=True), [[3, 3, 3], [4, 4, 4]])


def test_ties_go_to_the_first_sample():
    values = np.ones((4, 1, 2))
    assert best_sample_indices(values, True).tolist() == [0]
    assert best_sample_indices(values, False).tolist() == [0]


def test_nan_propagates_into_the_ranking_as_torch_argmin_does():
    values = HAND.copy()
    values[2, 0, 1] = np.nan
    # The NaN sum wins whichever way is better (torch and numpy arg-min/arg-max return the NaN's index).
    assert best_sample_indices(values, False).tolist() == [2, 2]
    assert best_sample_indices(values, True).tolist()[0] == 2
    # "omit" ranks by the mean over finite frames: sample 2 of seq 0 has mean 3, sample 1 has mean 1.
    assert best_sample_indices(values, False, nan_policy="omit").tolist() == [1, 2]
    all_nan = np.full((2, 1, 3), np.nan)
    all_nan[1, 0] = [5, 5, 5]
    assert best_sample_indices(all_nan, False, nan_policy="omit").tolist() == [1]
    assert best_sample_indices(all_nan, True, nan_policy="omit").tolist() == [1]


def test_nan_means():
    values = np.array([[1.0, np.nan], [3.0, np.nan], [np.nan, np.nan]])
    assert nan_mean(values) == 2.0
    framewise = nan_framewise_mean(values)
    assert framewise[0] == 2.0 and math.isnan(framewise[1])
    assert math.isnan(nan_mean([np.nan]))


def test_summary_best_avg_worst():
    summary = summarize_best_of_n(HAND, higher_is_better=False)
    assert summary["num_samples"] == 3 and summary["num_sequences"] == 2
    assert summary["best"]["per_timestep"] == [0.5, 0.0, 2.0]
    assert summary["best"]["mean"] == pytest.approx(5 / 6)
    np.testing.assert_allclose(summary["avg"]["per_timestep"], HAND.mean(axis=0).mean(axis=0))
    assert summary["worst"]["per_timestep"] == [3.5, 3.5, 3.5]


def test_tracker_streams_batches_and_keeps_best_per_metric():
    tracker = BestOfNTracker({"mse": False, "psnr": True})
    tracker.add("mse", HAND)
    tracker.add("psnr", HAND)
    tracker.add("mse", HAND[:, :1] + 1)
    np.testing.assert_array_equal(tracker.best("mse"), [[0, 0, 3], [1, 0, 1], [1, 1, 4]])
    np.testing.assert_array_equal(tracker.best("psnr"), [[3, 3, 3], [4, 4, 4]])
    assert tracker.mean("mse") == pytest.approx(11 / 9)
    assert set(tracker.summary()) == {"mse", "psnr"}
    with pytest.raises(ValueError, match="no ranking direction for metric 'ssim'"):
        tracker.add("ssim", HAND)
        tracker.best("ssim")
    with pytest.raises(ValueError, match="same number of frames"):
        tracker.add("mse", np.zeros((3, 2, 4)))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"expected per-sample values \[N, B, T\]; got shape \(2, 3\)"):
        best_of_n(np.zeros((2, 3)), True)
    with pytest.raises(ValueError, match="nan_policy must be one of"):
        best_of_n(HAND, True, nan_policy="ignore")
    with pytest.raises(ValueError, match="one sample index per sequence"):
        take_samples(HAND, [0])
