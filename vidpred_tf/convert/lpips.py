"""LPIPS v0.1 (torchvision trunk + lpips linear layers, PyTorch files) -> :class:`vidpred_tf.metrics.lpips.LPIPS`.

Two original files make one LPIPS network:

* the trunk: a torchvision state_dict (``alexnet-owt-7be5be79.pth``, ``vgg16-397923af.pth``,
  ``squeezenet1_1-b8a52dc0.pth``) with keys ``features.<i>.weight`` ``[out, in, kh, kw]`` and
  ``features.<i>.bias`` ``[out]`` (SqueezeNet: ``features.<i>.{squeeze,expand1x1,expand3x3}.{weight,bias}``);
  its ``classifier.*`` head is not used by LPIPS and is skipped;
* the calibration: the lpips package's ``weights/v0.1/{alex,vgg,squeeze}.pth`` with keys
  ``lin<l>.model.1.weight`` ``[1, C_l, 1, 1]``.

Either file may be a PyTorch file or an ``.npz`` holding the same keys and arrays, both read by
:mod:`vidpred_tf.convert.torch_files` (PyTorch, the optional ``[torch]`` extra, is needed only for files in the
legacy pre-1.6 format, such as the torchvision trunks; an ``.npz`` can be written once with
``numpy.savez(path, **{k: v.numpy() for k, v in state_dict.items()})``). Every key maps 1:1 onto one Keras
weight, kernels transposed from OIHW to HWIO; a missing key, an unexpected key or a wrong shape is refused
with its name, and nothing is assigned unless everything fits.

Command line::

    python -m vidpred_tf.convert.lpips --net alex --backbone alexnet-owt-7be5be79.pth \\
        --linear lpips/weights/v0.1/alex.pth --output lpips_alex.weights.h5
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from vidpred_tf.convert import torch_files
from vidpred_tf.metrics.lpips import HEAD_PREFIX, LPIPS, NETS, LPIPSNetwork, backbone_convs, tap_channels

StateDict = Mapping[str, np.ndarray]
Source = Union[str, os.PathLike, StateDict]


class WeightMismatchError(ValueError):
    """An original weight file does not fit the LPIPS network; the message names the key."""


def read_state_dict(path) -> Dict[str, np.ndarray]:
    """``{key: array}`` from a ``.npz`` file or a PyTorch ``.pth``/``.pt``/``.bin`` file (bare or under
    ``"state_dict"``)."""
    return torch_files.read_state_dict(path, unwrap=("state_dict",))


def _as_state_dict(source: Source, what: str) -> Tuple[Dict[str, np.ndarray], str]:
    if isinstance(source, Mapping):
        return {str(key): np.asarray(value) for key, value in source.items()}, f"the {what} state_dict"
    path = os.fspath(source)
    return read_state_dict(path), path


def original_backbone_shapes(net: str) -> Dict[str, Tuple[int, ...]]:
    """The trunk keys LPIPS uses and their torchvision shapes (``[out, in, kh, kw]`` and ``[out]``)."""
    shapes = {}
    for conv in backbone_convs(net):
        shapes[f"{conv.key}.weight"] = (conv.out_channels, conv.in_channels, conv.kernel, conv.kernel)
        shapes[f"{conv.key}.bias"] = (conv.out_channels,)
    return shapes


def original_linear_shapes(net: str) -> Dict[str, Tuple[int, ...]]:
    """The lpips v0.1 calibration keys and shapes: ``lin<l>.model.1.weight`` ``[1, C_l, 1, 1]``."""
    return {f"lin{index}.model.1.weight": (1, channels, 1, 1) for index, channels in enumerate(tap_channels(net))}


def _check_keys(values: Dict[str, np.ndarray], expected: Dict[str, Tuple[int, ...]], origin: str,
                ignored_prefix: Optional[str], net: str) -> None:
    for key, shape in expected.items():
        if key not in values:
            raise WeightMismatchError(f"{origin}: missing key {key!r} (shape {list(shape)}) needed by LPIPS({net})")
        if tuple(values[key].shape) != shape:
            raise WeightMismatchError(f"{origin}: key {key!r} has shape {list(values[key].shape)}; "
                                      f"LPIPS({net}) needs {list(shape)}")
    for key in values:
        if key in expected or (ignored_prefix and key.startswith(ignored_prefix)):
            continue
        raise WeightMismatchError(f"{origin}: unexpected key {key!r} (shape {list(values[key].shape)}); "
                                  f"LPIPS({net}) has no such weight")


def _oihw_to_hwio(kernel: np.ndarray) -> np.ndarray:
    return np.transpose(kernel, (2, 3, 1, 0))


def load(target: Union[LPIPS, LPIPSNetwork], backbone: Source, linear: Source) -> None:
    """Assign ``target`` from a torchvision trunk state_dict and an lpips v0.1 linear-layer state_dict.

    Each source is a path (``.npz`` or PyTorch file) or an in-memory ``{key: array}``. Raises
    :class:`WeightMismatchError` naming the first misfit; nothing is assigned then.
    """
    network = target.network if isinstance(target, LPIPS) else target
    net = network.net
    backbone_values, backbone_origin = _as_state_dict(backbone, "backbone")
    linear_values, linear_origin = _as_state_dict(linear, "linear")
    _check_keys(backbone_values, original_backbone_shapes(net), backbone_origin, HEAD_PREFIX, net)
    _check_keys(linear_values, original_linear_shapes(net), linear_origin, None, net)

    assignments = []
    for conv in backbone_convs(net):
        layer = network.conv_layer(conv.key)
        assignments.append((layer.kernel, _oihw_to_hwio(backbone_values[f"{conv.key}.weight"])))
        assignments.append((layer.bias, backbone_values[f"{conv.key}.bias"]))
    for index, layer in enumerate(network.lin_layers):
        assignments.append((layer.kernel, _oihw_to_hwio(linear_values[f"lin{index}.model.1.weight"])))
    for variable, value in assignments:
        variable.assign(value.astype(np.float32))
    if isinstance(target, LPIPS):
        target.mark_pretrained()


def export(target: Union[LPIPS, LPIPSNetwork]) -> Tuple[Dict[str, np.ndarray],
                                                                          Dict[str, np.ndarray]]:
    """The inverse of :func:`load`: ``(backbone, linear)`` state_dicts in the original layout."""
    network = target.network if isinstance(target, LPIPS) else target
    backbone = {}
    for conv in backbone_convs(network.net):
        layer = network.conv_layer(conv.key)
        backbone[f"{conv.key}.weight"] = np.transpose(layer.kernel.numpy(), (3, 2, 0, 1))
        backbone[f"{conv.key}.bias"] = layer.bias.numpy()
    linear = {f"lin{index}.model.1.weight": np.transpose(layer.kernel.numpy(), (3, 2, 0, 1))
              for index, layer in enumerate(network.lin_layers)}
    return backbone, linear


def lpips_from_original(net: str, backbone: Source, linear: Source, batch_size: int = 64) -> LPIPS:
    """An :class:`LPIPS` metric with the published weights of ``net`` (see :func:`load`)."""
    metric = LPIPS(net, batch_size=batch_size)
    load(metric, backbone, linear)
    return metric


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vidpred_tf.convert.lpips",
        description="Convert the original LPIPS v0.1 weights (torchvision trunk + lpips linear layers) into "
                    "one .weights.h5 for vidpred_tf.metrics.lpips.LPIPS.")
    parser.add_argument("--net", required=True, choices=NETS, help="LPIPS trunk")
    parser.add_argument("--backbone", required=True,
                        help="torchvision state_dict of the trunk (.pth, or the same keys as .npz)")
    parser.add_argument("--linear", required=True,
                        help="lpips weights/v0.1/<net>.pth (or the same keys as .npz)")
    parser.add_argument("--output", required=True, help="output file ending in .weights.h5")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if not args.output.endswith(".weights.h5"):
        print(f"error: --output must end in .weights.h5; got {args.output}", file=sys.stderr)
        return 2
    try:
        metric = lpips_from_original(args.net, args.backbone, args.linear)
        metric.save_weights(args.output)
    except (WeightMismatchError, FileNotFoundError, ImportError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}: LPIPS v0.1 {args.net} ({metric.network.count_params()} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
