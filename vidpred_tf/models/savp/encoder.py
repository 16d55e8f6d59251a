"""SAVP's z encoders: ``networks.encoder`` and the posterior / learned-prior heads of ``savp_model.py``.

``ImageEncoder`` (``networks.encoder``): ``layer_1`` zero-pad 1, 4x4 stride-2 VALID conv to ``nef``, lrelu 0.2;
``layer_i`` (i = 2..n_layers) the same to ``nef * min(2**(i-1), 4)`` with a norm before the lrelu; a global average
pool. ``ZEncoder`` = the image encoder over a flat ``[T' * B]`` batch of image pairs (with actions tiled on), an
optional ``layer_{n+1}`` dense + TF1 LSTM / GRU unroll (``use_e_rnn``, and always for the learned prior, whose time
axis is zero-padded past the context), and the ``z_mu`` / ``z_log_sigma_sq`` dense heads (log sigma^2 clipped to
[-10, 10]).
"""

from __future__ import annotations

from typing import List, Tuple

import keras
import tensorflow as tf

from vidpred_tf.layers.normalization import norm_layer
from vidpred_tf.layers.resampling import Conv2D, Dense
from vidpred_tf.layers.tf1_cells import TF1GRUCell, TF1LSTMCell

PAIR_PADDING = [[0, 0], [1, 1], [1, 1], [0, 0]]


def lrelu(x, alpha):
    return tf.maximum(alpha * x, x)


def tile_concat(spatial, vector):
    """Concatenate ``vector [B, D]`` (broadcast over H, W) after the channels of ``spatial [B, H, W, C]``."""
    shape = tf.shape(spatial)
    tiled = tf.tile(vector[:, None, None, :], tf.stack([1, shape[1], shape[2], 1]))
    return tf.concat([spatial, tiled], axis=-1)


class ImageEncoder(keras.layers.Layer):
    """``networks.encoder``: ``[N, H, W, C] -> [N, nef * min(2**(n_layers-1), 4)]``."""

    def __init__(self, input_shape, nef=64, n_layers=3, norm="instance", **kwargs):
        super().__init__(**kwargs)
        height, width, channels = input_shape
        self.blocks: List[Tuple[str, Conv2D, keras.layers.Layer]] = []
        self.sublayers: List[keras.layers.Layer] = []  # tracked by Keras (the tuples above are not)
        for i in range(n_layers):
            out = nef * min(2 ** i, 4)
            conv = Conv2D(out, 4, strides=2, padding="VALID")
            conv.build((None, height + 2, width + 2, channels))
            norm_ = None
            height, width, channels = (height + 2 - 4) // 2 + 1, (width + 2 - 4) // 2 + 1, out
            if i > 0:
                norm_ = norm_layer(norm)
                norm_.build((None, height, width, channels))
            self.blocks.append((f"layer_{i + 1}", conv, norm_))
            self.sublayers.extend([conv] + ([norm_] if norm_ is not None else []))
        self.output_dim = channels
        self.built = True

    def tf1_variables(self):
        names = []
        for scope, conv, norm_ in self.blocks:
            names += [(f"{scope}/{n}", v) for n, v in conv.tf1_variables()]
            if norm_ is not None:
                names += [(f"{scope}/{n}", v) for n, v in norm_.tf1_variables()]
        return names

    def call(self, inputs):
        h = inputs
        for _, conv, norm_ in self.blocks:
            h = conv(tf.pad(h, PAIR_PADDING))
            if norm_ is not None:
                h = norm_(h)
            h = lrelu(h, 0.2)
        return tf.reduce_mean(h, axis=[1, 2])


class ZEncoder(keras.layers.Layer):
    """``posterior_fn`` (``prior=False``) or ``prior_fn`` (``prior=True``) of savp_model.py.

    ``call(images [T, B, H, W, C], actions [T-1, B, A] or None) -> {'zs_mu', 'zs_log_sigma_sq'}`` of
    ``[T-1, B, nz]``.
    """

    def __init__(self, hparams, image_shape, action_dim=0, prior=False, **kwargs):
        super().__init__(**kwargs)
        self.hp, self.prior = hparams, prior
        height, width, channels = image_shape
        self.image_encoder = ImageEncoder((height, width, 2 * channels + action_dim), nef=hparams.nef,
                                          n_layers=hparams.n_layers, norm=hparams.norm_layer)
        features = self.image_encoder.output_dim
        self.use_rnn = prior or hparams.use_e_rnn
        self.rnn_dense = self.rnn = None
        if self.use_rnn:
            self.rnn_dense = Dense(hparams.nef * 4)
            self.rnn_dense.build((None, features))
            if hparams.rnn == "lstm":
                self.rnn = TF1LSTMCell(hparams.nef * 4, scope="basic_lstm_cell")
            elif hparams.rnn == "gru":
                self.rnn = TF1GRUCell(hparams.nef * 4, scope="gru_cell")
            else:
                raise ValueError(f"rnn: unknown cell {hparams.rnn!r} (lstm, gru)")
            self.rnn.build(hparams.nef * 4)
            features = hparams.nef * 4
        self.z_mu = Dense(hparams.nz)
        self.z_mu.build((None, features))
        self.z_log_sigma_sq = Dense(hparams.nz)
        self.z_log_sigma_sq.build((None, features))
        self.built = True

    def tf1_variables(self):
        names = list(self.image_encoder.tf1_variables())
        if self.use_rnn:
            names += [(f"layer_{self.hp.n_layers + 1}/{n}", v) for n, v in self.rnn_dense.tf1_variables()]
            names += [(f"{self.hp.rnn}/rnn/{n}", v) for n, v in self.rnn.tf1_variables()]
        names += [(f"z_mu/{n}", v) for n, v in self.z_mu.tf1_variables()]
        names += [(f"z_log_sigma_sq/{n}", v) for n, v in self.z_log_sigma_sq.tf1_variables()]
        return names

    def call(self, images, actions=None):
        hp = self.hp
        if self.prior:
            pairs = tf.concat([images[:hp.context_frames - 1], images[1:hp.context_frames]], axis=-1)
        else:
            pairs = tf.concat([images[:-1], images[1:]], axis=-1)
        if actions is not None:
            pairs_flat = tf.reshape(pairs, tf.concat([[-1], tf.shape(pairs)[2:]], 0))
            acts = actions[:pairs.shape[0]]
            pairs_flat = tile_concat(pairs_flat, tf.reshape(acts, [-1, acts.shape[-1]]))
        else:
            pairs_flat = tf.reshape(pairs, tf.concat([[-1], tf.shape(pairs)[2:]], 0))
        steps, batch = pairs.shape[0], tf.shape(pairs)[1]
        h = self.image_encoder(pairs_flat)
        h = tf.reshape(h, tf.stack([steps, batch, h.shape[-1]]))
        if self.prior:
            pad = hp.sequence_length - hp.context_frames
            h = tf.concat([h, tf.zeros(tf.stack([pad, batch, h.shape[-1]]))], axis=0)
        if self.use_rnn:
            length = h.shape[0]
            h = tf.reshape(self.rnn_dense(tf.reshape(h, [-1, h.shape[-1]])), tf.stack([length, batch, -1]))
            state = self.rnn.zero_state(batch)
            outputs = []
            for t in range(length):
                out, state = self.rnn(h[t], state)
                outputs.append(out)
            h = tf.stack(outputs)
        flat = tf.reshape(h, [-1, h.shape[-1]])
        shape = tf.stack([h.shape[0], batch, self.hp.nz])
        mu = tf.reshape(self.z_mu(flat), shape)
        log_sigma_sq = tf.clip_by_value(tf.reshape(self.z_log_sigma_sq(flat), shape), -10.0, 10.0)
        return {"zs_mu": mu, "zs_log_sigma_sq": log_sigma_sq}

