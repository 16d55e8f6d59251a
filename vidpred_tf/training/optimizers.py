"""Optimisers the originals used that Keras 3 does not ship as such."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="vidpred_tf")
class AdamEpsInsideSqrt(keras.optimizers.Optimizer):
    """Adam with the epsilon inside the square root: ``p -= lr * m_hat / sqrt(v_hat + eps)``.

    The E3D-LSTM code (google/e3d_lstm and its forks) wrote Adam by hand this way, with beta1 0.95 and beta2
    0.9995 and bias correction from t = 1. Keras' ``Adam`` computes ``m_hat / (sqrt(v_hat) + eps)``, which
    differs for gradients of magnitude below about sqrt(eps) (1e-4 with eps 1e-8). The original applied its
    updates racily (see the e3d README section); this one applies them after all gradients are computed.
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.95, beta_2=0.9995, epsilon=1e-8,
                 name="adam_eps_inside_sqrt", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._first_moments, self._second_moments = self.add_optimizer_variables(
            var_list, ["first_moment", "second_moment"])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        m = self._first_moments[index]
        v = self._second_moments[index]
        self.assign(m, self.beta_1 * m + (1.0 - self.beta_1) * gradient)
        self.assign(v, self.beta_2 * v + (1.0 - self.beta_2) * ops.square(gradient))
        m_hat = m / (1.0 - ops.power(ops.cast(self.beta_1, dtype), t))
        v_hat = v / (1.0 - ops.power(ops.cast(self.beta_2, dtype), t))
        self.assign_sub(variable, lr * m_hat / ops.sqrt(v_hat + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


def make_optimizer(name: str, learning_rate, **kwargs) -> keras.optimizers.Optimizer:
    """An optimiser by the name the original CLIs use (``adam``, ``sgd``, ``rmsprop``, ``adam_eps_inside_sqrt``)."""
    table = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "momentum": lambda **kw: keras.optimizers.SGD(momentum=kw.pop("momentum", 0.9), **kw),
        "rmsprop": keras.optimizers.RMSprop,
        "adam_eps_inside_sqrt": AdamEpsInsideSqrt,
    }
    if name not in table:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(sorted(table))}")
    return table[name](learning_rate=learning_rate, **kwargs)
