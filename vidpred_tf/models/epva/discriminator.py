"""Sequence discriminator ``Discriminator/`` of epva_gan: per step conv summaries of the VAN features + 4 LSTMs."""
import tensorflow as tf

from vidpred_tf.layers.normalization import LayerNorm
from vidpred_tf.layers.tf1_cells import PeepholeProjectionLSTMCell
from vidpred_tf.models.epva.blocks import GLOROT, TF1Block, conv


class Discriminator(TF1Block):
    def __init__(self, config, **kwargs):
        super().__init__('Discriminator', **kwargs)
        self.config = config
        f, e = config.van_first_depth, config.enc_size
        self.depth = f

        def conv_vars(name, cin, cout):
            return (self.var(f'timestep/{name}/kernel', [3, 3, cin, cout], GLOROT),
                    self.var(f'timestep/{name}/bias', [cout], 'zeros'))

        norms = []

        def norm(channels):
            layer = LayerNorm(scope='timestep/LayerNorm' + (f'_{len(norms)}' if norms else ''))
            layer.build((None, channels))
            norms.append(self.adopt('', layer))
            return layer

        self.c0 = conv_vars('conv2d', 2 * f, f)
        self.c1 = conv_vars('conv2d_1', f, f)
        self.n0 = norm(f)
        self.c2 = conv_vars('conv2d_2', 4 * f, 2 * f)
        self.c3 = conv_vars('conv2d_3', 2 * f, f)
        self.n1 = norm(f)
        self.cells, self.cell_norms = [], []
        input_dim = 2 * e + 8 * f
        for k, units in enumerate((4 * e, 4 * e, 2 * e, e)):
            cell = PeepholeProjectionLSTMCell(units, units, initializer=GLOROT,
                                              scope='timestep/LSTMCell' + (f'_{k}' if k else ''))
            cell.build(input_dim)
            self.cells.append(self.adopt('', cell))
            self.cell_norms.append(norm(units))
            input_dim = units
        self.out_kernel = self.var('dense/kernel', [e, 1], GLOROT)
        self.out_bias = self.var('dense/bias', [1], 'zeros')

    def step(self, x, previous, states):
        f, e = self.depth, self.config.enc_size
        code, hl2, hl4 = tf.split(x, [e, 64 * 2 * f, 64 * 4 * f], 1)
        hl2 = self.n0(conv(conv(tf.reshape(hl2, [-1, 8, 8, 2 * f]), *self.c0, stride=2), *self.c1, stride=2))
        hl4 = self.n1(conv(conv(tf.reshape(hl4, [-1, 8, 8, 4 * f]), *self.c2, stride=2), *self.c3, stride=2))
        result = tf.concat([code, tf.reshape(hl2, [-1, 4 * f]), tf.reshape(hl4, [-1, 4 * f]), previous], 1)
        for k, (cell, norm) in enumerate(zip(self.cells, self.cell_norms)):
            result, states[k] = cell(result, states[k])
            result = norm(result)
        return result

    def discriminate(self, sequences):
        """sequences [B, T, E + 8*8*6F] -> logits [B, 1]."""
        previous = tf.zeros([tf.shape(sequences)[0], self.config.enc_size])
        states = [None] * len(self.cells)
        for t in range(sequences.shape[1]):
            previous = self.step(sequences[:, t], previous, states)
        return tf.matmul(previous, self.out_kernel) + self.out_bias
