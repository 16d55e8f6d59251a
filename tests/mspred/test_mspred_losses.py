"""MSPred losses against independent NumPy computations (spec §5, item 16)."""

import numpy as np
import pytest

from vidpred_tf.models.mspred import losses


def _kl_reference(mu1, lv1, mu2, lv2):
    """KL(N(mu1, s1^2) || N(mu2, s2^2)) = log(s2/s1) + (s1^2 + (mu1-mu2)^2) / (2 s2^2) - 1/2, float64."""
    s1, s2 = np.exp(0.5 * lv1), np.exp(0.5 * lv2)
    return np.log(s2 / s1) + (s1 ** 2 + (mu1 - mu2) ** 2) / (2 * s2 ** 2) - 0.5


def test_kl_sums_elements_divides_by_batch_and_sums_levels():
    rng = np.random.default_rng(0)
    shapes = {0: (3, 4, 4, 2), 1: (3, 2, 2, 2)}
    steps = {0: 3, 1: 2}
    stats = {k: {h: [rng.normal(size=shapes[h]).astype(np.float32) for _ in range(steps[h])] for h in shapes}
             for k in ("mu_post", "logvar_post", "mu_prior", "logvar_prior")}
    expected = 0.0
    for h in shapes:
        kld = _kl_reference(*(np.stack(stats[k][h], 1).astype(np.float64)
                              for k in ("mu_post", "logvar_post", "mu_prior", "logvar_prior")))
        expected += kld.sum() / 3
    actual = float(losses.kl_loss(stats["mu_post"], stats["logvar_post"], stats["mu_prior"], stats["logvar_prior"]))
    assert actual == pytest.approx(expected, rel=1e-5)
    empty = {0: [], 1: []}
    assert float(losses.kl_loss(empty, empty, empty, empty)) == 0.0


def test_mse_mae_and_cross_entropy():
    rng = np.random.default_rng(1)
    preds = rng.uniform(size=(2, 3, 4, 5, 6)).astype(np.float32)
    classes = rng.integers(0, 6, size=(2, 3, 4, 5))
    targets = np.eye(6, dtype=np.float32)[classes]
    assert float(losses.mse_loss(preds, targets)) == pytest.approx(np.mean((preds - targets) ** 2), rel=1e-6)
    assert float(losses.mae_loss(preds, targets)) == pytest.approx(np.mean(np.abs(preds - targets)), rel=1e-6)
    # CrossEntropyLoss on the (sigmoid) head output as logits, averaged per frame then over frames.
    log_softmax = preds - np.log(np.exp(preds).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_softmax, classes[..., None], -1)[..., 0]
    expected = np.mean([nll[:, f].mean() for f in range(3)])
    assert float(losses.cross_entropy_loss(preds, targets)) == pytest.approx(expected, rel=1e-5)


def test_weighted_kpoint_loss_follows_the_original_loop():
    rng = np.random.default_rng(2)
    preds = rng.uniform(size=(2, 3, 4, 4, 3)).astype(np.float32)
    targets = rng.uniform(size=(2, 3, 4, 4, 3)).astype(np.float32)
    targets[0, 1] = 0.0          # an empty frame: every channel counts
    targets[1, 2, :, :, 1] = 0.0  # a missing keypoint: that channel is skipped
    table = np.array([[1.0, 0.5, 2.0], [0.3, 1.0, 1.0]], np.float32)
    class_ids = np.array([1, 0])
    total, count = 0.0, 0
    for b in range(2):
        for f in range(3):
            empty = not np.any(targets[b, f])
            for c in range(3):
                if empty or np.any(targets[b, f, :, :, c]):
                    total += table[class_ids[b], c] * np.mean((preds[b, f, ..., c] - targets[b, f, ..., c]) ** 2)
                    count += 1
    actual = losses.weighted_kpoint_loss(preds, targets, class_ids, table)
    assert float(actual) == pytest.approx(total / count, rel=1e-5)
    by_name = {"a": list(table[0]), "b": list(table[1])}
    assert float(losses.weighted_kpoint_loss(preds, targets, class_ids, by_name)) == pytest.approx(total / count,
                                                                                                   rel=1e-5)
    with pytest.raises(ValueError, match="channel weights"):
        losses.weighted_kpoint_loss(preds, targets, class_ids, np.ones((2, 5)))


def test_total_loss_selects_masked_targets_and_weights_levels():
    rng = np.random.default_rng(3)
    frames = rng.uniform(size=(2, 6, 4, 4, 3)).astype(np.float32)
    heatmap = rng.uniform(size=(2, 6, 4, 4, 1)).astype(np.float32)
    masks = {0: np.array([0, 0, 0, 1, 1, 0], bool), 1: np.array([0, 0, 0, 0, 1, 1], bool)}
    preds = {0: rng.uniform(size=(2, 2, 4, 4, 3)).astype(np.float32), 1: rng.uniform(size=(2, 2, 4, 4, 1))
             .astype(np.float32)}
    stats = {0: [np.zeros((2, 2), np.float32)], 1: []}
    mu_prior = {0: [np.ones((2, 2), np.float32)], 1: []}
    outputs = {"preds": preds, "target_masks": masks, "mu_post": stats, "logvar_post": stats,
               "mu_prior": mu_prior, "logvar_prior": stats}
    params = {"alphas": [0.2, 0.5, 0.5], "reconst_losses": ["mse", "mae", "mse"], "beta": 0.1}
    result = losses.mspred_total_loss(outputs, {0: frames, 1: heatmap}, params)
    rec0 = np.mean((preds[0] - frames[:, 3:5]) ** 2)
    rec1 = np.mean(np.abs(preds[1] - heatmap[:, 4:6]))
    kl = 2 * 2 * 0.5 / 2  # each element: (0 + 1) / 2 = 0.5; 4 elements; batch 2
    assert float(result["rec_0"]) == pytest.approx(rec0, rel=1e-6)
    assert float(result["rec_1"]) == pytest.approx(rec1, rel=1e-6)
    assert float(result["kl"]) == pytest.approx(kl, rel=1e-6)
    assert float(result["total"]) == pytest.approx(0.2 * rec0 + 0.5 * rec1 + 0.1 * kl, rel=1e-6)
    with pytest.raises(ValueError, match="unknown reconstruction loss 'l3'"):
        losses.reconstruction_loss("l3", preds[0], preds[0])


def test_weighted_cross_entropy_and_kl_with_empty_upper_levels():
    rng = np.random.default_rng(4)
    preds = rng.uniform(size=(2, 3, 4, 5, 4)).astype(np.float32)
    classes = rng.integers(0, 4, size=(2, 3, 4, 5))
    targets = np.eye(4, dtype=np.float32)[classes]
    weights = np.array([0.5, 1.0, 1.0, 2.0])
    # nn.CrossEntropyLoss(weight=w): sum_i w[y_i] * nll_i / sum_i w[y_i] over (B, H, W), per frame; frames averaged.
    log_softmax = preds - np.log(np.exp(preds).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_softmax, classes[..., None], -1)[..., 0]
    w = weights[classes]
    expected = np.mean([(w[:, f] * nll[:, f]).sum() / w[:, f].sum() for f in range(3)])
    assert float(losses.cross_entropy_loss(preds, targets, class_weights=weights)) == pytest.approx(expected, rel=1e-5)
    # aux_outputs false: levels 1 and 2 hold no statistics; the KL is level 0's.
    mu = {0: [rng.normal(size=(2, 3)).astype(np.float32)], 1: [], 2: []}
    logvar = {0: [rng.normal(size=(2, 3)).astype(np.float32)], 1: [], 2: []}
    zeros = {0: [np.zeros((2, 3), np.float32)], 1: [], 2: []}
    expected_kl = _kl_reference(mu[0][0].astype(np.float64), logvar[0][0].astype(np.float64), 0.0, 0.0).sum() / 2
    assert float(losses.kl_loss(mu, logvar, zeros, zeros)) == pytest.approx(expected_kl, rel=1e-5)
