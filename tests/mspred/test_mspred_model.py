"""MSPred model: parameter counts and names (spec items 1-4), schedule (7, 8), BN in eval (9), latent choice (10),
compilation under tf.function/XLA, and configuration errors."""

import copy
import json

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.models.mspred import CONFIGS_DIR
from vidpred_tf.models.mspred.blocks import torch_shape
from vidpred_tf.models.mspred.build import module_parameter_counts, parameter_count, setup_model

TINY = {
    "dataset": {"dataset_name": "custom_moving_mnist", "num_channels": 3, "img_size": 16},
    "model": {"model_type": "SpatioTempHierarchConvLSTM", "enc_dec_type": "DCGAN",
              "enc_dec": {"dim": 32, "num_filters": 4, "extra_deep": False},
              "HierarchLSTM": {"num_hierarch": 3, "periods": [1, 2, 4], "hidden_dim": 8, "num_layers": 1,
                               "stochastic": True, "ancestral_sampling": True, "aux_outputs": True},
              "LSTM": {"hidden_dim": 8, "num_layers": 1},
              "LSTM_Prior": {"hidden_dim": 4, "latent_dim": 2, "num_layers": 1},
              "LSTM_Posterior": {"hidden_dim": 4, "latent_dim": 2, "num_layers": 1},
              "autoreg_mode": "LAST_PRED_FEATS", "last_context_residuals": True},
}


def _tiny(**model_changes):
    params = copy.deepcopy(TINY)
    params["model"].update(model_changes)
    return params


def _frames(batch=2, length=17, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, size=(batch, length, 16, 16, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_model():
    return setup_model(TINY, seed=1)


def test_mmnist_counts_channels_and_masks():
    exp_params = json.loads((CONFIGS_DIR / "mmnist.json").read_text())
    model = setup_model(exp_params)
    assert parameter_count(model) == 25_934_269
    assert len(model.torch_parameters()) == 126
    assert module_parameter_counts(model) == {
        "encoder": 2_758_464, "decoder": 3_415_363, "posterior.0": 392_020, "posterior.1": 459_988,
        "posterior.2": 601_684, "prior.0": 392_020, "prior.1": 459_988, "prior.2": 601_684,
        "predictor.0": 5_027_328, "predictor.1": 5_322_368, "predictor.2": 5_912_448,
        "decoder_heads.0": 197_057, "decoder_heads.1": 393_857}
    shapes = {k: torch_shape(p) for k, p in model.torch_parameters().items()}
    assert [shapes[f"posterior.{h}.input_conv.weight"][1] for h in range(3)] == [148, 266, 512]
    assert [shapes[f"prior.{h}.input_conv.weight"][1] for h in range(3)] == [148, 266, 512]
    assert [shapes[f"predictor.{h}.input_conv.weight"][1] for h in range(3)] == [138, 266, 522]
    assert all(shapes[f"posterior.{h}.mu_var_net.weight"][0] == 20 for h in range(3))
    # Spec item 8: context 17, periods [1,4,8], 5 predictions per level, T = 17 + max(5 * period) = 57.
    masks = model.target_masks(57, 17, 5)
    assert [list(np.flatnonzero(masks[h])) for h in range(3)] == [
        [17, 18, 19, 20, 21], [20, 24, 28, 32, 36], [24, 32, 40, 48, 56]]
    with pytest.raises(ValueError, match="frame 56"):
        model.target_masks(56, 17, 5)


def test_forward_shapes_masks_and_fire_times(tiny_model):
    out = tiny_model(_frames(), context=5, num_preds=3, training=False, seed=tf.constant([1, 2]))
    assert [tuple(out["preds"][h].shape) for h in range(3)] == [(2, 3, 16, 16, 3), (2, 3, 16, 16, 1),
                                                                (2, 3, 16, 16, 1)]
    expected_masks = tiny_model.target_masks(17, 5, 3)
    assert all(np.array_equal(out["target_masks"][h], expected_masks[h]) for h in range(3))
    assert [list(np.flatnonzero(out["target_masks"][h])) for h in range(3)] == [[5, 6, 7], [6, 8, 10], [8, 12, 16]]
    # Spec item 7: posteriors fire every p steps; priors every p*p (stale-prior quirk Q3).
    for h, period in enumerate([1, 2, 4]):
        assert out["fire_times"][f"posterior_{h}"] == list(range(0, 16, period))
        assert out["fire_times"][f"prior_{h}"] == list(range(0, 16, period * period))
        assert len(out["latents"][h]) == len(range(0, 16, period))
        assert len(out["mu_post"][h]) == 3  # truncated to the number of predictions (Q19)


def test_batch_norm_uses_batch_statistics_in_eval(tiny_model):
    frames = _frames()
    changed = frames.copy()
    changed[1] = 1.0 - changed[1]
    seed = tf.constant([3, 4])
    first = tiny_model(frames, context=5, num_preds=3, training=False, seed=seed)["preds"][0].numpy()
    second = tiny_model(changed, context=5, num_preds=3, training=False, seed=seed)["preds"][0].numpy()
    assert np.max(np.abs(first[0] - second[0])) > 1e-4  # sequence 0 is unchanged, its prediction is not


def test_latents_are_posterior_in_training_and_prior_in_eval(tiny_model):
    frames = _frames()
    fires = {h: len(range(0, 16, p)) for h, p in enumerate([1, 2, 4])}
    # Zero posterior noise and +100 prior noise: a latent is mu_post exactly, or mu_prior + 100 * sigma_prior.
    eps = {}
    for h, size in enumerate([4, 2, 1]):
        eps[f"posterior_{h}"] = np.zeros((fires[h], 2, size, size, 2), np.float32)
        eps[f"prior_{h}"] = np.full((fires[h], 2, size, size, 2), 100.0, np.float32)
    context = 5
    train = tiny_model(frames, context=context, num_preds=3, training=True, eps=eps)
    evaluation = tiny_model(frames, context=context, num_preds=3, training=False, eps=eps)
    for h, period in enumerate([1, 2, 4]):
        steps = list(range(0, 16, period))
        recorded = [i for i, t in enumerate(steps) if t >= context - 1][:3]
        for k, index in enumerate(recorded):
            np.testing.assert_allclose(train["latents"][h][index].numpy(), train["mu_post"][h][k].numpy(),
                                       atol=1e-6)
            mu, logvar = evaluation["mu_prior"][h][k].numpy(), evaluation["logvar_prior"][h][k].numpy()
            np.testing.assert_allclose(evaluation["latents"][h][index].numpy(), mu + 100 * np.exp(0.5 * logvar),
                                       rtol=1e-5, atol=1e-4)
        for index, t in enumerate(steps):
            if t < context - 1:  # context steps use the posterior in eval as well
                assert np.max(np.abs(evaluation["latents"][h][index].numpy())) < 50


def test_compiles_with_xla_and_matches_eager(tiny_model):
    frames = _frames(length=5)
    seed = tf.constant([5, 6])

    @tf.function(jit_compile=True)
    def predict(x):
        return tiny_model(x, context=3, num_preds=[2, 1, 0], training=True, seed=seed)["preds"]

    compiled = predict(tf.constant(frames))
    eager = tiny_model(frames, context=3, num_preds=[2, 1, 0], training=True, seed=seed)["preds"]
    assert sorted(compiled) == sorted(eager) == [0, 1]  # a level with no prediction has no entry
    for h in (0, 1):
        # XLA's CPU kernels (fused convolutions, fast tanh) differ from TF's in the last bits; recurrence and
        # batch-statistics BN amplify that to ~1e-4.
        np.testing.assert_allclose(compiled[h].numpy(), eager[h].numpy(), atol=1e-3)


def test_seeded_draws_are_reproducible_and_differ_between_seeds(tiny_model):
    frames = _frames(length=9)
    run = lambda s: tiny_model(frames, context=5, num_preds=2, seed=tf.constant(s))["preds"][0].numpy()  # noqa
    np.testing.assert_array_equal(run([7, 8]), run([7, 8]))
    assert np.max(np.abs(run([7, 8]) - run([9, 10]))) > 1e-6


def test_linear_variant_runs_and_refuses_residuals():
    linear = _tiny(model_type="SpatioTempHierarchLSTM", last_context_residuals=False)
    linear["model"]["HierarchLSTM"]["ancestral_sampling"] = False
    model = setup_model(linear, seed=2)
    out = model(_frames(length=9), context=5, num_preds=2, training=True, seed=tf.constant([1, 1]))
    assert tuple(out["preds"][0].shape) == (2, 2, 16, 16, 3)
    assert tuple(out["latents"][0][0].shape) == (2, 2)
    with pytest.raises(ValueError, match="last_context_residuals"):
        setup_model(_tiny(model_type="SpatioTempHierarchLSTM"))


def test_configuration_errors_name_the_key(tiny_model):
    with pytest.raises(ValueError, match="model_type 'Nope'"):
        setup_model(_tiny(model_type="Nope"))
    bad = _tiny()
    bad["model"]["HierarchLSTM"]["num_hierarch"] = 2
    with pytest.raises(ValueError, match="num_hierarch"):
        setup_model(bad)
    with pytest.raises(ValueError, match="enc_dec.dim"):
        setup_model(_tiny(enc_dec={"dim": 48, "num_filters": 4, "extra_deep": False}))
    with pytest.raises(ValueError, match="T >= context"):
        tiny_model(_frames(length=6), context=5, num_preds=3)
    with pytest.raises(ValueError, match="eps has no entry 'posterior_2'"):
        tiny_model(_frames(length=9), context=5, num_preds=2, eps={})
