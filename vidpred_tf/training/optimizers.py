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


@keras.saving.register_keras_serializable(package="vidpred_tf")
class TorchAdam(keras.optimizers.Optimizer):
    """``torch.optim.Adam`` (and ``AdamW`` with ``weight_decay``) with PyTorch's exact update rule.

    Per step t: ``m = lerp(m, g, 1 - beta_1)``, ``v = beta_2 v + (1 - beta_2) g^2``, then
    ``p -= lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + eps)``. Keras' ``Adam`` adds its epsilon to
    ``sqrt(v)`` before the bias correction, which equals torch's rule only with an epsilon that changes with t.
    ``weight_decay`` (torch AdamW's decoupled decay, applied first: ``p *= 1 - lr * weight_decay``; 0 is
    ``torch.optim.Adam`` without weight decay; Keras' own ``weight_decay`` argument is not used).
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=0.0,
                 name="torch_adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.decoupled_weight_decay = float(weight_decay)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._first_moments, self._second_moments = self.add_optimizer_variables(
            var_list, ["first_moment", "second_moment"])

    def _step_scalars(self, learning_rate):
        """``(lr / (1 - beta_1^t), sqrt(1 - beta_2^t))`` for the step about to be taken (t = iterations + 1),
        computed in double precision as torch does with Python floats, then rounded to float32."""
        t = ops.cast(self.iterations + 1, "float64")
        bias_correction1 = 1.0 - ops.power(ops.convert_to_tensor(self.beta_1, "float64"), t)
        bias_correction2_sqrt = ops.sqrt(1.0 - ops.power(ops.convert_to_tensor(self.beta_2, "float64"), t))
        step_size = ops.cast(learning_rate, "float64") / bias_correction1
        return ops.cast(step_size, "float32"), ops.cast(bias_correction2_sqrt, "float32")

    def apply(self, grads, trainable_variables=None):
        # The step's scalars are shared by every variable: build them once per update instead of once per
        # variable (that halves the optimiser's share of a traced train step with ~100 variables).
        self._shared_scalars = self._step_scalars(self.learning_rate)
        try:
            return super().apply(grads, trainable_variables)
        finally:
            self._shared_scalars = None

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        scalars = getattr(self, "_shared_scalars", None) or self._step_scalars(learning_rate)
        step_size, bias_correction2_sqrt = (ops.cast(value, dtype) for value in scalars)
        if gradient.dtype != dtype:
            gradient = ops.cast(gradient, dtype)
        index = self._get_variable_index(variable)
        m = self._first_moments[index]
        v = self._second_moments[index]
        if self.decoupled_weight_decay:
            lr = ops.cast(learning_rate, dtype)
            self.assign(variable, variable * (1.0 - lr * self.decoupled_weight_decay))
        self.assign_add(m, (gradient - m) * (1.0 - self.beta_1))
        self.assign(v, v * self.beta_2 + ops.square(gradient) * (1.0 - self.beta_2))
        self.assign_sub(variable, step_size * (m / (ops.sqrt(v) / bias_correction2_sqrt + self.epsilon)))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "weight_decay": self.decoupled_weight_decay})
        return config


@keras.saving.register_keras_serializable(package="vidpred_tf")
class TorchSGD(keras.optimizers.Optimizer):
    """``torch.optim.SGD`` (dampening 0) with PyTorch's exact update rule, L2 weight decay included.

    Per step: ``d = g + weight_decay * p`` (torch adds the decay to the gradient; Keras' SGD decays the weights
    separately), ``b = momentum * b + d`` (b starts at 0, so the first step has b = d as in torch), then
    ``p -= lr * (d + momentum * b)`` with ``nesterov`` else ``p -= lr * b`` (``p -= lr * d`` without momentum).
    """

    def __init__(self, learning_rate=1e-2, momentum=0.0, nesterov=False, weight_decay=0.0, name="torch_sgd",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0; got {momentum}")
        if nesterov and momentum <= 0:
            raise ValueError("nesterov momentum requires a momentum > 0 (as torch.optim.SGD)")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.l2_weight_decay = float(weight_decay)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentum_buffers = (self.add_optimizer_variables(var_list, "momentum_buffer")
                                  if self.momentum else [])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        index = self._get_variable_index(variable)
        direction = ops.cast(gradient, dtype)
        if self.l2_weight_decay:
            direction = direction + variable * self.l2_weight_decay
        if self.momentum:
            buffer = self._momentum_buffers[index]
            self.assign(buffer, buffer * self.momentum + direction)
            direction = direction + buffer * self.momentum if self.nesterov else buffer
        self.assign_sub(variable, lr * direction)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov, "weight_decay": self.l2_weight_decay})
        return config


@keras.saving.register_keras_serializable(package="vidpred_tf")
class TF1RMSProp(keras.optimizers.Optimizer):
    """``tf.compat.v1.train.RMSPropOptimizer`` (not centred) with TF1's update rule and slot initialisation.

    Per step: ``ms += (g^2 - ms) * (1 - rho)`` (= ``rho ms + (1 - rho) g^2``, written as TF1's kernel computes it),
    ``mom = momentum * mom + lr * g / sqrt(ms + eps)``, ``w -= mom``. The mean-square slot starts at ONES and the
    epsilon (1e-10) is inside the square root; Keras' ``RMSprop`` starts it at zeros and adds its epsilon outside,
    which makes the first steps far larger. TF1's defaults: ``rho`` (its ``decay``) 0.9, ``momentum`` 0. The slots
    are ``mean_squares`` (TF1's ``<var>/<name>``) and ``momenta`` (``<var>/<name>_1``), in that order per variable.
    """

    def __init__(self, learning_rate=1e-3, rho=0.9, momentum=0.0, epsilon=1e-10, name="tf1_rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0; got {momentum}")
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._mean_squares, self._momenta = self.add_optimizer_variables(
            var_list, ["mean_square", "momentum"], initializer=["ones", "zeros"])

    def slots(self, variable):
        """``(mean_square, momentum)`` slot variables of ``variable``."""
        index = self._get_variable_index(variable)
        return self._mean_squares[index], self._momenta[index]

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        mean_square, momentum = self.slots(variable)
        # TF1 passes rho, momentum and epsilon as tensors of the variable's dtype: 1 - rho is taken in float32.
        rho, momentum_coefficient = ops.cast(self.rho, dtype), ops.cast(self.momentum, dtype)
        epsilon = ops.cast(self.epsilon, dtype)
        self.assign(mean_square, mean_square + (ops.square(gradient) - mean_square) * (1.0 - rho))
        self.assign(momentum, momentum * momentum_coefficient + gradient * lr / ops.sqrt(mean_square + epsilon))
        self.assign_sub(variable, momentum)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon})
        return config


def make_optimizer(name: str, learning_rate, **kwargs) -> keras.optimizers.Optimizer:
    """An optimiser by the name the original CLIs use (``adam``, ``sgd``, ``rmsprop``, ``adam_eps_inside_sqrt``,
    ``torch_adam``, ``torch_sgd``, ``tf1_rmsprop``)."""
    table = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "momentum": lambda **kw: keras.optimizers.SGD(momentum=kw.pop("momentum", 0.9), **kw),
        "rmsprop": keras.optimizers.RMSprop,
        "adam_eps_inside_sqrt": AdamEpsInsideSqrt,
        "torch_adam": TorchAdam,
        "torch_sgd": TorchSGD,
        "tf1_rmsprop": TF1RMSProp,
    }
    if name not in table:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(sorted(table))}")
    return table[name](learning_rate=learning_rate, **kwargs)
