"""``vidpred convert NAME [ARGS]``: run one of the checkpoint converters of :mod:`vidpred_tf.convert`."""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import Sequence

from vidpred_tf.commands.common import import_tensorflow_quietly, report_error

DESCRIPTION = "convert original checkpoints into the port (e3d TF1, lpips, i3d, mspred)"

# Converter name -> (module, what it converts).
CONVERTERS = {
    "e3d": ("vidpred_tf.convert.e3d", "E3D-LSTM study TF1 checkpoints <-> port weights"),
    "lpips": ("vidpred_tf.convert.lpips", "LPIPS v0.1 linear layers + torchvision backbones -> .weights.h5"),
    "i3d": ("vidpred_tf.convert.i3d", "I3D Kinetics-400 (TF-Hub module / kinetics-i3d checkpoint) for FVD"),
    "mspred": ("vidpred_tf.convert.mspred", "MSPred PyTorch state_dicts (.pth / .npz) -> port"),
}


def usage(prog: str) -> str:
    lines = [f"usage: {prog} NAME [ARGS...]   ({prog} NAME --help for the converter's arguments)", "",
             "converters:"]
    lines += [f"  {name:<8}{text}" for name, (_, text) in CONVERTERS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str], prog: str = "vidpred convert") -> int:
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(prog))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in CONVERTERS:
        return report_error(prog, f"unknown converter {name!r}; converters: {', '.join(CONVERTERS)}")
    module_name = CONVERTERS[name][0]
    import_tensorflow_quietly()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        return report_error(prog, f"converter {name} ({module_name}) is not part of this installation")
    if hasattr(module, "main"):
        return int(module.main(rest) or 0)
    # A converter without main() is still runnable as a module.
    return subprocess.call([sys.executable, "-m", module_name, *rest])
