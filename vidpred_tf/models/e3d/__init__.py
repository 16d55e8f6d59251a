"""E3D-LSTM study (kevinstan/video_prediction): Eidetic 3D LSTM, 2-D/3-D cells, residual add/concat, l1/l2 losses.

Pieces for the trainer's Task and the ``scripts/e3d`` entry point:

* ``E3DConfig`` (``config.py``): the five ``--model_name`` networks and the hand-edited knobs;
* ``E3DLSTM`` / ``build_model`` (``model.py``): patched frames + sampling mask -> all T-1 predictions;
* ``e3d_losses`` / ``logged_losses`` (``losses.py``): the original's un-normalised sum losses;
* ``reshape_patch`` / ``reshape_patch_back`` (``preprocess.py``);
* ``SamplingConfig`` / ``schedule_sampling`` / ``zero_mask`` (``sampling.py``): NumPy masks;
* ``evaluate`` / ``model_predict_fn`` (``evaluation.py``): the original's test protocol;
* ``E3DTask`` (``task.py``): all of it as a Task of the shared trainer (optimiser: the trainer's
  ``AdamEpsInsideSqrt``, the original's hand-written Adam with epsilon inside the square root).
"""

from vidpred_tf.models.e3d.config import L2_FORMS, MODEL_NAMES, RESIDUAL_MODES, E3DConfig
from vidpred_tf.papers.e3d.evaluation import EvaluationResult, evaluate, model_predict_fn
from vidpred_tf.models.e3d.losses import e3d_losses, logged_losses
from vidpred_tf.models.e3d.model import E3DLSTM, build_model, output_frames
from vidpred_tf.models.e3d.preprocess import reshape_patch, reshape_patch_back
from vidpred_tf.models.e3d.sampling import SamplingConfig, schedule_sampling, zero_mask
from vidpred_tf.models.e3d.task import E3DTask

__all__ = [
    "E3DConfig", "MODEL_NAMES", "RESIDUAL_MODES", "L2_FORMS", "E3DLSTM", "build_model", "output_frames",
    "e3d_losses", "logged_losses", "reshape_patch", "reshape_patch_back", "SamplingConfig", "schedule_sampling",
    "zero_mask", "evaluate", "EvaluationResult", "model_predict_fn", "E3DTask",
]
