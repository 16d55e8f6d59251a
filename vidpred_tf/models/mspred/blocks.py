"""Building blocks of the MSPred family, each mapping its weights 1:1 onto the original PyTorch modules.

Layout conventions: activations are NHWC; a convolution kernel is ``(kh, kw, in, out)``, a transposed convolution
kernel ``(kh, kw, out, in)``, a dense kernel ``(in, out)``. PyTorch's explicit paddings are reproduced exactly
(pad, then a 'valid' convolution; a transposed convolution is cropped by its padding on every side).

Every block creates its variables in ``__init__`` (all shapes follow from the constructor arguments), so a model
has its full parameter list before any call. Recurrent blocks are stepped by hand: ``initial_state(...)`` gives
the zero state and ``step(x, state)`` returns the output and the new state; nothing is kept on the layer between
calls. The original's period counters live in :class:`PeriodCounter`, which a model creates afresh for each
forward pass (the counters are trace-time Python, so the unrolled loop compiles under ``tf.function``).

Original-name protocol: every block (and every MSPred-family model) implements
``original_variables(prefix="") -> {original state_dict key: TorchParam(variable, layout)}``, in the original's
state_dict order; the converter (:mod:`vidpred_tf.convert.mspred`) moves weights in and out through it.
``layout`` says how the PyTorch tensor relates to the variable: ``conv2d``, ``conv2d_transpose``, ``linear``,
``lstm_weight``, ``vector`` (``to_original_layout`` / ``from_original_layout`` convert between the two). Every original
tensor has its own port variable (an LSTMCell's ``bias_ih`` and ``bias_hh`` too, so that an optimiser steps each
of them as PyTorch does), hence the Keras trainable-parameter count equals the original's.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Sequence, Tuple

import keras
import numpy as np
from keras import ops

LAYOUTS = ("conv2d", "conv2d_transpose", "linear", "lstm_weight", "vector")
BN_EPSILON = 1e-5
LEAKY_SLOPE = 0.2


@dataclasses.dataclass(frozen=True)
class TorchParam:
    """One original state_dict entry: the port variable holding it and how the two layouts relate."""

    variable: object
    layout: str

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown TorchParam layout {self.layout!r}; known: {', '.join(LAYOUTS)}")


def join_name(prefix: str, name: str) -> str:
    """``prefix.name`` (or ``name`` for an empty prefix), as PyTorch builds state_dict keys."""
    return f"{prefix}.{name}" if prefix else name


def modules_original_variables(prefix: str, modules: Sequence) -> Dict[str, TorchParam]:
    """The original variables of an ``nn.ModuleList``-like sequence, numbered from 0 under ``prefix``."""
    params: Dict[str, TorchParam] = {}
    for index, module in enumerate(modules):
        params.update(module.original_variables(join_name(prefix, str(index))))
    return params


# Initialisers: the original applies init_weights (N(0, 0.02) to classes named *Conv2d*/*Linear*, N(1, 0.02) to
# BatchNorm gammas, zero biases) and leaves PyTorch's defaults on ConvTranspose2d and LSTMCell.

def _normal(mean: float, stddev: float):
    return keras.initializers.RandomNormal(mean=mean, stddev=stddev)


def _uniform(bound: float):
    return keras.initializers.RandomUniform(minval=-bound, maxval=bound)


class TorchConv2D(keras.layers.Layer):
    """``nn.Conv2d(in, out, k, stride, padding)`` with bias; init N(0, 0.02), bias 0."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = int(kernel_size), int(stride), int(padding)
        self.kernel = self.add_weight(shape=(self.kernel_size, self.kernel_size, self.in_channels,
                                             self.out_channels), initializer=_normal(0.0, 0.02), name="kernel")
        self.bias = self.add_weight(shape=(self.out_channels,), initializer="zeros", name="bias")
        self.built = True

    def call(self, x):
        if self.padding:
            p = self.padding
            x = ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
        return ops.conv(x, self.kernel, strides=self.stride, padding="valid") + self.bias

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        return {join_name(prefix, "weight"): TorchParam(self.kernel, "conv2d"),
                join_name(prefix, "bias"): TorchParam(self.bias, "vector")}


class TorchConv2DTranspose(keras.layers.Layer):
    """``nn.ConvTranspose2d(in, out, k, stride, padding)`` with bias; PyTorch's default init
    (kaiming_uniform(a=sqrt 5), i.e. U(+-1/sqrt(fan_in)) with fan_in = out * k * k, for kernel and bias)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = int(kernel_size), int(stride), int(padding)
        bound = 1.0 / math.sqrt(self.out_channels * self.kernel_size * self.kernel_size)
        self.kernel = self.add_weight(shape=(self.kernel_size, self.kernel_size, self.out_channels,
                                             self.in_channels), initializer=_uniform(bound), name="kernel")
        self.bias = self.add_weight(shape=(self.out_channels,), initializer=_uniform(bound), name="bias")
        self.built = True

    def call(self, x):
        y = ops.conv_transpose(x, self.kernel, strides=self.stride, padding="valid")
        if self.padding:
            p = self.padding
            y = y[:, p:-p, p:-p, :]
        return y + self.bias

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        return {join_name(prefix, "weight"): TorchParam(self.kernel, "conv2d_transpose"),
                join_name(prefix, "bias"): TorchParam(self.bias, "vector")}


class TorchLinear(keras.layers.Layer):
    """``nn.Linear(in, out)``; init N(0, 0.02), bias 0."""

    def __init__(self, in_features: int, out_features: int, **kwargs):
        super().__init__(**kwargs)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.kernel = self.add_weight(shape=(self.in_features, self.out_features), initializer=_normal(0.0, 0.02),
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.out_features,), initializer="zeros", name="bias")
        self.built = True

    def call(self, x):
        return ops.matmul(x, self.kernel) + self.bias

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        return {join_name(prefix, "weight"): TorchParam(self.kernel, "linear"),
                join_name(prefix, "bias"): TorchParam(self.bias, "vector")}


class BatchNormBatchStats(keras.layers.Layer):
    """``BatchNorm(track_running_stats=False)``: always the current batch's mean and biased variance (train and
    eval alike), eps 1e-5, affine gamma ~ N(1, 0.02) and beta = 0; no moving statistics. Normalises over every
    axis but the last (channels), so it serves as BatchNorm2d on NHWC and BatchNorm1d on (B, C)."""

    def __init__(self, channels: int, epsilon: float = BN_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.epsilon = int(channels), float(epsilon)
        self.gamma = self.add_weight(shape=(self.channels,), initializer=_normal(1.0, 0.02), name="gamma")
        self.beta = self.add_weight(shape=(self.channels,), initializer="zeros", name="beta")
        self.built = True

    def call(self, x):
        axes = list(range(len(x.shape) - 1))
        mean, variance = ops.moments(x, axes=axes, keepdims=True)
        return (x - mean) * ops.rsqrt(variance + self.epsilon) * self.gamma + self.beta

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        return {join_name(prefix, "weight"): TorchParam(self.gamma, "vector"),
                join_name(prefix, "bias"): TorchParam(self.beta, "vector")}


def leaky_relu(x):
    return ops.leaky_relu(x, negative_slope=LEAKY_SLOPE)


def apply_in_order(layers: Sequence, x):
    """``nn.Sequential``: each layer applied to the previous one's output."""
    for layer in layers:
        x = layer(x)
    return x


class ConvNormAct(keras.layers.Layer):
    """A (transposed) convolution, BN with batch statistics, then ``activation``; torch names ``<prefix>.0``
    (conv) and ``<prefix>.1`` (BN), as in an ``nn.Sequential`` of the three."""

    def __init__(self, nin: int, nout: int, kernel_size: int, stride: int, padding: int, transpose: bool,
                 activation, **kwargs):
        super().__init__(**kwargs)
        conv_class = TorchConv2DTranspose if transpose else TorchConv2D
        self.conv = conv_class(nin, nout, kernel_size, stride=stride, padding=padding, name="conv")
        self.norm = BatchNormBatchStats(nout, name="bn")
        self.activation = activation
        self.built = True

    def call(self, x):
        return self.activation(self.norm(self.conv(x)))

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params = self.conv.original_variables(join_name(prefix, "0"))
        params.update(self.norm.original_variables(join_name(prefix, "1")))
        return params


def upsample_nearest(x, factor: int):
    """``F.interpolate(x, scale_factor=factor)`` (nearest) for an integer factor: each pixel repeated."""
    if factor == 1:
        return x
    return ops.repeat(ops.repeat(x, factor, axis=1), factor, axis=2)


def flatten_chw(x):
    """(B, H, W, C) -> (B, C*H*W) in PyTorch's C, H, W order, so that dense weights carry over unchanged."""
    return ops.reshape(ops.transpose(x, (0, 3, 1, 2)), (-1, int(np.prod(x.shape[1:]))))


def unflatten_chw(v, channels: int, height: int, width: int):
    """Inverse of :func:`flatten_chw`: (B, C*H*W) in C, H, W order -> (B, H, W, C)."""
    return ops.transpose(ops.reshape(v, (-1, channels, height, width)), (0, 2, 3, 1))


class PeriodCounter:
    """The original's firing-period counter (one per recurrent module / decoder head, reset every forward pass).

    Each :meth:`tick` is one call of the module: it fires when the counter is 0 (and reloads period - 1),
    otherwise it counts down and the module returns its previous output without touching input or state. A
    module that is not called does not count down (hence the original's stale priors: a prior is called only when
    its posterior fires, so it fires every p * p steps).
    """

    def __init__(self, period: int):
        if int(period) < 1:
            raise ValueError(f"a period must be >= 1; got {period}")
        self.period = int(period)
        self.counter = 0
        self.calls = 0

    def tick(self) -> bool:
        self.calls += 1
        fire = self.counter == 0
        self.counter = self.period - 1 if fire else self.counter - 1
        return fire


class ConvLSTMCell(keras.layers.Layer):
    """One ConvLSTM step: ``conv(concat[x, h])`` gives 4*hidden channels split as gates i, f, o, g;
    c' = f*c + i*g, h' = o*tanh(c'). Torch name: ``conv``."""

    def __init__(self, input_size: int, hidden_size: int, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.conv = TorchConv2D(self.input_size + self.hidden_size, 4 * self.hidden_size, kernel_size,
                                padding=kernel_size // 2, name="conv")
        self.built = True

    def initial_state(self, batch_size, height: int, width: int):
        zeros = ops.zeros((batch_size, height, width, self.hidden_size), dtype="float32")
        return zeros, zeros

    def call(self, x, state):
        hidden, cell = state
        gates = self.conv(ops.concatenate([x, hidden], axis=-1))
        gate_i, gate_f, gate_o, gate_g = ops.split(gates, 4, axis=-1)
        cell = ops.sigmoid(gate_f) * cell + ops.sigmoid(gate_i) * ops.tanh(gate_g)
        hidden = ops.sigmoid(gate_o) * ops.tanh(cell)
        return hidden, cell

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        return self.conv.original_variables(join_name(prefix, "conv"))


class _ConvRecurrentBase(keras.layers.Layer):
    """``input_conv`` (3x3, in -> hidden) followed by ``num_layers`` stacked ConvLSTM cells."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, kernel_size: int = 3,
                 period: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.period = int(period)
        self.input_conv = TorchConv2D(self.input_size, self.hidden_size, kernel_size, padding=1, name="input_conv")
        self.cell_list = [ConvLSTMCell(self.hidden_size, self.hidden_size, kernel_size, name=f"cell_{i}")
                          for i in range(self.num_layers)]

    def initial_state(self, batch_size, height: int, width: int) -> List[Tuple]:
        """Zero (h, c) for every cell, each (B, height, width, hidden)."""
        return [cell.initial_state(batch_size, height, width) for cell in self.cell_list]

    def _recur(self, x, state):
        current = self.input_conv(x)
        new_state = []
        for cell, cell_state in zip(self.cell_list, state):
            hidden, memory = cell(current, cell_state)
            new_state.append((hidden, memory))
            current = hidden
        return current, new_state


class ConvLSTM(_ConvRecurrentBase):
    """The predictor: input_conv, cell_list, ``out_proj.0`` (3x3, hidden -> output) + tanh.

    ``output, state = predictor.step(x, state)``."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, num_layers: int, kernel_size: int = 3,
                 period: int = 1, **kwargs):
        super().__init__(input_size, hidden_size, num_layers, kernel_size, period, **kwargs)
        self.output_size = int(output_size)
        self.out_proj = TorchConv2D(self.hidden_size, self.output_size, 3, padding=1, name="out_proj")
        self.built = True

    def step(self, x, state):
        current, new_state = self._recur(x, state)
        return ops.tanh(self.out_proj(current)), new_state

    def call(self, x, state):
        return self.step(x, state)

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params = self.input_conv.original_variables(join_name(prefix, "input_conv"))
        params.update(modules_original_variables(join_name(prefix, "cell_list"), self.cell_list))
        params.update(self.out_proj.original_variables(join_name(prefix, "out_proj.0")))
        return params


def reparameterize(mu, logvar, eps):
    """z = mu + exp(logvar / 2) * eps."""
    return mu + ops.exp(0.5 * logvar) * eps


class GaussianConvLSTM(_ConvRecurrentBase):
    """Prior / posterior: input_conv, cell_list, ``mu_var_net`` (3x3, hidden -> 2z; mu = first z channels,
    logvar = last z). ``(z, mu, logvar), state = module.step(x, state, eps)`` with eps ~ N(0, 1) shaped like mu
    (the caller draws it, so that it can be fed)."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, num_layers: int, kernel_size: int = 3,
                 period: int = 1, **kwargs):
        super().__init__(input_size, hidden_size, num_layers, kernel_size, period, **kwargs)
        self.output_size = int(output_size)
        self.mu_var_net = TorchConv2D(self.hidden_size, 2 * self.output_size, kernel_size, padding=1,
                                      name="mu_var_net")
        self.built = True

    def latent_shape(self, batch_size, height: int, width: int):
        return (batch_size, height, width, self.output_size)

    def step(self, x, state, eps):
        current, new_state = self._recur(x, state)
        mu, logvar = ops.split(self.mu_var_net(current), 2, axis=-1)
        return (reparameterize(mu, logvar, eps), mu, logvar), new_state

    def call(self, x, state, eps):
        return self.step(x, state, eps)

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        # The original registers cell_list before input_conv here (the predictor does the opposite).
        params = modules_original_variables(join_name(prefix, "cell_list"), self.cell_list)
        params.update(self.input_conv.original_variables(join_name(prefix, "input_conv")))
        params.update(self.mu_var_net.original_variables(join_name(prefix, "mu_var_net")))
        return params


class TorchLSTMCell(keras.layers.Layer):
    """``nn.LSTMCell(in, hidden)``: gates i, f, g, o from x W_ih + b_ih + h W_hh + b_hh.

    The two biases stay separate variables as in PyTorch: both receive the same gradient, so a training step
    moves their sum twice as far as a single summed bias would move. Init as PyTorch: U(+-1/sqrt(hidden)) for
    each weight and each bias."""

    def __init__(self, input_size: int, hidden_size: int, **kwargs):
        super().__init__(**kwargs)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        bound = 1.0 / math.sqrt(self.hidden_size)
        self.kernel_ih = self.add_weight(shape=(self.input_size, 4 * self.hidden_size), initializer=_uniform(bound),
                                         name="kernel_ih")
        self.kernel_hh = self.add_weight(shape=(self.hidden_size, 4 * self.hidden_size),
                                         initializer=_uniform(bound), name="kernel_hh")
        self.bias_ih = self.add_weight(shape=(4 * self.hidden_size,), initializer=_uniform(bound), name="bias_ih")
        self.bias_hh = self.add_weight(shape=(4 * self.hidden_size,), initializer=_uniform(bound), name="bias_hh")
        self.built = True

    def initial_state(self, batch_size):
        zeros = ops.zeros((batch_size, self.hidden_size), dtype="float32")
        return zeros, zeros

    def call(self, x, state):
        hidden, cell = state
        gates = (ops.matmul(x, self.kernel_ih) + self.bias_ih) + (ops.matmul(hidden, self.kernel_hh) + self.bias_hh)
        gate_i, gate_f, gate_g, gate_o = ops.split(gates, 4, axis=-1)
        cell = ops.sigmoid(gate_f) * cell + ops.sigmoid(gate_i) * ops.tanh(gate_g)
        hidden = ops.sigmoid(gate_o) * ops.tanh(cell)
        return hidden, cell

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        return {join_name(prefix, "weight_ih"): TorchParam(self.kernel_ih, "lstm_weight"),
                join_name(prefix, "weight_hh"): TorchParam(self.kernel_hh, "lstm_weight"),
                join_name(prefix, "bias_ih"): TorchParam(self.bias_ih, "vector"),
                join_name(prefix, "bias_hh"): TorchParam(self.bias_hh, "vector")}


class _LinearRecurrentBase(keras.layers.Layer):
    """``embed`` (Linear in -> hidden) followed by ``num_layers`` stacked LSTMCells (torch names ``lstm.k``)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, period: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.period = int(period)
        self.embed = TorchLinear(self.input_size, self.hidden_size, name="embed")
        self.lstm = [TorchLSTMCell(self.hidden_size, self.hidden_size, name=f"lstm_{i}")
                     for i in range(self.num_layers)]

    def initial_state(self, batch_size) -> List[Tuple]:
        return [cell.initial_state(batch_size) for cell in self.lstm]

    def _recur(self, x, state):
        current = self.embed(ops.reshape(x, (-1, self.input_size)))
        new_state = []
        for cell, cell_state in zip(self.lstm, state):
            hidden, memory = cell(current, cell_state)
            new_state.append((hidden, memory))
            current = hidden
        return current, new_state


class LinearLSTM(_LinearRecurrentBase):
    """The original ``LSTM`` block: embed, lstm.*, and (``use_output``) ``output.0`` Linear(hidden -> out) + tanh.
    Input (B, input_size); ``output, state = block.step(x, state)``."""

    def __init__(self, input_size: int, output_size: int, hidden_size: int, num_layers: int, period: int = 1,
                 use_output: bool = True, **kwargs):
        super().__init__(input_size, hidden_size, num_layers, period, **kwargs)
        self.output_size = int(output_size)
        self.use_output = bool(use_output)
        self.output_layer = TorchLinear(self.hidden_size, self.output_size, name="output") if use_output else None
        self.built = True

    def step(self, x, state):
        current, new_state = self._recur(x, state)
        if self.output_layer is not None:
            current = ops.tanh(self.output_layer(current))
        return current, new_state

    def call(self, x, state):
        return self.step(x, state)

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params = self.embed.original_variables(join_name(prefix, "embed"))
        params.update(modules_original_variables(join_name(prefix, "lstm"), self.lstm))
        if self.output_layer is not None:
            params.update(self.output_layer.original_variables(join_name(prefix, "output.0")))
        return params


class GaussianLinearLSTM(_LinearRecurrentBase):
    """The original ``Gaussian_LSTM``: embed, lstm.*, ``mu_net`` and ``logvar_net`` (Linear hidden -> z).
    ``(z, mu, logvar), state = block.step(x, state, eps)``."""

    def __init__(self, input_size: int, output_size: int, hidden_size: int, num_layers: int, period: int = 1,
                 **kwargs):
        super().__init__(input_size, hidden_size, num_layers, period, **kwargs)
        self.output_size = int(output_size)
        self.mu_net = TorchLinear(self.hidden_size, self.output_size, name="mu_net")
        self.logvar_net = TorchLinear(self.hidden_size, self.output_size, name="logvar_net")
        self.built = True

    def latent_shape(self, batch_size):
        return (batch_size, self.output_size)

    def step(self, x, state, eps):
        current, new_state = self._recur(x, state)
        mu, logvar = self.mu_net(current), self.logvar_net(current)
        return (reparameterize(mu, logvar, eps), mu, logvar), new_state

    def call(self, x, state, eps):
        return self.step(x, state, eps)

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params = self.embed.original_variables(join_name(prefix, "embed"))
        params.update(modules_original_variables(join_name(prefix, "lstm"), self.lstm))
        params.update(self.mu_net.original_variables(join_name(prefix, "mu_net")))
        params.update(self.logvar_net.original_variables(join_name(prefix, "logvar_net")))
        return params


class DeconvHead(keras.layers.Layer):
    """``num_layers`` x [ConvT 4x4 s2 p1 -> nf, BN, ReLU], then Conv1x1 nf -> out + sigmoid. Torch names:
    ``upc_layers.{3k}`` (ConvT), ``upc_layers.{3k+1}`` (BN), ``upc_layers.{3*num_layers}`` (final conv).
    A rank-2 input (B, C) is treated as (B, 1, 1, C). ``period`` is read by the model's counter."""

    def __init__(self, in_channels: int, out_channels: int, num_filters: int = 256, num_layers: int = 6,
                 period: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.num_filters, self.num_layers, self.period = int(num_filters), int(num_layers), int(period)
        self.deconvs, self.norms = [], []
        for i in range(self.num_layers):
            channels_in = self.in_channels if i == 0 else self.num_filters
            self.deconvs.append(TorchConv2DTranspose(channels_in, self.num_filters, 4, stride=2, padding=1,
                                                     name=f"deconv_{i}"))
            self.norms.append(BatchNormBatchStats(self.num_filters, name=f"bn_{i}"))
        self.final_conv = TorchConv2D(self.num_filters, self.out_channels, 1, name="final_conv")
        self.built = True

    def call(self, x):
        if len(x.shape) == 2:
            x = ops.reshape(x, (-1, 1, 1, self.in_channels))
        for deconv, norm in zip(self.deconvs, self.norms):
            x = ops.relu(norm(deconv(x)))
        return ops.sigmoid(self.final_conv(x))

    def original_variables(self, prefix: str = "") -> Dict[str, TorchParam]:
        params: Dict[str, TorchParam] = {}
        for i, (deconv, norm) in enumerate(zip(self.deconvs, self.norms)):
            params.update(deconv.original_variables(join_name(prefix, f"upc_layers.{3 * i}")))
            params.update(norm.original_variables(join_name(prefix, f"upc_layers.{3 * i + 1}")))
        params.update(self.final_conv.original_variables(join_name(prefix, f"upc_layers.{3 * self.num_layers}")))
        return params


def count_torch_parameters(params: Dict[str, TorchParam]) -> int:
    """Number of trainable scalars as PyTorch counts them (one entry per original tensor)."""
    return int(sum(int(np.prod(p.variable.shape)) for p in params.values()))


def torch_shape(param: TorchParam) -> Tuple[int, ...]:
    """The shape the original tensor has for this entry."""
    shape = tuple(int(d) for d in param.variable.shape)
    if param.layout in ("conv2d", "conv2d_transpose"):
        return (shape[3], shape[2], shape[0], shape[1])
    if param.layout in ("linear", "lstm_weight"):
        return (shape[1], shape[0])
    return shape


def from_original_layout(array: np.ndarray, layout: str) -> np.ndarray:
    """An original (PyTorch) tensor in the port variable's layout: kernels OIHW -> HWIO (a ConvTranspose2d's
    (in, out, kh, kw) -> (kh, kw, out, in)), dense weights (out, in) -> (in, out); vectors unchanged."""
    if layout in ("conv2d", "conv2d_transpose"):
        return array.transpose(2, 3, 1, 0)
    if layout in ("linear", "lstm_weight"):
        return array.T
    return array


def to_original_layout(array: np.ndarray, layout: str) -> np.ndarray:
    """The inverse of :func:`from_original_layout`: a port value (or its gradient) in the original's layout."""
    if layout in ("conv2d", "conv2d_transpose"):
        return array.transpose(3, 2, 0, 1)
    if layout in ("linear", "lstm_weight"):
        return array.T
    return array
