"""TF1RMSProp: TF1's RMSPropOptimizer rule (ms starts at one, epsilon inside the square root) against NumPy, and
the hierchvid golden's recorded RMSProp step (weights and both slots), independently of the model."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.training.optimizers import TF1RMSProp, make_optimizer


def _numpy_rmsprop(weights, gradients, lr, rho=0.9, momentum=0.0, eps=1e-10):
    """TF1 ApplyRMSProp in float64: ms = rho ms + (1 - rho) g^2, mom = momentum mom + lr g / sqrt(ms + eps)."""
    w = np.array(weights, np.float64)
    ms, mom = np.ones_like(w), np.zeros_like(w)
    for g in gradients:
        ms = rho * ms + (1 - rho) * g ** 2
        mom = momentum * mom + lr * g / np.sqrt(ms + eps)
        w = w - mom
    return w, ms, mom


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_three_steps_follow_the_tf1_rule(momentum):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(4, 3)).astype(np.float32)
    gradients = [rng.normal(size=(4, 3)).astype(np.float32) * scale for scale in (1.0, 1e-3, 30.0)]
    variable = keras.Variable(start)
    optimizer = TF1RMSProp(learning_rate=0.01, momentum=momentum)
    step = tf.function(lambda g: optimizer.apply([g], [variable]))
    for g in gradients:
        step(tf.constant(g))
    w, ms, mom = _numpy_rmsprop(start, gradients, 0.01, momentum=momentum)
    mean_square, moment = optimizer.slots(variable)
    np.testing.assert_allclose(variable.numpy(), w, rtol=0, atol=1e-6)
    np.testing.assert_allclose(mean_square.numpy(), ms, rtol=1e-6)
    np.testing.assert_allclose(moment.numpy(), mom, rtol=1e-5, atol=1e-9)
    assert int(optimizer.iterations.numpy()) == 3


def test_slots_start_at_one_and_zero_and_differ_from_keras_rmsprop():
    variable = keras.Variable(np.zeros(5, np.float32))
    optimizer = TF1RMSProp(1e-3)
    optimizer.build([variable])
    mean_square, moment = optimizer.slots(variable)
    np.testing.assert_array_equal(mean_square.numpy(), np.ones(5))
    np.testing.assert_array_equal(moment.numpy(), np.zeros(5))
    gradient = tf.fill([5], 1e-3)
    optimizer.apply([gradient], [variable])
    keras_variable = keras.Variable(np.zeros(5, np.float32))
    keras.optimizers.RMSprop(1e-3).apply([gradient], [keras_variable])
    # TF1: 1e-3 * 1e-3 / sqrt(0.9 + 1e-7) ~ 1e-6; Keras (ms from 0, eps outside): ~ 3e-3.
    np.testing.assert_allclose(-variable.numpy(), 1e-6 / np.sqrt(0.9 + 1e-7), rtol=1e-5)
    assert abs(keras_variable.numpy()[0]) > 1e-3


def test_config_round_trip_and_factory_name():
    optimizer = TF1RMSProp(learning_rate=0.002, rho=0.8, momentum=0.5, epsilon=1e-9)
    again = TF1RMSProp.from_config(optimizer.get_config())
    assert (again.rho, again.momentum, again.epsilon) == (0.8, 0.5, 1e-9)
    assert isinstance(make_optimizer("tf1_rmsprop", 1e-3), TF1RMSProp)
    with pytest.raises(ValueError, match="momentum"):
        TF1RMSProp(momentum=-1.0)


def test_the_golden_recorded_rmsprop_step(golden_dir):
    """The golden holds the weights before the step (checkpoint), after it, and both slots after it: the clipped
    gradient is recovered from the momentum slot (mom = lr g / sqrt(ms + eps)), then the port's step is
    compared with everything the original recorded."""
    case = golden_dir / "hierchvid"
    if not (case / "lstm_penn_small.npz").is_file():
        stop = pytest.fail if "VIDPRED_GOLDEN_DIR" in os.environ else pytest.skip
        stop(f"no hierchvid LSTM golden under {golden_dir}")
    data = np.load(case / "lstm_penn_small.npz")
    reader = tf.train.load_checkpoint(str(case / "ckpt_penn_small" / "DET_LSTM.model-0"))
    lr = 0.001
    names = [key[len("after_step/"):] for key in data.files if key.startswith("after_step/")]
    assert len(names) == 6
    variables, gradients = [], []
    for name in names:
        ms, mom = data[f"slot_after_step/{name}/optimizer"], data[f"slot_after_step/{name}/optimizer_1"]
        gradients.append(tf.constant((mom.astype(np.float64) * np.sqrt(ms + 1e-10) / lr).astype(np.float32)))
        variables.append(keras.Variable(reader.get_tensor(name)))
        np.testing.assert_array_equal(reader.get_tensor(name + "/optimizer"), np.ones_like(ms))
        np.testing.assert_array_equal(reader.get_tensor(name + "/optimizer_1"), np.zeros_like(ms))
    optimizer = TF1RMSProp(lr)
    optimizer.apply(gradients, variables)
    for name, variable in zip(names, variables):
        mean_square, moment = optimizer.slots(variable)
        np.testing.assert_allclose(variable.numpy(), data[f"after_step/{name}"], rtol=0, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(mean_square.numpy(), data[f"slot_after_step/{name}/optimizer"], rtol=0,
                                   atol=1e-6, err_msg=name)
        np.testing.assert_allclose(moment.numpy(), data[f"slot_after_step/{name}/optimizer_1"], rtol=1e-5,
                                   atol=1e-10, err_msg=name)
