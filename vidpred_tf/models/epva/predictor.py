"""Predictor ``timestep/predict``: dense, optional noise_dense, 21 residual peephole/projection LSTM cells."""
import keras
import tensorflow as tf

from vidpred_tf.layers.normalization import LayerNorm
from vidpred_tf.layers.tf1_cells import PeepholeProjectionLSTMCell
from vidpred_tf.models.epva.blocks import TF1Block, truncated

PRED_DEPTH = 20
NOISE_SIZE = 100
BACK_CONNECT_CELL = PRED_DEPTH - 2
NUM_STATES = PRED_DEPTH + 2


def _cell_scope(k):
    return 'LSTMCell' if k == 0 else f'LSTMCell_{k}'


def _norm_scope(k):
    return 'LayerNorm' if k == 0 else f'LayerNorm_{k}'


class Predictor(TF1Block):
    def __init__(self, config, **kwargs):
        super().__init__('timestep/predict', **kwargs)
        self.config = config
        size = config.state_size
        init = truncated(0.01)
        self.kernel = self.var('dense/kernel', [size, size], init)
        self.bias = self.var('dense/bias', [size], 'zeros')
        self.noise_kernel = self.noise_bias = None
        if config.pred_noise_std > 0:
            self.noise_kernel = self.var('noise_dense/kernel', [NOISE_SIZE, size], init)
            self.noise_bias = self.var('noise_dense/bias', [size], 'zeros')
        if config.use_legacy_vars:
            self.back_connect_init = self.var('Variable', [2 * size], keras.initializers.RandomNormal(stddev=0.01))
        else:
            self.back_connect_init = self.var('back_connect_init', [2 * size], init)
        self.cells, self.norms = [], []

        def cell(k, input_dim):
            layer = PeepholeProjectionLSTMCell(size, size, initializer=init, scope=_cell_scope(k))
            layer.build(input_dim)
            self.cells.append(self.adopt('', layer))

        def norm():
            layer = LayerNorm(scope=_norm_scope(len(self.norms)))
            layer.build((None, size))
            self.norms.append(self.adopt('', layer))

        cell(0, 3 * size)
        norm()
        for k in range(1, PRED_DEPTH, 2):
            cell(k, size)
            cell(k + 1, 2 * size)
            norm()
        self.out_kernel = self.var('dense_1/kernel', [size, config.enc_size], init)
        self.out_bias = self.var('dense_1/bias', [config.enc_size], 'zeros')

    def step(self, code, action, states, noise_std_normal, seeds):
        """One predictor call; ``states`` (list of NUM_STATES, None = zero) is updated in place."""
        config = self.config
        pre = tf.matmul(tf.concat([code, action], 1), self.kernel) + self.bias
        if self.noise_kernel is not None:
            if noise_std_normal is None:
                seed = seeds.next()
                shape = [tf.shape(code)[0], NOISE_SIZE]
                noise_std_normal = (tf.random.normal(shape) if seed is None
                                    else tf.random.stateless_normal(shape, seed))
            pre += tf.matmul(noise_std_normal * config.pred_noise_std, self.noise_kernel) + self.noise_bias
        pre = tf.nn.relu(pre)
        back = states[BACK_CONNECT_CELL]
        if back is None:
            back = tf.tile(self.back_connect_init[None], [tf.shape(code)[0], 1])
        part, states[0] = self.cells[0](tf.concat([pre, back], 1), states[0])
        h = self.norms[0](part)
        for k in range(1, PRED_DEPTH, 2):
            part, states[k] = self.cells[k](h, states[k])
            h = h + part
            part, states[k + 1] = self.cells[k + 1](tf.concat([h, pre], 1), states[k + 1])
            h = h + self.norms[(k + 1) // 2](part)
        out = tf.matmul(h, self.out_kernel) + self.out_bias
        if config.enc_pred_use_l2norm:
            out = tf.math.l2_normalize(out, axis=1)
        if config.lstm_state_noise_stddev > 0:
            for i, state in enumerate(states):
                if state is None:
                    break
                _, variance = tf.nn.moments(state, axes=[1])
                std = config.lstm_state_noise_stddev * tf.reduce_mean(tf.sqrt(variance))
                seed = seeds.next()
                unit = (tf.random.truncated_normal(tf.shape(state)) if seed is None
                        else tf.random.stateless_truncated_normal(tf.shape(state), seed))
                states[i] = state + unit * std
        return out
