"""The deterministic pose LSTM of Villegas et al. 2017 (original ``lstm_src/det_lstm.py``, class ``DET_LSTM``).

Per step the pose vector is ``[x_0..x_{L-1}, y_0..y_{L-1}]`` in [-1, 1] and the mask holds one visibility per joint:

* ``masked = concat([mask, mask], -1) * seq``;
* the ``seen_step`` observed steps go through ``relu(masked_t @ lm_enc/Matrix + lm_enc/bias)`` (32 wide) into a
  stack of TF1 ``BasicLSTMCell`` s (gates i, j, f, o; forget bias 1.0 added at run time), from a zero state;
* each of the ``fut_step`` future steps feeds the same stack a zero input (no prediction is fed back) and decodes
  the top cell's output with ``tanh(h @ GEN/G_LSTM/dec_fc2/Matrix + bias)``;
* the output is ``[masked_0 .. masked_{seen-1}, y_1 .. y_fut]``: the observed steps are the masked inputs, copied.

``keep_prob < 1`` drops out every cell's input (the original's ``DropoutWrapper(input_keep_prob)``) at training and
at test time alike, with a fresh mask per step. ``fut_step`` is a call argument (32 in training, 64 or 128 at test
time); the weights do not depend on it.

The variables keep the original's TF1 names and layouts (``original_variables``): ``lm_enc/*`` at the root scope,
``GEN/G_LSTM/rnn/multi_rnn_cell/cell_<k>/basic_lstm_cell/{kernel,bias}`` and ``GEN/G_LSTM/dec_fc2/*``.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Mapping, Optional

import keras
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.layers.tf1_cells import TF1LSTMCell

ENCODER_WIDTH = 32  # the width of lm_enc, hard-coded in the original
LINEAR_STDDEV = 0.02  # ops.linear's random-normal initialiser
CELL_SCOPE = "GEN/G_LSTM/rnn/multi_rnn_cell/cell_{index}/"
DECODER_SCOPE = "GEN/G_LSTM/dec_fc2/"


@dataclasses.dataclass(frozen=True)
class PoseLSTMConfig:
    """The original's flags (``train_det_rnn_*.py``) with its defaults; ``lm_size`` is the number of joints L."""

    lm_size: int = 13
    num_layer: int = 1
    lstm_units: int = 1024
    seen_step: int = 10
    fut_step: int = 32
    keep_prob: float = 1.0

    def __post_init__(self):
        for name in ("lm_size", "num_layer", "lstm_units", "seen_step"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"--{name} must be a positive integer; got {getattr(self, name)}")
        if int(self.fut_step) < 0:
            raise InputError(f"--fut_step must be >= 0; got {self.fut_step}")
        if not 0.0 < float(self.keep_prob) <= 1.0:
            raise InputError(f"--keep_prob must be in (0, 1]; got {self.keep_prob}")

    @property
    def input_size(self) -> int:
        """Width of one pose vector: the x's, then the y's."""
        return 2 * self.lm_size

    @property
    def seq_len(self) -> int:
        """Steps of a training sequence (seen + future)."""
        return self.seen_step + self.fut_step

    @classmethod
    def penn(cls, **overrides) -> "PoseLSTMConfig":
        """Penn Action: 13 joints (input 26)."""
        return cls(**{"lm_size": 13, **overrides})

    @classmethod
    def h36m(cls, **overrides) -> "PoseLSTMConfig":
        """Human3.6M: 32 joints (input 64)."""
        return cls(**{"lm_size": 32, **overrides})


PRESETS = {"penn": PoseLSTMConfig.penn, "h36m": PoseLSTMConfig.h36m}


class PoseLSTM(keras.Model):
    """``model({"seq": [B, T, 2L], "mask": [B, T, L]}, fut_step=None, seed=None) -> [B, seen + fut, 2L]``.

    Only the first ``seen_step`` steps of the inputs are read, so a training sequence (T = seen + fut) and a test
    input (T = seen) both work. ``fut_step`` defaults to the config's. ``seed`` (int32 ``[2]``, stateless) draws
    the dropout masks when ``keep_prob < 1``; without it the model's own seed generator does.
    """

    def __init__(self, config: PoseLSTMConfig = PoseLSTMConfig(), name: str = "det_lstm", **kwargs):
        super().__init__(name=name, **kwargs)
        self.config = config
        normal = keras.initializers.RandomNormal(stddev=LINEAR_STDDEV)
        self.enc_matrix = self.add_weight(name="lm_enc_Matrix", shape=(config.input_size, ENCODER_WIDTH),
                                          initializer=normal)
        self.enc_bias = self.add_weight(name="lm_enc_bias", shape=(ENCODER_WIDTH,), initializer="zeros")
        self.cells: List[TF1LSTMCell] = []
        input_dim = ENCODER_WIDTH
        for index in range(config.num_layer):
            cell = TF1LSTMCell(config.lstm_units, forget_bias=1.0, name=f"cell_{index}")
            cell.build(input_dim)
            self.cells.append(cell)
            input_dim = config.lstm_units
        self.dec_matrix = self.add_weight(name="dec_fc2_Matrix", shape=(config.lstm_units, config.input_size),
                                          initializer=normal)
        self.dec_bias = self.add_weight(name="dec_fc2_bias", shape=(config.input_size,), initializer="zeros")
        self.dropout_seeds = keras.random.SeedGenerator(0) if config.keep_prob < 1.0 else None
        # The shapes follow from the config alone: every variable exists now, before any forward pass.
        self.built = True
        self._compiled_unrolls: Dict[int, tf.types.experimental.GenericFunction] = {}

    def original_variables(self) -> Dict[str, keras.Variable]:
        """``{original TF1 name: variable}`` in the original's creation order (its ``tf.trainable_variables()``)."""
        names = {"lm_enc/Matrix": self.enc_matrix, "lm_enc/bias": self.enc_bias}
        for index, cell in enumerate(self.cells):
            for name, variable in cell.tf1_variables():
                names[CELL_SCOPE.format(index=index) + name] = variable
        names[DECODER_SCOPE + "Matrix"] = self.dec_matrix
        names[DECODER_SCOPE + "bias"] = self.dec_bias
        return names

    # ------------------------------------------------------------------------------------------- forward
    def call(self, inputs: Mapping[str, tf.Tensor], fut_step: Optional[int] = None, training: bool = False,
             seed: Optional[tf.Tensor] = None) -> tf.Tensor:
        del training  # dropout runs whenever keep_prob < 1, at test time too, as in the original
        config = self.config
        fut_step = config.fut_step if fut_step is None else int(fut_step)
        if fut_step < 0:
            raise InputError(f"fut_step must be >= 0; got {fut_step}")
        seq = tf.convert_to_tensor(inputs["seq"], tf.float32)
        mask = tf.convert_to_tensor(inputs["mask"], tf.float32)
        self._check_inputs(seq, mask)
        seen = config.seen_step
        seq, mask = seq[:, :seen], mask[:, :seen]
        if tf.executing_eagerly():
            # One traced unroll per future length, instead of the per-step Python overhead of eager execution.
            if fut_step not in self._compiled_unrolls:
                self._compiled_unrolls[fut_step] = tf.function(lambda s, m, d: self._unroll(s, m, fut_step, d),
                                                               reduce_retracing=True)
            return self._compiled_unrolls[fut_step](seq, mask, seed)
        return self._unroll(seq, mask, fut_step, seed)

    def _check_inputs(self, seq: tf.Tensor, mask: tf.Tensor) -> None:
        config = self.config
        if seq.shape.rank != 3 or (seq.shape[-1] is not None and seq.shape[-1] != config.input_size):
            raise InputError(f"seq must be [B, T, {config.input_size}] (x's then y's of {config.lm_size} joints); "
                             f"got shape {tuple(seq.shape)}")
        if mask.shape.rank != 3 or (mask.shape[-1] is not None and mask.shape[-1] != config.lm_size):
            raise InputError(f"mask must be [B, T, {config.lm_size}]; got shape {tuple(mask.shape)}")
        for name, tensor in (("seq", seq), ("mask", mask)):
            if tensor.shape[1] is not None and tensor.shape[1] < config.seen_step:
                raise InputError(f"{name} has {tensor.shape[1]} steps; the model reads seen_step="
                                 f"{config.seen_step} observed steps")

    def _dropout(self, inputs: tf.Tensor, draw: int, seed: Optional[tf.Tensor]) -> tf.Tensor:
        keep_prob = self.config.keep_prob
        if keep_prob >= 1.0:
            return inputs
        rate = 1.0 - keep_prob
        if seed is None:
            return keras.random.dropout(inputs, rate, seed=self.dropout_seeds)
        draw_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), draw)
        return tf.nn.experimental.stateless_dropout(inputs, rate, seed=draw_seed)

    def _step(self, inputs: tf.Tensor, states: list, step: int, seed: Optional[tf.Tensor]):
        """One step of the cell stack (MultiRNNCell of DropoutWrapper'd cells): the top output and the new states."""
        new_states = []
        for index, (cell, state) in enumerate(zip(self.cells, states)):
            inputs = self._dropout(inputs, step * len(self.cells) + index, seed)
            inputs, state = cell.call(inputs, state)
            new_states.append(state)
        return inputs, new_states

    def _unroll(self, seq: tf.Tensor, mask: tf.Tensor, fut_step: int, seed: Optional[tf.Tensor]) -> tf.Tensor:
        config = self.config
        masked = tf.concat([mask, mask], axis=-1) * seq
        batch_size = tf.shape(seq)[0]
        states = [cell.zero_state(batch_size) for cell in self.cells]
        outputs = [masked[:, t] for t in range(config.seen_step)]
        top = None
        for t in range(config.seen_step):
            encoded = tf.nn.relu(tf.matmul(masked[:, t], self.enc_matrix) + self.enc_bias)
            top, states = self._step(encoded, states, t, seed)
        empty = tf.zeros([batch_size, ENCODER_WIDTH], seq.dtype)
        for t in range(fut_step):
            top, states = self._step(empty, states, config.seen_step + t, seed)
            outputs.append(tf.tanh(tf.matmul(top, self.dec_matrix) + self.dec_bias))
        return tf.stack(outputs, axis=1)

    def get_config(self):
        return {"name": self.name, **dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        name = config.pop("name", "det_lstm")
        return cls(PoseLSTMConfig(**config), name=name)


def parameter_count(model: PoseLSTM) -> int:
    """Number of trainable values (Penn defaults: 4,356,986; H3.6M: 4,397,152)."""
    return int(sum(int(v.numpy().size) for v in model.original_variables().values()))
