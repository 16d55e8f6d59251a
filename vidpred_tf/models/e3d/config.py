"""Configuration of the E3D-LSTM study's models: one dataclass, per-``model_name`` defaults.

The five ``--model_name`` values of the original's model factory differ in a handful of choices that the
author also edited by hand between experiments (cell kernel, attention, loss form, residual wiring, frozen
decoder). Each choice is a field here; a field left at ``None`` takes the value the ``model_name`` has in the
original at HEAD (table ``MODEL_DEFAULTS``), so ``E3DConfig(model_name=...)`` reproduces the original and
``E3DConfig(model_name=..., cell_kernel=(2, 5, 5))`` reproduces an edited run.

Not selectable by name but reachable through the fields: Google's upstream E3D-LSTM (the architecture of the
published pretrained checkpoints) is ``original_e3d_lstm`` with ``cell_kernel=(2, 5, 5)`` and
``decoder_trainable=True``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Tuple

MODEL_NAMES = ("e3d_lstm", "original_e3d_lstm", "original_e3d_lstm_residuals", "e3d_lstm_add", "e3d_lstm_concat")

# How the layers of the stack feed each other and the decoder.
#   none:                   layer l reads h[l-1]; the decoder reads h[L-1]
#   add_layer2_and_decoder: layer 2 reads h[1] + h[0]; the decoder reads h[L-1] + h[L-2]
#   add_all:                the decoder reads the sum of all h[l]
#   concat_all:             the decoder reads all h[l] concatenated along channels
RESIDUAL_MODES = ("none", "add_layer2_and_decoder", "add_all", "concat_all")

# l2 term of the loss, d = prediction - target summed over everything:
#   half_sum_sq: tf.nn.l2_loss(d) = sum(d^2) / 2;  sum_sq: sum(d^2);  norm: sqrt(sum(d^2))
L2_FORMS = ("half_sum_sq", "sum_sq", "norm")

# decoder_freeze, when the decoder is frozen: "if_pretrained" (trainable unless --pretrained_model is set), "never".
MODEL_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "e3d_lstm": dict(cell_dims=2, cell_kernel=(5, 5), eidetic_attention=False, residual_mode="none",
                     l2_form="half_sum_sq", decoder_freeze="if_pretrained"),
    "original_e3d_lstm": dict(cell_dims=3, cell_kernel=(1, 5, 5), eidetic_attention=True, residual_mode="none",
                              l2_form="half_sum_sq", decoder_freeze="if_pretrained"),
    "original_e3d_lstm_residuals": dict(cell_dims=3, cell_kernel=(2, 5, 5), eidetic_attention=True,
                                        residual_mode="add_layer2_and_decoder", l2_form="half_sum_sq",
                                        decoder_freeze="never"),
    "e3d_lstm_add": dict(cell_dims=2, cell_kernel=(5, 5), eidetic_attention=False, residual_mode="add_all",
                         l2_form="sum_sq", decoder_freeze="if_pretrained"),
    "e3d_lstm_concat": dict(cell_dims=2, cell_kernel=(5, 5), eidetic_attention=False, residual_mode="concat_all",
                            l2_form="norm", decoder_freeze="if_pretrained"),
}

# The 2-D models reshape the decoder input with a hard-coded 64 channels per layer.
TWO_D_DECODER_CHANNELS = 64

WINDOW_LENGTH = 2

# Fields whose None means "the model_name's value at HEAD".
_KNOBS = ("cell_dims", "cell_kernel", "eidetic_attention", "residual_mode", "l2_form", "decoder_trainable")


def parse_int_list(text, what: str) -> Tuple[int, ...]:
    """``"64,64"`` or a sequence of ints -> tuple of positive ints; ``ValueError`` naming ``what`` otherwise."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
    else:
        parts = list(text)
    try:
        values = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected comma-separated integers; got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise ValueError(f"{what}: expected positive integers; got {text!r}")
    return values


def _parse_bool(value, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    raise ValueError(f"{what}: expected True or False; got {value!r}")


@dataclasses.dataclass(frozen=True)
class E3DConfig:
    """Everything needed to build one E3D-LSTM-study model and its loss.

    Geometry follows run.py's flags: frames ``img_width`` x ``img_width`` x ``img_channel`` are cut into
    ``patch_size`` x ``patch_size`` patches, so the network sees ``[B, T, w, w, C0]`` with
    ``w = img_width // patch_size`` and ``C0 = patch_size**2 * img_channel``.

    The fields after ``pretrained_model`` are the hand-edited knobs; ``None`` means "as ``model_name`` at HEAD".
    """

    model_name: str = "e3d_lstm"
    img_width: int = 64
    img_channel: int = 1
    patch_size: int = 1
    input_length: int = 10
    total_length: int = 20
    num_hidden: Tuple[int, ...] = (64, 64, 64, 64)
    layer_norm: bool = True
    pretrained_model: str = ""
    cell_dims: Optional[int] = None
    cell_kernel: Optional[Tuple[int, ...]] = None
    eidetic_attention: Optional[bool] = None
    residual_mode: Optional[str] = None
    l1_weight: float = 1.0
    l2_weight: float = 1.0
    l2_form: Optional[str] = None
    decoder_trainable: Optional[bool] = None
    propagate_memory: bool = False
    enforce_decoder_width_64: bool = True

    def __post_init__(self):
        if self.model_name not in MODEL_DEFAULTS:
            raise ValueError(f"Name of network unknown {self.model_name!r}; --model_name must be one of "
                             f"{', '.join(MODEL_NAMES)}")
        object.__setattr__(self, "num_hidden", parse_int_list(self.num_hidden, "num_hidden"))
        # Remember which knobs were given, so that replace() re-derives the others for a new model_name.
        object.__setattr__(self, "_given_knobs",
                           {name: getattr(self, name) for name in _KNOBS if getattr(self, name) is not None})
        defaults = MODEL_DEFAULTS[self.model_name]
        for name in ("cell_dims", "cell_kernel", "eidetic_attention", "residual_mode", "l2_form"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, defaults[name])
        object.__setattr__(self, "cell_kernel", parse_int_list(self.cell_kernel, "cell_kernel"))
        if self.decoder_trainable is None:
            frozen = defaults["decoder_freeze"] == "if_pretrained" and bool(self.pretrained_model)
            object.__setattr__(self, "decoder_trainable", not frozen)
        self._validate()

    def _validate(self):
        for name in ("img_width", "img_channel", "patch_size", "input_length", "total_length"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be positive; got {getattr(self, name)}")
        if self.img_width % self.patch_size:
            raise ValueError(f"img_width {self.img_width} is not a multiple of patch_size {self.patch_size}")
        if not 0 < self.input_length < self.total_length:
            raise ValueError(f"input_length {self.input_length} must be in [1, total_length "
                             f"{self.total_length})")
        if self.cell_dims not in (2, 3):
            raise ValueError(f"cell_dims must be 2 or 3; got {self.cell_dims}")
        if len(self.cell_kernel) != self.cell_dims:
            raise ValueError(f"cell_kernel {self.cell_kernel} must have {self.cell_dims} entries for a "
                             f"{self.cell_dims}-D cell")
        if self.cell_dims == 2 and self.eidetic_attention:
            raise ValueError("eidetic_attention=True needs 3-D cells; the 2-D models only exist with the "
                             "attention off (cell of commit 049598e)")
        if self.residual_mode not in RESIDUAL_MODES:
            raise ValueError(f"residual_mode must be one of {', '.join(RESIDUAL_MODES)}; got "
                             f"{self.residual_mode!r}")
        if self.l2_form not in L2_FORMS:
            raise ValueError(f"l2_form must be one of {', '.join(L2_FORMS)}; got {self.l2_form!r}")
        hidden = self.num_hidden
        if self.residual_mode == "add_layer2_and_decoder":
            if len(hidden) >= 3 and hidden[0] != hidden[1]:
                raise ValueError(f"num_hidden {hidden}: residual_mode add_layer2_and_decoder adds h0 to h1, "
                                 "so the first two widths must be equal")
            if len(hidden) >= 2 and hidden[-1] != hidden[-2]:
                raise ValueError(f"num_hidden {hidden}: residual_mode add_layer2_and_decoder adds the last two "
                                 "hidden states, so their widths must be equal")
        if self.residual_mode == "add_all" and len(set(hidden)) != 1:
            raise ValueError(f"num_hidden {hidden}: residual_mode add_all sums all hidden states, so all widths "
                             "must be equal")
        if self.propagate_memory and len(set(hidden)) != 1:
            raise ValueError(f"num_hidden {hidden}: propagate_memory passes the memory between layers, so all "
                             "widths must be equal")
        if self.cell_dims == 2 and self.enforce_decoder_width_64:
            needed = TWO_D_DECODER_CHANNELS * (len(hidden) if self.residual_mode == "concat_all" else 1)
            if self.decoder_channels != needed:
                raise ValueError(
                    f"num_hidden {','.join(map(str, hidden))}: the 2-D models of the original reshape the decoder "
                    f"input to {needed} channels (64 hard-coded per layer); got {self.decoder_channels} "
                    "(pass --enforce_decoder_width_64=False to run.py, or enforce_decoder_width_64=False to "
                    "E3DConfig, to use the actual width)")

    # Derived geometry -----------------------------------------------------------------------------------

    @property
    def patch_width(self) -> int:
        return self.img_width // self.patch_size

    @property
    def patch_channels(self) -> int:
        return self.patch_size * self.patch_size * self.img_channel

    @property
    def num_layers(self) -> int:
        return len(self.num_hidden)

    @property
    def output_length(self) -> int:
        return self.total_length - self.input_length

    @property
    def has_3d_encoder(self) -> bool:
        """The 2-D models put a Conv3D "3Denc" in front of the first cell."""
        return self.cell_dims == 2

    @property
    def decoder_channels(self) -> int:
        hidden = self.num_hidden
        if self.residual_mode == "concat_all":
            return sum(hidden)
        return hidden[-1]

    def images_shape(self, batch_size: Optional[int] = None):
        return (batch_size, self.total_length, self.patch_width, self.patch_width, self.patch_channels)

    def mask_shape(self, batch_size: Optional[int] = None):
        return (batch_size, self.total_length - self.input_length - 1, self.patch_width, self.patch_width,
                self.patch_channels)

    @classmethod
    def from_flags(cls, flags) -> "E3DConfig":
        """Config from an absl FLAGS object (or any namespace) with run.py's flag names.

        Reads ``model_name, img_width, img_channel, patch_size, input_length, total_length, num_hidden,
        layer_norm, pretrained_model`` and, when present and not None/empty, the knobs ``cell_dims,
        cell_kernel ("2,5,5"), eidetic_attention, residual_mode, l1_weight, l2_weight, l2_form,
        decoder_trainable ("True"/"False"/"auto"), propagate_memory``.
        """
        def get(name, default=None):
            value = getattr(flags, name, default)
            return default if value is None or value == "" else value

        kwargs = dict(
            model_name=get("model_name", "e3d_lstm"), img_width=int(get("img_width", 64)),
            img_channel=int(get("img_channel", 1)), patch_size=int(get("patch_size", 1)),
            input_length=int(get("input_length", 10)), total_length=int(get("total_length", 20)),
            num_hidden=get("num_hidden", "64,64,64,64"),
            layer_norm=_parse_bool(get("layer_norm", True), "layer_norm"),
            pretrained_model=str(get("pretrained_model", "")))
        for name in ("cell_dims",):
            if get(name) is not None:
                kwargs[name] = int(get(name))
        if get("cell_kernel") is not None:
            kwargs["cell_kernel"] = parse_int_list(get("cell_kernel"), "cell_kernel")
        for name in ("eidetic_attention", "propagate_memory", "enforce_decoder_width_64"):
            if get(name) is not None:
                kwargs[name] = _parse_bool(get(name), name)
        for name in ("residual_mode", "l2_form"):
            if get(name) is not None:
                kwargs[name] = str(get(name))
        for name in ("l1_weight", "l2_weight"):
            if get(name) is not None:
                kwargs[name] = float(get(name))
        trainable = get("decoder_trainable")
        if trainable is not None and str(trainable).lower() != "auto":
            kwargs["decoder_trainable"] = _parse_bool(trainable, "decoder_trainable")
        return cls(**kwargs)

    def replace(self, **changes) -> "E3DConfig":
        """A copy with ``changes``; knobs that were not given explicitly are derived again (e.g. from a new
        ``model_name`` or ``pretrained_model``)."""
        kwargs = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in _KNOBS:
            kwargs[name] = self._given_knobs.get(name)
        kwargs.update(changes)
        return E3DConfig(**kwargs)
