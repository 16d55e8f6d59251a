"""OptimizerSpec.clip_mode (per-tensor clipping of TF1 slim) and OptimizerSpec.active_on (optimisers that sit
out some steps without touching their slots), and Keras 3 Adam against the TF1 Adam update rule."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.training import OptimizerSpec, Task, Trainer, TrainerConfig, make_strategy


class _TwoVariables(keras.Model):
    def __init__(self):
        super().__init__()
        self.a = self.add_weight(shape=(2,), initializer="zeros", name="a")
        self.b = self.add_weight(shape=(3,), initializer="zeros", name="b")

    def call(self, inputs):
        return inputs


class _LinearTask(Task):
    """Loss = <a, ga> + <b, gb>: the gradients are the constants ga and gb."""

    def __init__(self, grad_a, grad_b, clip_norm=None, clip_mode="global_norm", split=False, active=None,
                 optimizer="sgd"):
        self.grad_a, self.grad_b = np.asarray(grad_a, "float32"), np.asarray(grad_b, "float32")
        self.clip_norm, self.clip_mode, self.split, self.active, self.optimizer = (
            clip_norm, clip_mode, split, active or {}, optimizer)

    def build_model(self):
        model = _TwoVariables()
        model.build((None, 1))
        return model

    def _make(self):
        if self.optimizer == "adam":
            return keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
        return keras.optimizers.SGD(1.0)

    def build_optimizers(self, model):
        if not self.split:
            return [OptimizerSpec("all", self._make(), lambda: [model.a, model.b], "loss", self.clip_norm,
                                  self.clip_mode)]
        return [OptimizerSpec(name, self._make(), (lambda v=v: [v]), f"loss_{name}", self.clip_norm,
                              self.clip_mode, self.active.get(name))
                for name, v in (("a", model.a), ("b", model.b))]

    def train_losses(self, model, batch, step, seed):
        loss_a = tf.reduce_sum(model.a * self.grad_a) + 0.0 * tf.reduce_sum(batch["images"])
        loss_b = tf.reduce_sum(model.b * self.grad_b)
        return {"loss": loss_a + loss_b, "loss_a": loss_a, "loss_b": loss_b}

    def predict(self, model, batch, seed):
        return batch["images"]


def _fit(task, tmp_path, steps=1, strategy=None):
    trainer = Trainer(task, TrainerConfig(model_dir=str(tmp_path), num_steps=steps, global_batch_size=2,
                                          checkpoint_every=0, log_every=0), strategy or make_strategy("one_device"))
    trainer.fit(lambda context: tf.data.Dataset.from_tensors(
        {"images": tf.zeros([context.get_per_replica_batch_size(2), 2, 2, 2, 1])}).repeat())
    return trainer


GRAD_A = [0.6, 0.8]  # norm 1
GRAD_B = [0.0, 0.0006, 0.0008]  # norm 0.001


def test_per_tensor_clipping_clips_each_gradient_on_its_own(tmp_path):
    # Checklist 13: norms 1 and 0.001 with clip 0.01 -> 0.01 and 0.001 (SGD lr 1: the update is -gradient).
    trainer = _fit(_LinearTask(GRAD_A, GRAD_B, clip_norm=0.01, clip_mode="per_tensor"), tmp_path)
    update_a, update_b = -trainer.model.a.numpy(), -trainer.model.b.numpy()
    assert np.linalg.norm(update_a) == pytest.approx(0.01, rel=1e-5)
    assert np.linalg.norm(update_b) == pytest.approx(0.001, rel=1e-5)
    np.testing.assert_allclose(update_a, np.asarray(GRAD_A) * 0.01, rtol=1e-5)
    np.testing.assert_allclose(update_b, GRAD_B, rtol=1e-5)


def test_global_norm_clipping_is_still_the_default(tmp_path):
    trainer = _fit(_LinearTask(GRAD_A, GRAD_B, clip_norm=0.01), tmp_path)
    scale = 0.01 / np.sqrt(1.0 + 0.001 ** 2)
    np.testing.assert_allclose(-trainer.model.a.numpy(), np.asarray(GRAD_A) * scale, rtol=1e-5)
    np.testing.assert_allclose(-trainer.model.b.numpy(), np.asarray(GRAD_B) * scale, rtol=1e-5)


def test_per_tensor_clipping_is_replica_invariant(tmp_path, mirrored_two_cpus):
    trainer = _fit(_LinearTask(GRAD_A, GRAD_B, clip_norm=0.01, clip_mode="per_tensor"), tmp_path,
                   strategy=mirrored_two_cpus)
    assert np.linalg.norm(trainer.model.a.numpy()) == pytest.approx(0.01, rel=1e-5)
    np.testing.assert_allclose(-trainer.model.b.numpy(), GRAD_B, rtol=1e-5)


def test_unknown_clip_mode_is_one_clear_error():
    with pytest.raises(ValueError, match="clip_mode 'bogus' is not one of"):
        OptimizerSpec("g", keras.optimizers.SGD(1.0), list, "loss", 0.1, "bogus")


def test_inactive_optimizer_touches_neither_variables_nor_slots(tmp_path):
    # Optimiser a runs on steps 0, 3 (read-then-increment: the predicate sees the step before the update);
    # b on the others. Adam: a zero gradient would still move the moments, so the skip must be real.
    active = {"a": lambda step: step % 3 == 0, "b": lambda step: step % 3 != 0}
    trainer = _fit(_LinearTask(GRAD_A, [1.0, 2.0, 3.0], split=True, active=active, optimizer="adam"),
                   tmp_path, steps=6)
    iterations = {spec.name: int(spec.optimizer.iterations.numpy()) for spec in trainer.optimizer_specs}
    assert iterations == {"a": 2, "b": 4}
    # Adam's first steps move each coordinate by ~lr * sign(g): 2 steps for a, 4 for b.
    np.testing.assert_allclose(trainer.model.a.numpy(), -2e-3 * np.ones(2), rtol=1e-3)
    np.testing.assert_allclose(trainer.model.b.numpy(), -4e-3 * np.ones(3), rtol=1e-3)
    assert int(trainer.step.numpy()) == 6


def test_no_active_optimizer_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no optimizer is active at step 0"):
        _fit(_LinearTask(GRAD_A, GRAD_B, split=True, active={"a": lambda s: False, "b": lambda s: False}),
             tmp_path)


def test_keras_adam_equals_the_tf1_adam_rule():
    # TF1 AdamOptimizer (beta1 .9, beta2 .999, eps 1e-8): lr_t = lr*sqrt(1-b2^t)/(1-b1^t);
    # var -= lr_t * m / (sqrt(v) + eps) -- Keras 3 Adam applies the same formula.
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(5, 4)).astype("float32")
    variable = keras.Variable(np.zeros(4, "float32"))
    adam = keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    value, m, v = np.zeros(4), np.zeros(4), np.zeros(4)
    for t, g in enumerate(grads, start=1):
        adam.apply_gradients([(tf.constant(g), variable)])
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        lr_t = 1e-3 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        value = value - lr_t * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(variable.numpy(), value, rtol=1e-5, atol=1e-9)
