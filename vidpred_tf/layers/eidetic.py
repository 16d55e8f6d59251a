"""Eidetic LSTM cell (Wang et al., "Eidetic 3D LSTM", ICLR 2019) as used by the E3D-LSTM study (e3d).

Two forms share one class:

* 3-D (``conv_ndims=3``): states ``[B, K, w, w, C]`` (K = temporal window), ``Conv3D`` gates, and the
  eidetic self-attention of the gate ``r`` over the history of cell states (``eidetic_attention=True``).
* 2-D (``conv_ndims=2``): states ``[B, K, w*w, C]`` (space flattened row-major), ``Conv2D`` gates over
  (window, flattened space). The 2-D models of the study only build with the historical cell of commit
  049598e, where the attention is replaced by a layer norm of the previous cell (``eidetic_attention=False``,
  layer-norm scope ``new_cell``).

Behaviour kept from the original because it defines the numbers:

* the returned global memory is the *input* memory, not the updated one (so a stack fed zeros keeps zeros
  and the memory-conv kernels get no gradient); ``return_new_memory=True`` is the opt-in fix;
* the output gate is ``sigmoid(tanh(...))``, the attention has no ``1/sqrt(C)`` scaling, forget bias 1.0;
* layer norm takes its moments over *all* non-batch axes jointly with epsilon 1e-12, and has per-channel
  gamma/beta (``tf.contrib.layers.layer_norm`` defaults), see ``JointLayerNorm``.

``layer_norm=False`` drops the layer norms after the hidden, input and memory convolutions (the original
crashed with a NameError there); the ``self_attn`` / ``new_cell`` norm is applied unconditionally, as in the
original.

Sub-layers carry the TF1 variable-scope names (``conv3d``, ``conv3d_1``, ..., ``hidden``, ``inputs``,
``self_attn`` / ``new_cell``, ``global_memory``) and are built in the original creation order.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

LAYER_NORM_EPSILON = 1e-12
FORGET_BIAS = 1.0


class JointLayerNorm(keras.layers.Layer):
    """Layer norm over all non-batch axes jointly, with a per-channel scale and offset.

    ``y = (x - mean) * rsqrt(var + eps) * gamma + beta`` where mean and variance are taken over every axis but
    the first, and gamma/beta have shape ``[channels]``. This is ``tf.contrib.layers.layer_norm`` with its
    defaults (begin_norm_axis=1, begin_params_axis=-1), which Keras' ``LayerNormalization`` does not
    reproduce (its parameters would span all normalised axes).
    """

    def __init__(self, epsilon: float = LAYER_NORM_EPSILON, gamma_init: float = 1.0, beta_init: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.gamma_init = float(gamma_init)
        self.beta_init = float(beta_init)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        # gamma is created before beta, as in the original scope.
        self.gamma = self.add_weight(name="gamma", shape=(channels,),
                                     initializer=keras.initializers.Constant(self.gamma_init))
        self.beta = self.add_weight(name="beta", shape=(channels,),
                                    initializer=keras.initializers.Constant(self.beta_init))

    def call(self, x):
        axes = list(range(1, len(x.shape)))
        mean, variance = tf.nn.moments(x, axes, keepdims=True)
        return tf.nn.batch_normalization(x, mean, variance, offset=self.beta, scale=self.gamma,
                                         variance_epsilon=self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon, gamma_init=self.gamma_init, beta_init=self.beta_init)
        return config


def eidetic_attention(query, history):
    """Unscaled dot-product attention of ``query`` [B, K, w, w, C] over ``history`` [B, n, w, w, C].

    Keys and values are both the cell history; every (time, y, x) position is one token.
    Returns a tensor shaped like ``query``.
    """
    shape = tf.shape(query)
    channels = query.shape[-1]
    batch = shape[0]
    q = tf.reshape(query, [batch, -1, channels])
    kv = tf.reshape(history, [batch, -1, channels])
    weights = tf.nn.softmax(tf.matmul(q, kv, transpose_b=True), axis=-1)
    return tf.reshape(tf.matmul(weights, kv), shape)


class EideticLSTMCell(keras.layers.Layer):
    """One Eidetic LSTM layer; ``call(inputs, hidden, cell, memory, cell_history) -> (h, c, memory)``.

    Args:
      filters: output channels C of the hidden and cell states.
      kernel_size: kernel of the gate convolutions (3 ints for 3-D, 2 for 2-D); the output 1x1(x1) conv is fixed.
      conv_ndims: 3 (``Conv3D``) or 2 (``Conv2D`` over [window, flattened space]).
      eidetic_attention: True: ``c' = LN_self_attn(c + Attn(r, c_hist, c_hist)) + i*g`` (HEAD cell, 3-D only);
        False: ``c' = LN_new_cell(c) + i*g`` (cell of commit 049598e; ``r`` is computed but unused).
      layer_norm: apply the layer norms after the hidden, input and memory convolutions.
      forget_bias: added to the memory forget gate pre-activation.
      return_new_memory: False (as the original, whose cell hands back the memory it was given, so the global
        memory never changes): return the input memory; True: return the updated memory.
    """

    def __init__(self, filters: int, kernel_size: Sequence[int], conv_ndims: int = 3,
                 eidetic_attention: bool = True, layer_norm: bool = True, forget_bias: float = FORGET_BIAS,
                 return_new_memory: bool = False, **kwargs):
        super().__init__(**kwargs)
        if conv_ndims not in (2, 3):
            raise ValueError(f"EideticLSTMCell {self.name}: conv_ndims must be 2 or 3; got {conv_ndims}")
        kernel_size = tuple(int(k) for k in kernel_size)
        if len(kernel_size) != conv_ndims:
            raise ValueError(f"EideticLSTMCell {self.name}: kernel_size {kernel_size} must have {conv_ndims} "
                             f"entries for a {conv_ndims}-D cell")
        if eidetic_attention and conv_ndims != 3:
            raise ValueError(f"EideticLSTMCell {self.name}: the eidetic attention needs 5-D states; a 2-D cell "
                             "must use eidetic_attention=False (the cell of commit 049598e)")
        self.filters = int(filters)
        self.kernel_size = kernel_size
        self.conv_ndims = conv_ndims
        self.eidetic_attention = bool(eidetic_attention)
        self.layer_norm = bool(layer_norm)
        self.forget_bias = float(forget_bias)
        self.return_new_memory = bool(return_new_memory)

        conv_cls = keras.layers.Conv3D if conv_ndims == 3 else keras.layers.Conv2D
        prefix = "conv3d" if conv_ndims == 3 else "conv2d"

        def conv(index: int, channels: int, kernel):
            name = prefix if index == 0 else f"{prefix}_{index}"
            return conv_cls(channels, kernel, padding="same", name=name)

        c = self.filters
        one = (1,) * conv_ndims
        self.conv_hidden = conv(0, 4 * c, kernel_size)
        self.conv_inputs = conv(1, 7 * c, kernel_size)
        self.conv_memory = conv(2, 4 * c, kernel_size)
        self.conv_cell_out = conv(3, c, kernel_size)
        self.conv_memory_out = conv(4, c, kernel_size)
        self.conv_output = conv(5, c, one)
        if self.layer_norm:
            self.norm_hidden = JointLayerNorm(name="hidden")
            self.norm_inputs = JointLayerNorm(name="inputs")
            self.norm_memory = JointLayerNorm(name="global_memory")
        self.norm_cell = JointLayerNorm(name="self_attn" if self.eidetic_attention else "new_cell")

    def build(self, inputs_shape, hidden_shape=None, cell_shape=None, memory_shape=None,
              cell_history_shape=None):
        """Creates the variables in the original order; shapes of ``hidden``/``memory`` default sensibly.

        ``inputs_shape`` is ``[B, K, w, w, C_in]`` (3-D) or ``[B, K, w*w, C_in]`` (2-D); ``memory_shape`` gives
        the memory width (the last layer's width in the E3D stacks).
        """
        inputs_shape = tuple(inputs_shape)
        state_shape = inputs_shape[:-1] + (self.filters,)
        hidden_shape = tuple(hidden_shape) if hidden_shape is not None else state_shape
        memory_shape = tuple(memory_shape) if memory_shape is not None else state_shape
        if len(inputs_shape) != self.conv_ndims + 2:
            raise ValueError(f"EideticLSTMCell {self.name}: a {self.conv_ndims}-D cell needs "
                             f"{self.conv_ndims + 2}-D inputs; got shape {inputs_shape}")
        gates4 = state_shape[:-1] + (4 * self.filters,)
        gates7 = state_shape[:-1] + (7 * self.filters,)
        self.conv_hidden.build(hidden_shape)
        if self.layer_norm:
            self.norm_hidden.build(gates4)
        self.conv_inputs.build(inputs_shape)
        if self.layer_norm:
            self.norm_inputs.build(gates7)
        self.norm_cell.build(state_shape)
        self.conv_memory.build(memory_shape)
        if self.layer_norm:
            self.norm_memory.build(gates4)
        self.conv_cell_out.build(state_shape)
        self.conv_memory_out.build(state_shape)
        self.conv_output.build(state_shape[:-1] + (2 * self.filters,))
        self.built = True

    def call(self, inputs, hidden, cell, memory, cell_history=None):
        gates_h = self.conv_hidden(hidden)
        if self.layer_norm:
            gates_h = self.norm_hidden(gates_h)
        i_h, g_h, r_h, o_h = tf.split(gates_h, 4, axis=-1)

        gates_x = self.conv_inputs(inputs)
        if self.layer_norm:
            gates_x = self.norm_inputs(gates_x)
        i_x, g_x, r_x, o_x, ti_x, tg_x, tf_x = tf.split(gates_x, 7, axis=-1)

        i = tf.sigmoid(i_x + i_h)
        r = tf.sigmoid(r_x + r_h)
        g = tf.tanh(g_x + g_h)
        if self.eidetic_attention:
            if cell_history is None:
                raise ValueError(f"EideticLSTMCell {self.name}: the eidetic attention needs cell_history")
            new_cell = self.norm_cell(cell + eidetic_attention(r, cell_history)) + i * g
        else:
            new_cell = self.norm_cell(cell) + i * g

        gates_m = self.conv_memory(memory)
        if self.layer_norm:
            gates_m = self.norm_memory(gates_m)
        i_m, f_m, g_m, m_m = tf.split(gates_m, 4, axis=-1)

        ti = tf.sigmoid(ti_x + i_m)
        tf_gate = tf.sigmoid(tf_x + f_m + self.forget_bias)
        tg = tf.tanh(tg_x + g_m)
        new_memory = tf_gate * tf.tanh(m_m) + ti * tg

        # sigmoid of a tanh, as in the original.
        output_gate = tf.tanh(o_x + o_h + self.conv_cell_out(new_cell) + self.conv_memory_out(new_memory))
        merged = self.conv_output(tf.concat([new_cell, new_memory], axis=-1))
        new_hidden = tf.tanh(merged) * tf.sigmoid(output_gate)
        return new_hidden, new_cell, (new_memory if self.return_new_memory else memory)

    def original_variables(self) -> dict:
        """Original TF1 name relative to the layer's scope (``conv3d_1/kernel``, ``hidden/gamma``...) -> variable, in
        the original's creation order."""
        table = {}
        convs_before_norm = [(self.conv_hidden, "norm_hidden"), (self.conv_inputs, "norm_inputs")]
        for conv, norm_attr in convs_before_norm:
            table[f"{conv.name}/kernel"] = conv.kernel
            table[f"{conv.name}/bias"] = conv.bias
            if self.layer_norm:
                norm = getattr(self, norm_attr)
                table[f"{norm.name}/gamma"] = norm.gamma
                table[f"{norm.name}/beta"] = norm.beta
        table[f"{self.norm_cell.name}/gamma"] = self.norm_cell.gamma
        table[f"{self.norm_cell.name}/beta"] = self.norm_cell.beta
        table[f"{self.conv_memory.name}/kernel"] = self.conv_memory.kernel
        table[f"{self.conv_memory.name}/bias"] = self.conv_memory.bias
        if self.layer_norm:
            table[f"{self.norm_memory.name}/gamma"] = self.norm_memory.gamma
            table[f"{self.norm_memory.name}/beta"] = self.norm_memory.beta
        for conv in (self.conv_cell_out, self.conv_memory_out, self.conv_output):
            table[f"{conv.name}/kernel"] = conv.kernel
            table[f"{conv.name}/bias"] = conv.bias
        return table

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, conv_ndims=self.conv_ndims,
                      eidetic_attention=self.eidetic_attention, layer_norm=self.layer_norm,
                      forget_bias=self.forget_bias, return_new_memory=self.return_new_memory)
        return config


__all__ = ["JointLayerNorm", "EideticLSTMCell", "eidetic_attention", "LAYER_NORM_EPSILON",
           "FORGET_BIAS"]
