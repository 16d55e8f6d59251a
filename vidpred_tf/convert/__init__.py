"""Original checkpoints into the port: ``tf1`` (generic TF1 name-based checkpoints) and one module per paper
(``e3d``: ``python -m vidpred_tf.convert.e3d --help``)."""
