"""Original weights into the port, one module per source, each mapping every original name 1:1.

The papers' converters share one contract: the model exposes ``original_variables()`` (original name ->
variable, in the original's order), and ``convert/<paper>.py`` has ``load(model, path)`` (original checkpoint ->
model), ``export(model, path)`` (model -> a checkpoint the original reads) and ``main(argv)`` (its command line,
``vidpred convert <paper>``), on the shared readers:

* ``tf1``: TF1 name-based checkpoints, read and written (e3d, I3D);
* ``torch_files``: PyTorch ``.pth`` files read without torch (MSPred, LPIPS).

Paper converters: ``e3d`` (E3D-LSTM study TF1 checkpoints), ``mspred`` (MSPred state_dicts). The networks of the
metrics have theirs too, with ``load`` and ``main``: ``lpips`` (LPIPS v0.1 trunk + linear layers, two files, so
``load(metric, backbone, linear)``; ``export`` gives both state_dicts back) and ``i3d`` (the I3D network of FVD
from the TF-Hub module or a kinetics-i3d checkpoint).
"""
