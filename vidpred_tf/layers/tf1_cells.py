"""TF1's recurrent cells as SAVP used them, stepped by hand, with TF1's variable layouts so weights load as they are.

* ``TF1LSTMCell``: ``tf.nn.rnn_cell.LSTMCell`` / ``BasicLSTMCell`` without peepholes or projection.
  ``kernel [in + units, 4 units]`` (glorot-uniform, TF1's ``get_variable`` default) and ``bias [4 units]``
  (zeros) act on ``concat(x, h)``; the gates are split in the order i, j, f, o and ``forget_bias`` (1.0) is added
  to f at run time: ``c' = c * sigmoid(f + 1) + sigmoid(i) * tanh(j)``, ``h' = tanh(c') * sigmoid(o)``.
* ``TF1GRUCell``: ``GRUCell``: ``gates/kernel [in + units, 2 units]`` + ``gates/bias`` (ones) give r, u;
  ``candidate/kernel`` + ``candidate/bias`` (zeros) act on ``concat(x, r * h)``; ``h' = u * h + (1 - u) * c``.
* ``BasicConv2DLSTMCell`` (``rnn_ops.py``): ``concat(x, h)`` -> a SAME ``k x k`` convolution to 4F channels (bias
  only without a normaliser; with a separate non-spatial input, a bias-free ``weights`` matrix adds to it), one
  norm over the 4F channels (``input_transform_forget_output``) or one per gate (``input``, ``transform``,
  ``forget``, ``output``; the original does this for layer norm), gates i, j, f, o,
  ``c' = norm_state(c * sigmoid(f + 1) + sigmoid(i) * tanh(j))``, ``h' = tanh(c') * sigmoid(o)``. The norm
  variables are created gamma first (init 1), then beta (init 0).

* ``PeepholeProjectionLSTMCell``: the ``lstm_cell`` op of EPVA's ``tf_ops.py`` (Sak et al. 2014), the only cell here
  whose state is one tensor ``concat(c, m) [B, units + proj]``. ``W_0 [in + proj, 4 units]`` and ``B [4 units]``
  (zeros) act on ``concat(x, m)``, gates i, j, f, o, peepholes ``W_F_diag``, ``W_I_diag``, ``W_O_diag [units]``:
  ``c' = sigmoid(f + 1 + w_f c) c + sigmoid(i + w_i c) tanh(j)``, ``m' = (sigmoid(o + w_o c') tanh(c')) @ W_P_0``.
  Variables are created in the order W_0, B, W_F_diag, W_I_diag, W_O_diag, W_P_0; all but B take the cell's
  ``initializer`` (TF1's scope initializer; glorot-uniform when the scope set none). A ``None`` state is zeros.

States are ``(c, h)`` tuples as ``LSTMStateTuple`` was (except the peephole cell's, see above).
``tf1_variables()`` lists ``(name under the cell's TF1 scope, variable)`` in creation order.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import keras
import tensorflow as tf

from vidpred_tf.layers.normalization import norm_layer
from vidpred_tf.layers.resampling import TRUNCATED_NORMAL_STDDEV


class _Cell(keras.layers.Layer):
    def __init__(self, scope: str, **kwargs):
        super().__init__(**kwargs)
        self.scope = scope
        self._tf1: List[Tuple[str, keras.Variable]] = []

    def _make(self, name, shape, initializer):
        variable = self.add_weight(name=name.replace("/", "_"), shape=tuple(int(d) for d in shape),
                                   initializer=initializer)
        self._tf1.append((f"{self.scope}/{name}", variable))
        return variable

    def tf1_variables(self):
        return list(self._tf1)


class TF1LSTMCell(_Cell):
    """``h, (c, h) = cell(x, (c, h))``; ``build(input_dim)``."""

    def __init__(self, units: int, forget_bias: float = 1.0, scope: str = "basic_lstm_cell", **kwargs):
        super().__init__(scope, **kwargs)
        self.units, self.forget_bias = int(units), forget_bias

    def build(self, input_shape):
        input_dim = input_shape[-1] if isinstance(input_shape, (tuple, list)) else input_shape
        self.kernel = self._make("kernel", [input_dim + self.units, 4 * self.units], "glorot_uniform")
        self.bias = self._make("bias", [4 * self.units], "zeros")
        self.built = True

    def zero_state(self, batch_size):
        zeros = tf.zeros([batch_size, self.units])
        return zeros, zeros

    def call(self, inputs, state):
        c, h = state
        gates = tf.nn.bias_add(tf.matmul(tf.concat([inputs, h], axis=-1), self.kernel), self.bias)
        i, j, f, o = tf.split(gates, 4, axis=-1)
        new_c = c * tf.sigmoid(f + self.forget_bias) + tf.sigmoid(i) * tf.tanh(j)
        new_h = tf.tanh(new_c) * tf.sigmoid(o)
        return new_h, (new_c, new_h)


class TF1GRUCell(_Cell):
    """``h, h = cell(x, h)``; ``build(input_dim)``."""

    def __init__(self, units: int, scope: str = "gru_cell", **kwargs):
        super().__init__(scope, **kwargs)
        self.units = int(units)

    def build(self, input_shape):
        input_dim = input_shape[-1] if isinstance(input_shape, (tuple, list)) else input_shape
        self.gates_kernel = self._make("gates/kernel", [input_dim + self.units, 2 * self.units], "glorot_uniform")
        self.gates_bias = self._make("gates/bias", [2 * self.units], "ones")
        self.candidate_kernel = self._make("candidate/kernel", [input_dim + self.units, self.units],
                                           "glorot_uniform")
        self.candidate_bias = self._make("candidate/bias", [self.units], "zeros")
        self.built = True

    def zero_state(self, batch_size):
        return tf.zeros([batch_size, self.units])

    def call(self, inputs, state):
        gates = tf.sigmoid(tf.nn.bias_add(tf.matmul(tf.concat([inputs, state], -1), self.gates_kernel),
                                          self.gates_bias))
        r, u = tf.split(gates, 2, axis=-1)
        candidate = tf.nn.bias_add(tf.matmul(tf.concat([inputs, r * state], -1), self.candidate_kernel),
                                   self.candidate_bias)
        new_h = u * state + (1 - u) * tf.tanh(candidate)
        return new_h, new_h


class BasicConv2DLSTMCell(_Cell):
    """``h, (c, h) = cell(x, (c, h))`` with ``x [B, H, W, C]`` or ``(x, v)`` (``v [B, D]`` through ``weights``).

    ``build(channels, non_spatial_dim=0)``; ``normalizer`` is a ``norm_layer`` kind or None.
    """

    GATES = ("input", "transform", "forget", "output")

    def __init__(self, filters: int, kernel_size=(5, 5), forget_bias: float = 1.0, normalizer: Optional[str] = None,
                 separate_norms: bool = True, scope: str = "basic_conv2dlstm_cell", **kwargs):
        super().__init__(scope, **kwargs)
        self.filters = int(filters)
        self.kernel_size = list(kernel_size) if isinstance(kernel_size, (tuple, list)) else [kernel_size] * 2
        self.forget_bias, self.normalizer, self.separate_norms = forget_bias, normalizer, separate_norms

    def build(self, channels: int, non_spatial_dim: int = 0):
        f4 = 4 * self.filters
        init = keras.initializers.TruncatedNormal(stddev=TRUNCATED_NORMAL_STDDEV)
        self.kernel = self._make("kernel", self.kernel_size + [channels + self.filters, f4], init)
        self.bias = None if self.normalizer else self._make("bias", [f4], "zeros")
        self.weights_matrix = self._make("weights", [non_spatial_dim, f4], init) if non_spatial_dim else None
        self.norms = {}
        if self.normalizer:
            scopes = self.GATES if self.separate_norms else ("input_transform_forget_output",)
            width = self.filters if self.separate_norms else f4
            for scope in scopes + ("state",):
                norm = norm_layer(self.normalizer, scope=scope, order=("gamma", "beta"))
                norm.build((None, width if scope != "state" else self.filters))
                self.norms[scope] = norm
                self._tf1.extend((f"{self.scope}/{name}", v) for name, v in norm.tf1_variables())
        self.built = True

    def zero_state(self, batch_size, height, width):
        zeros = tf.zeros([batch_size, height, width, self.filters])
        return zeros, zeros

    def call(self, inputs, state):
        c, h = state
        non_spatial = None
        if isinstance(inputs, (list, tuple)):
            inputs, non_spatial = inputs
        gates = tf.nn.conv2d(tf.concat([inputs, h], axis=-1), self.kernel, [1, 1, 1, 1], padding="SAME")
        if self.bias is not None:
            gates = tf.nn.bias_add(gates, self.bias)
        if non_spatial is not None:
            gates = gates + tf.matmul(non_spatial, self.weights_matrix)[:, None, None, :]
        if self.normalizer and not self.separate_norms:
            gates = self.norms["input_transform_forget_output"](gates)
        i, j, f, o = tf.split(gates, 4, axis=-1)
        if self.normalizer and self.separate_norms:
            i, j, f, o = (self.norms[name](x) for name, x in zip(self.GATES, (i, j, f, o)))
        new_c = c * tf.sigmoid(f + self.forget_bias) + tf.sigmoid(i) * tf.tanh(j)
        if self.normalizer:
            new_c = self.norms["state"](new_c)
        new_h = tf.tanh(new_c) * tf.sigmoid(o)
        return new_h, (new_c, new_h)


class PeepholeProjectionLSTMCell(_Cell):
    """``m, state = cell(x, state)`` with ``state = concat(c, m)``; ``build(input_dim)``. See the module docstring."""

    def __init__(self, units: int, num_proj: Optional[int] = None, initializer="glorot_uniform",
                 scope: str = "LSTMCell", **kwargs):
        super().__init__(scope, **kwargs)
        self.units = int(units)
        self.num_proj = self.units if num_proj is None else int(num_proj)
        self.initializer = initializer

    @property
    def state_size(self) -> int:
        return self.units + self.num_proj

    def build(self, input_shape):
        input_dim = input_shape[-1] if isinstance(input_shape, (tuple, list)) else input_shape
        init = keras.initializers.get(self.initializer)
        self.kernel = self._make("W_0", [int(input_dim) + self.num_proj, 4 * self.units], init)
        self.bias = self._make("B", [4 * self.units], "zeros")
        self.w_f_diag = self._make("W_F_diag", [self.units], init)
        self.w_i_diag = self._make("W_I_diag", [self.units], init)
        self.w_o_diag = self._make("W_O_diag", [self.units], init)
        self.projection = self._make("W_P_0", [self.units, self.num_proj], init)
        self.built = True

    def zero_state(self, batch_size) -> tf.Tensor:
        return tf.zeros([batch_size, self.state_size])

    def call(self, inputs, state=None):
        if state is None:
            state = self.zero_state(tf.shape(inputs)[0])
        c_prev, m_prev = state[:, :self.units], state[:, self.units:]
        gates = tf.nn.bias_add(tf.matmul(tf.concat([inputs, m_prev], axis=1), self.kernel), self.bias)
        i, j, f, o = tf.split(gates, 4, axis=1)
        c = (tf.sigmoid(f + 1.0 + self.w_f_diag * c_prev) * c_prev
             + tf.sigmoid(i + self.w_i_diag * c_prev) * tf.tanh(j))
        m = tf.matmul(tf.sigmoid(o + self.w_o_diag * c) * tf.tanh(c), self.projection)
        return m, tf.concat([c, m], axis=1)
