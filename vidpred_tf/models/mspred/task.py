"""MSPred training as a ``Task`` of the shared trainer (02_train.py's ``Trainer`` minus its loop and its files;
the 02_train.py workflow around it is :mod:`vidpred_tf.papers.mspred.training`).

Loss (spec 5, the terms of ``losses.py``): ``sum_h alphas[h] * Rec_h(preds[h], targets[h][:, target_mask_h])
+ beta * KL`` with targets [frames, heatmap_1, heatmap_2]; models without auxiliary outputs (the SVG baselines, or
aux_outputs False) use ``Rec_0(preds[0], frames[:, mask_0]) + beta * KL``. Beta is a variable set per epoch by the
caller (the BetaScheduler), the teacher-forcing switch a Python flag (``set_teacher_force``; the trainer must
retrace when it changes). Every random draw of the model comes from the trainer's stateless per-step seed. The
optimisers follow PyTorch's update rules (``TorchAdam``/``TorchSGD``), as the original's torch.optim ones.
The step functions are traced without AutoGraph: the model is unrolled in Python over static structure.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.data.batch import IMAGES
from vidpred_tf.models.mspred.build import build_model
from vidpred_tf.models.mspred.losses import RECONSTRUCTION_LOSSES, kl_loss, reconstruction_loss
from vidpred_tf.models.mspred.params import model_num_preds, uses_aux_outputs
from vidpred_tf.training.optimizers import TorchAdam, TorchSGD
from vidpred_tf.training.task import OptimizerSpec, Task

LOSS_NAMES = RECONSTRUCTION_LOSSES
# lib/setup_model.setup_optimizer: SGD (anything but adam/adamw) always has weight decay 5e-4.
SGD_WEIGHT_DECAY = 5e-4
# torch.optim.AdamW's default weight decay.
ADAMW_WEIGHT_DECAY = 1e-2
# The name under which MSPredTask.checkpoint_objects saves its host-side state (JSON: epoch, scheduler state).
STATE_OBJECT = "state"


def make_mspred_optimizer(training_params: Mapping, learning_rate: float) -> keras.optimizers.Optimizer:
    """lib/setup_model.setup_optimizer with PyTorch's update rules (``training.optimizer``): ``adam``
    (torch.optim.Adam defaults: betas 0.9/0.999, eps 1e-8, no weight decay), ``adamw`` (torch.optim.AdamW
    defaults: decoupled weight decay 1e-2), anything else SGD(momentum, nesterov) with L2 weight decay 5e-4
    (torch.optim.SGD adds it to the gradient).
    """
    kind = training_params.get("optimizer", "adam")
    if kind == "adam":
        return TorchAdam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    if kind == "adamw":
        return TorchAdam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=ADAMW_WEIGHT_DECAY,
                         name="torch_adamw")
    return TorchSGD(learning_rate, momentum=float(training_params.get("momentum", 0)),
                    nesterov=bool(training_params.get("nesterov", False)), weight_decay=SGD_WEIGHT_DECAY)


class MSPredTask(Task):
    """Every model type of ``setup_model`` (hierarchical ConvLSTM/linear, SVG baselines, CopyLast excluded as it
    has no weights). ``exp_params`` must already hold ``model.HierarchLSTM.n_hmap_channels`` when the model has
    auxiliary outputs; ``model_factory(exp_params)`` defaults to ``build.setup_model``; ``class_weights`` is the
    (num_classes, C) table of weighted_kpoint_loss (``kth_keypoints.heatmap_weights``)."""

    name = "mspred"

    def __init__(self, exp_params: Mapping, model_factory=None, class_weights: Optional[np.ndarray] = None):
        self.exp_params = exp_params
        model_params = exp_params["model"]
        self.model_type = model_params["model_type"]
        self.aux_outputs = uses_aux_outputs(exp_params)
        self.context = int(exp_params["training"]["context"])
        self.num_preds = model_num_preds(exp_params)
        self.loss_names = list(exp_params["loss"]["reconst_losses"])
        self.alphas = [float(a) for a in exp_params["loss"]["alphas"]]
        for name in self.loss_names:
            if name not in LOSS_NAMES:
                raise ValueError(f"loss.reconst_losses: unknown loss {name!r}; use one of {list(LOSS_NAMES)}")
        levels = len(self.loss_names) if self.aux_outputs else 1
        if self.aux_outputs and len(self.alphas) < levels:
            raise ValueError(f"loss.alphas {self.alphas} needs one weight per level ({levels})")
        if "weighted_kpoint_loss" in self.loss_names[:levels] and class_weights is None:
            raise ValueError("loss.reconst_losses uses weighted_kpoint_loss, which needs the KTH class weights")
        self.class_weights = None if class_weights is None else np.asarray(class_weights, np.float32)
        self.model_factory = model_factory
        self.teacher_force = False
        # With LAST_PRED_FEATS the model feeds its own features back whatever the switch says, so the switch has
        # no effect: keep it fixed so that the step is not traced again when it flips after the teacher-forced
        # epochs.
        self.teacher_force_matters = model_params.get("autoreg_mode") == "LAST_PRED_FRAME"
        self.beta: Optional[tf.Variable] = None
        self.initial_beta = float(exp_params["loss"]["beta0"])
        # Host-side training state saved with every checkpoint: the scheduler's state and the epoch, as JSON.
        self.state = tf.Variable("{}", dtype=tf.string, trainable=False, name="mspred_state")

    # ---------------------------------------------------------------------------------------------- setup
    def build_model(self) -> keras.Model:
        model = build_model(dict(self.exp_params), self.model_factory, training=True)
        self.beta = tf.Variable(self.initial_beta, dtype=tf.float32, trainable=False, name="kl_beta")
        return model

    def build_optimizers(self, model):
        optimizer = make_mspred_optimizer(self.exp_params["training"], float(self.exp_params["training"]["lr"]))
        return [OptimizerSpec("model", optimizer, lambda: model.trainable_variables, "loss")]

    def checkpoint_objects(self):
        return {STATE_OBJECT: self.state}

    def set_teacher_force(self, value: bool) -> bool:
        """Set the switch; returns True when it changed (then the trainer's step functions must be retraced)."""
        if not self.teacher_force_matters:
            return False
        changed = bool(value) != self.teacher_force
        self.teacher_force = bool(value)
        return changed

    # --------------------------------------------------------------------------------------------- losses
    def _forward(self, model, batch, seed, training: bool):
        return model(batch[IMAGES], context=self.context, num_preds=self.num_preds,
                     teacher_force=self.teacher_force if training else False, training=training, seed=seed)

    def losses_of(self, out: Mapping, batch: Mapping[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """``loss`` (the total), ``kl`` and ``level_<h>`` (the reconstruction term of each level)."""
        targets = [batch[IMAGES], batch.get("heatmap_1"), batch.get("heatmap_2")]
        if not out.get("mu_post"):
            kl = tf.constant(0.0)
        else:
            kl = tf.cast(kl_loss(out["mu_post"], out["logvar_post"], out["mu_prior"], out["logvar_prior"]),
                         tf.float32)
        class_ids = tf.maximum(batch["class_id"], 0) if "class_id" in batch else None
        levels = sorted(out["preds"]) if self.aux_outputs else [0]
        losses: Dict[str, tf.Tensor] = {}
        total = tf.constant(0.0)
        for level in levels:
            indices = np.flatnonzero(np.asarray(out["target_masks"][level]))
            target = tf.gather(targets[level], indices, axis=1)
            # Class weights of the CE loss are never used: the original gates them on the dataset name "Synpick",
            # which no experiment has (it is "synpick").
            rec = reconstruction_loss(self.loss_names[level], out["preds"][level], target, class_ids,
                                      self.class_weights)
            losses[f"level_{level}"] = rec
            total += (self.alphas[level] * rec) if self.aux_outputs else rec
        beta = self.beta if self.beta is not None else tf.constant(self.initial_beta)
        losses["kl"] = kl
        losses["loss"] = total + tf.cast(beta, tf.float32) * kl
        return losses

    def train_losses(self, model, batch, step, seed):
        return self.losses_of(self._forward(model, batch, seed, training=True), batch)

    def eval_outputs(self, model, batch, seed):
        """Validation (model.eval(): prior latents from context-1): the losses and each level's predictions
        (``pred_<h>``) with the frame indices they target (``target_frames_<h>``)."""
        out = self._forward(model, batch, seed, training=False)
        result = dict(self.losses_of(out, batch))
        for level, preds in out["preds"].items():
            result[f"pred_{level}"] = preds
            result[f"target_frames_{level}"] = tf.constant(np.flatnonzero(np.asarray(out["target_masks"][level])),
                                                           tf.int32)
        return result

    def predict(self, model, batch, seed):
        return self._forward(model, batch, seed, training=False)["preds"][0]
