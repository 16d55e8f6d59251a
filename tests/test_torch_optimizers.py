"""The torch-exact optimisers of ``vidpred_tf.training.optimizers`` (``TorchAdam``, ``TorchSGD``) against
PyTorch's documented update rules in float64, inside a MirroredStrategy step, and against a step recorded by
PyTorch itself (the MSPred goldens)."""

import os

import numpy as np
import pytest


def _torch_adam_reference(weight, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """torch.optim.Adam / AdamW (decoupled decay) as documented, in float64."""
    weight = np.asarray(weight, np.float64).copy()
    m = np.zeros_like(weight)
    v = np.zeros_like(weight)
    for t, grad in enumerate(grads, start=1):
        weight *= 1 - lr * weight_decay
        m = betas[0] * m + (1 - betas[0]) * grad
        v = betas[1] * v + (1 - betas[1]) * grad * grad
        m_hat = m / (1 - betas[0] ** t)
        v_hat = v / (1 - betas[1] ** t)
        weight -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return weight


def _torch_sgd_reference(weight, grads, lr, momentum, nesterov, weight_decay):
    weight = np.asarray(weight, np.float64).copy()
    buffer = None
    for grad in grads:
        direction = grad + weight_decay * weight
        if momentum:
            buffer = direction.copy() if buffer is None else momentum * buffer + direction
            direction = direction + momentum * buffer if nesterov else buffer
        weight -= lr * direction
    return weight


def _run_optimizer(optimizer, weight, grads):
    import tensorflow as tf

    variable = tf.Variable(weight.astype(np.float32))
    optimizer.build([variable])
    for grad in grads:
        optimizer.apply_gradients([(tf.constant(grad.astype(np.float32)), variable)])
    return variable.numpy()


def _gradients(shape=(6, 5), steps=6):
    rng = np.random.default_rng(0)
    # Magnitudes from 1e-9 to 1: where |g| is near eps, Keras' Adam (eps outside the bias correction) differs.
    scales = 10.0 ** rng.uniform(-9, 0, size=shape)
    weight = rng.normal(size=shape).astype(np.float32)
    return weight, [(rng.normal(size=shape) * scales).astype(np.float32) for _ in range(steps)]


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_torch_adam_follows_torch_update_rule_over_several_steps(weight_decay):
    import keras

    from vidpred_tf.training import TorchAdam

    weight, grads = _gradients()
    expected = _torch_adam_reference(weight, grads, lr=1e-3, weight_decay=weight_decay)
    port = _run_optimizer(TorchAdam(1e-3, weight_decay=weight_decay), weight, grads)
    np.testing.assert_allclose(port, expected, rtol=0, atol=1e-6)  # float32 rounding of 6 steps; lr is 1e-3
    if not weight_decay:
        # Keras' Adam adds eps to sqrt(v) before the bias correction: visibly different for tiny gradients.
        keras_adam = _run_optimizer(keras.optimizers.Adam(1e-3, epsilon=1e-8), weight, grads)
        assert np.max(np.abs(keras_adam - expected)) > 1e-5


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_torch_sgd_adds_l2_weight_decay_to_the_gradient(momentum, nesterov):
    from vidpred_tf.training import TorchSGD

    weight, grads = _gradients()
    expected = _torch_sgd_reference(weight, grads, 0.1, momentum, nesterov, 5e-4)
    port = _run_optimizer(TorchSGD(0.1, momentum=momentum, nesterov=nesterov, weight_decay=5e-4), weight, grads)
    np.testing.assert_allclose(port, expected, rtol=0, atol=1e-6)


def test_torch_sgd_rejects_nesterov_without_momentum():
    from vidpred_tf.training import TorchSGD

    with pytest.raises(ValueError, match="nesterov"):
        TorchSGD(0.1, momentum=0.0, nesterov=True)


def test_torch_adam_first_step_reproduces_the_originals_recorded_adam_step(golden_dir):
    """The original's recorded gradients through one TorchAdam step give its recorded after-step weights."""
    from vidpred_tf.convert.torch_files import read_state_dict
    from vidpred_tf.training import TorchAdam

    golden_mspred_dir = golden_dir / "mspred"
    if not golden_mspred_dir.is_dir():
        stop = pytest.fail if "VIDPRED_GOLDEN_DIR" in os.environ else pytest.skip
        stop(f"the goldens at {golden_dir} have no mspred/ folder")

    init = read_state_dict(golden_mspred_dir / "linear_small_init_state_dict.npz")
    after = read_state_dict(golden_mspred_dir / "linear_small_after_1_adam_step_state_dict.npz")
    grads = np.load(golden_mspred_dir / "linear_small_grads.npz")
    checked = 0
    for key, value in init.items():
        if f"grad/{key}" not in grads.files or not value.size:
            continue
        grad = grads[f"grad/{key}"]
        # Where |g| is near eps (conv biases before batch-statistics BN: exactly 0 in theory) float noise decides.
        if np.max(np.abs(grad)) < 1e-6:
            continue
        port = _run_optimizer(TorchAdam(1e-3), value, [grad])
        np.testing.assert_allclose(port, after[key], rtol=0, atol=1e-7, err_msg=key)
        checked += 1
    assert checked > 20


def test_torch_adam_under_a_mirrored_strategy_in_a_traced_step(mirrored_two_cpus):
    """Inside ``strategy.run`` of a tf.function (how the trainer steps), replica gradients summed."""
    import tensorflow as tf

    from vidpred_tf.training import TorchAdam

    weight, grads = _gradients(steps=3)
    with mirrored_two_cpus.scope():
        variable = tf.Variable(weight)
        optimizer = TorchAdam(1e-3)
        optimizer.build([variable])

    @tf.function(autograph=False)
    def step(grad):
        def replica_fn():
            optimizer.apply_gradients([(grad / 2.0, variable)])  # the two replicas' halves sum to grad

        mirrored_two_cpus.run(replica_fn)

    for grad in grads:
        step(tf.constant(grad))
    np.testing.assert_allclose(variable.numpy(), _torch_adam_reference(weight, grads, lr=1e-3), rtol=0, atol=1e-6)
