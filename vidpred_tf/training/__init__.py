"""The one trainer shared by every paper: Task protocol, loop, strategies, checkpoints, summaries."""

from vidpred_tf.training.checkpoint import CheckpointDamagedError
from vidpred_tf.training.optimizers import AdamEpsInsideSqrt, TorchAdam, TorchSGD, make_optimizer
from vidpred_tf.training.strategy import STRATEGIES, is_chief, make_strategy, worker_identity
from vidpred_tf.training.task import OptimizerSpec, Task
from vidpred_tf.training.trainer import (
                                         Evaluation,
                                         NonFiniteLossError,
                                         NonFiniteWeightsError,
                                         Trainer,
                                         TrainerConfig,
                                         TrainResult,
)

__all__ = [
    "AdamEpsInsideSqrt", "TorchAdam", "TorchSGD", "make_optimizer", "STRATEGIES", "is_chief", "make_strategy",
    "worker_identity", "OptimizerSpec", "Task", "NonFiniteLossError", "NonFiniteWeightsError", "Evaluation",
    "CheckpointDamagedError", "Trainer", "TrainerConfig", "TrainResult", "TRAINING_FAULTS",
]

# The errors with which a training run stops on a fault of its data, checkpoints or numbers: entry points report
# them in one line (``vidpred_tf.cli.one_line_errors``), not as a traceback.
TRAINING_FAULTS = (NonFiniteLossError, CheckpointDamagedError)
