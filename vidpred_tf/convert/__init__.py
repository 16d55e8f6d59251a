"""Original weights into the port, one module per source, each mapping every original name 1:1.

* ``tf1``: generic reading/writing of TF1 name-based checkpoints (used by the paper modules);
* ``e3d``: the E3D-LSTM study (``python -m vidpred_tf.convert.e3d --help``);
* ``lpips``: the LPIPS linear layers and torchvision backbones (``python -m vidpred_tf.convert.lpips --help``);
* ``i3d``: the I3D Kinetics-400 network of FVD from the TF-Hub module or the kinetics-i3d checkpoints
  (``python -m vidpred_tf.convert.i3d --help``).
"""
