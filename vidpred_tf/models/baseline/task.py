"""The training task of the ConvLSTM baseline: next-frame MSE over every predicted frame."""

from __future__ import annotations

import keras
from keras import ops

from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig, ConvLSTMPredictor
from vidpred_tf.training.task import OptimizerSpec, Task


class NextFrameTask(Task):
    """Adam on the mean squared error of all ``T-1`` next-frame predictions (context and future)."""

    name = "convlstm_baseline"

    def __init__(self, config: ConvLSTMConfig, num_frames: int, learning_rate: float = 1e-3,
                 clip_norm: float | None = None, optimizer: str = "adam"):
        self.config = config
        self.num_frames = num_frames
        self.learning_rate = learning_rate
        self.clip_norm = clip_norm
        self.optimizer = optimizer

    def build_model(self) -> keras.Model:
        model = ConvLSTMPredictor(self.config, name="convlstm_predictor")
        size, channels = self.config.image_size, self.config.channels
        model.build((None, self.num_frames, size, size, channels))
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
        predictions = model(images, training=True)
        squared = ops.square(predictions - images[:, 1:])
        context = self.config.context_frames
        return {"loss": ops.mean(squared), "future_mse": ops.mean(squared[:, context - 1:])}

    def predict(self, model, batch, seed):
        return model(batch["images"])[:, self.config.context_frames - 1:]

    def summary_videos(self, model, batch, seed):
        images = batch["images"]
        context = self.config.context_frames
        predicted = self.predict(model, batch, seed)
        shown = ops.concatenate([images[:, :context], predicted], axis=1)
        # Ground truth above, model below (context frames are ground truth in both rows).
        return {"truth_vs_prediction": ops.concatenate([images, shown], axis=2)}
