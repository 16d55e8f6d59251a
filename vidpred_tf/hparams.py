"""SAVP's hyper-parameter objects: ``tf.contrib.training.HParams`` as the original used it, in core Python.

The original's models and datasets each declare their defaults as a dict, then apply, in order, a JSON dict
(``--model_hparams_dict``, or the ``model_hparams.json`` of a checkpoint) and comma strings (``--model_hparams
lr=2e-4,decay_steps=[1,2]``). Types are those of the defaults: an integer hparam refuses a float, a boolean
refuses a number, a list hparam needs a list; a name that is not a default is an error. ``values()`` gives back
the plain dict the original wrote as ``model_hparams.json``.
"""

from __future__ import annotations

import numbers
import re
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Union

from vidpred_tf.errors import InputError

# One ``name=value`` or ``name=[v1,v2]`` item of an HParams string, as contrib's ``parse_values`` matched it.
_ITEM = re.compile(r"(?P<name>[a-zA-Z][\w.]*)\s*=\s*((?P<val>[^,\[]*)|\[(?P<vals>[^\]]*)\])($|,\s*)")


class HParams:
    """Named hyper-parameters with the types of their defaults; attribute access (``hparams.lr``).

    ``source`` in the methods below only names where a value came from, for the error message.
    """

    def __init__(self, **defaults):
        object.__setattr__(self, "_types", {})
        object.__setattr__(self, "_values", {})
        for name, value in defaults.items():
            self.add_hparam(name, value)

    # ------------------------------------------------------------------------------------------ access
    def add_hparam(self, name: str, value: Any) -> None:
        if name in self._values:
            raise ValueError(f"hparam {name!r} is defined twice")
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError(f"hparam {name!r}: a list default needs an element to take its type from")
            self._types[name] = (type(value[0]), True)
            value = list(value)
        else:
            self._types[name] = (type(value), False)
        self._values[name] = value

    def __getattr__(self, name: str):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no hparam {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.set_hparam(name, value)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def __eq__(self, other) -> bool:
        return isinstance(other, HParams) and self.values() == other.values()

    def __repr__(self) -> str:
        return f"HParams({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"

    def values(self) -> Dict[str, Any]:
        """A copy of every hparam (lists as lists), what the original wrote as ``*_hparams.json``."""
        return {name: list(value) if isinstance(value, list) else value for name, value in self._values.items()}

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    # ------------------------------------------------------------------------------------------ setting
    def set_hparam(self, name: str, value: Any, source: str = "") -> None:
        if name not in self._types:
            raise InputError(f"{_where(source)}unknown hparam {name!r} (known: {', '.join(sorted(self._types))})")
        param_type, is_list = self._types[name]
        if is_list:
            if not isinstance(value, (list, tuple)):
                raise InputError(f"{_where(source)}hparam {name!r} is a list; got {value!r}")
            self._values[name] = [_cast(name, param_type, item, source) for item in value]
        else:
            if isinstance(value, (list, tuple)):
                raise InputError(f"{_where(source)}hparam {name!r} takes one value; got the list {value!r}")
            self._values[name] = _cast(name, param_type, value, source)

    def override_from_dict(self, values: Mapping[str, Any], source: str = "") -> "HParams":
        for name, value in values.items():
            self.set_hparam(name, value, source)
        return self

    def parse(self, text: str, source: str = "") -> "HParams":
        """Apply a comma string ``a=1,b=[2,3],c=true`` (contrib's syntax; types from the defaults)."""
        position = 0
        text = text.strip()
        while position < len(text):
            match = _ITEM.match(text, position)
            if not match:
                raise InputError(f"{_where(source)}cannot parse hparams {text!r} at {text[position:]!r} "
                                 f"(expected name=value or name=[v1,v2], comma separated)")
            position = match.end()
            name = match.group("name")
            if name not in self._types:
                raise InputError(f"{_where(source)}unknown hparam {name!r} (known: "
                                 f"{', '.join(sorted(self._types))})")
            param_type, is_list = self._types[name]
            if match.group("vals") is not None:
                if not is_list:
                    raise InputError(f"{_where(source)}hparam {name!r} takes one value; got "
                                     f"[{match.group('vals')}]")
                items = [item.strip() for item in match.group("vals").split(",") if item.strip()]
                self.set_hparam(name, [_parse_scalar(name, param_type, item, source) for item in items], source)
            else:
                raw = match.group("val").strip()
                if is_list:
                    # contrib accepts a bare value for a list hparam only as a one-element list.
                    self.set_hparam(name, [_parse_scalar(name, param_type, raw, source)], source)
                else:
                    self.set_hparam(name, _parse_scalar(name, param_type, raw, source), source)
        return self


def _where(source: str) -> str:
    return f"{source}: " if source else ""


def _cast(name: str, param_type: type, value: Any, source: str) -> Any:
    """contrib's ``_cast_to_type_if_compatible``: no str<->number, bool<->number or float->int conversions."""
    failure = InputError(f"{_where(source)}hparam {name!r} is {param_type.__name__}; got {value!r}")
    if param_type is type(None):
        return value
    if issubclass(param_type, (str, bytes)) and not isinstance(value, (str, bytes)):
        raise failure
    if issubclass(param_type, bool) != isinstance(value, bool):
        raise failure
    if issubclass(param_type, numbers.Integral) and not isinstance(value, numbers.Integral):
        raise failure
    if issubclass(param_type, numbers.Number) and not isinstance(value, numbers.Number):
        raise failure
    return param_type(value)


def _parse_scalar(name: str, param_type: type, text: str, source: str) -> Any:
    if param_type is bool:
        if text in ("true", "True"):
            return True
        if text in ("false", "False"):
            return False
        try:
            return bool(int(text))
        except ValueError:
            pass
    elif param_type is type(None) or issubclass(param_type, str):
        return text
    else:
        try:
            return param_type(text)
        except ValueError:
            pass
    raise InputError(f"{_where(source)}hparam {name!r} is {param_type.__name__}; cannot parse {text!r}")


def parse_hparams(defaults: Mapping[str, Any], hparams_dict: Optional[Mapping[str, Any]] = None,
                  hparams: Union[None, str, Sequence[str]] = None, *, drop: Iterable[str] = (),
                  dict_source: str = "hparams dict", string_source: str = "hparams") -> HParams:
    """The original's ``parse_hparams``: defaults, then the dict (less the ``drop`` keys, the deprecated names the
    SAVP model ignores), then each comma string in order."""
    parsed = HParams(**defaults)
    dropped = set(drop)
    values = {key: value for key, value in (hparams_dict or {}).items() if key not in dropped}
    parsed.override_from_dict(values, dict_source)
    if hparams:
        for text in [hparams] if isinstance(hparams, str) else hparams:
            parsed.parse(text, string_source)
    return parsed
