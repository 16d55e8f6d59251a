"""The one trainer shared by every paper: Task protocol, loop, strategies, checkpoints, summaries."""

from vidpred_tf.training.optimizers import AdamEpsInsideSqrt, TorchAdam, TorchSGD, make_optimizer
from vidpred_tf.training.strategy import STRATEGIES, is_chief, make_strategy, worker_identity
from vidpred_tf.training.task import OptimizerSpec, Task
from vidpred_tf.training.trainer import NonFiniteLossError, Trainer, TrainerConfig, TrainResult

__all__ = [
    "AdamEpsInsideSqrt", "TorchAdam", "TorchSGD", "make_optimizer", "STRATEGIES", "is_chief", "make_strategy",
    "worker_identity", "OptimizerSpec", "Task", "NonFiniteLossError", "Trainer", "TrainerConfig", "TrainResult",
]
