"""The training task of the baseline models (ConvLSTM, ConvLSTM with DNA kernels): the next-frame squared or
absolute error over every predicted frame."""

from __future__ import annotations

import keras
from keras import ops

from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig, ConvLSTMPredictor
from vidpred_tf.models.baseline.dna import DNAConfig, DNAPredictor
from vidpred_tf.training.checkpoint import restore_model_weights
from vidpred_tf.training.task import OptimizerSpec, Task

# The baseline models by configuration type, with the Keras name their checkpoints carry.
MODELS = {ConvLSTMConfig: (ConvLSTMPredictor, "convlstm_predictor"), DNAConfig: (DNAPredictor, "dna_predictor")}


def build_baseline_model(config, num_frames: int) -> keras.Model:
    """The built baseline model of ``config`` (a :class:`ConvLSTMConfig` or :class:`DNAConfig`) for sequences of
    ``num_frames`` frames."""
    model_class, name = MODELS[type(config)]
    model = model_class(config, name=name)
    model.build((None, num_frames, config.image_size, config.image_size, config.channels))
    return model


LOSSES = ("l2", "l1")


class NextFrameTask(Task):
    """Adam on the error of all ``T-1`` next-frame predictions (context and future): ``loss="l2"`` the mean
    squared error, ``"l1"`` the mean absolute error (whose optimum is the median of what may come, not the mean:
    a model that moves pixels puts its kernel on one place instead of blurring over several)."""

    def __init__(self, config: ConvLSTMConfig | DNAConfig, num_frames: int, learning_rate: float = 1e-3,
                 clip_norm: float | None = None, optimizer: str = "adam", init_weights: str | None = None,
                 loss: str = "l2", teacher_forcing: bool = False):
        """``init_weights``: a ``.weights.h5`` file (a preset's) or a trainer checkpoint prefix loaded into the
        freshly built model; a resumed run restores its own checkpoint over it. ``teacher_forcing``: every
        prediction in training sees the real frames before it (one-step predictions,
        the model's own frames only at test time); otherwise training feeds back the predictions after
        ``context_frames``, as testing does.
        """
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
        self.config = config
        self.loss = loss
        self.teacher_forcing = teacher_forcing
        self.init_weights = init_weights
        self.num_frames = num_frames
        self.learning_rate = learning_rate
        self.clip_norm = clip_norm
        self.optimizer = optimizer
        self.name = {ConvLSTMConfig: "convlstm_baseline", DNAConfig: "dna_baseline"}[type(config)]

    def build_model(self) -> keras.Model:
        model = build_baseline_model(self.config, self.num_frames)
        if self.init_weights and self.init_weights.endswith(".weights.h5"):
            model.load_weights(self.init_weights)
        elif self.init_weights:
            restore_model_weights(model, self.init_weights)
        return model

    def build_optimizers(self, model):
        if self.optimizer == "sgd":
            optimizer = keras.optimizers.SGD(self.learning_rate)
        else:
            optimizer = keras.optimizers.Adam(self.learning_rate)
        return [OptimizerSpec("model", optimizer, lambda: model.trainable_variables, "loss",
                              clip_norm=self.clip_norm)]

    def train_losses(self, model, batch, step, seed):
        images = batch["images"]
        predictions = model(images, training=True,
                            ground_truth_frames=self.num_frames if self.teacher_forcing else None)
        error = predictions - images[:, 1:]
        squared = ops.square(error)
        context = self.config.context_frames
        losses = {"loss": ops.mean(squared if self.loss == "l2" else ops.abs(error)),
                  "future_mse": ops.mean(squared[:, context - 1:])}
        if self.loss == "l1":
            losses["future_mae"] = ops.mean(ops.abs(error[:, context - 1:]))
        return losses

    def predict(self, model, batch, seed):
        return model(batch["images"])[:, self.config.context_frames - 1:]

    def summary_videos(self, model, batch, seed):
        images = batch["images"]
        context = self.config.context_frames
        predicted = self.predict(model, batch, seed)
        shown = ops.concatenate([images[:, :context], predicted], axis=1)
        # Ground truth above, model below (context frames are ground truth in both rows).
        return {"truth_vs_prediction": ops.concatenate([images, shown], axis=2)}
