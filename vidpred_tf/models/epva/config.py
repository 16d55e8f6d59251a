"""EPVA hyper-parameters, named as the original ``prediction_train.py`` flags (with the original defaults)."""
import dataclasses
from typing import Mapping

from vidpred_tf.errors import InputError

MODES = ('individual', 'epva', 'epva_gan', 'e2epose_oneop', 'e2epose_sepop', 'e2e')


def _coerce(key, default, value):
    """Flag values may be strings (argv); bools accept true/false/1/0 like absl."""
    if isinstance(default, bool):
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered not in ('true', 'false', '1', '0'):
                raise InputError(f'flag --{key}: {value!r} is not a boolean')
            return lowered in ('true', '1')
        return bool(value)
    try:
        return type(default)(value)
    except (TypeError, ValueError):
        raise InputError(f'flag --{key}: {value!r} is not a {type(default).__name__}') from None


@dataclasses.dataclass
class EPVAConfig:
    model_mode: str = 'e2e'
    enc_size: int = 64
    pose_dim: int = 5
    joint_pos_dim: int = 7
    context_frames: int = 2
    enc_keep_prob: float = 1.0
    van_keep_prob: float = 1.0
    enc_noise_stddev: float = 0.0
    pred_noise_std: float = 0.0
    lstm_state_noise_stddev: float = 0.0
    enc_pred_use_l2norm: bool = False
    enc_pred_use_l1_loss: bool = False
    encoder_grey_in: bool = False
    use_legacy_vars: bool = False
    use_wgan: bool = True
    discrim_context: int = 1
    enc_pred_loss_scale: float = 1e-2
    enc_pred_loss_scale_delay: float = 0.0
    pose_weight: float = 1.0
    van_r_weight: float = 0.01
    # Port-only width knobs (the original hard-codes 64 and the slim VGG16 widths); the small goldens shrink them.
    van_first_depth: int = 64
    vgg_width_divisor: int = 1

    @property
    def pose_size(self) -> int:
        return self.pose_dim + self.joint_pos_dim

    @property
    def state_size(self) -> int:
        """S = E + A, the predictor's width."""
        return self.enc_size + self.pose_dim

    @classmethod
    def from_flags(cls, values: Mapping[str, object]) -> 'EPVAConfig':
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, value in values.items():
            if key in known:
                kwargs[key] = _coerce(key, known[key].default, value)
        return cls(**kwargs)
