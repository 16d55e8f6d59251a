"""Moving MNIST: real MNIST digits (``digits``), the package's generator and TFRecords (``generate``), and the
formats of the papers' codes: the PredRNN-family ``.npz`` of the e3d study (``e3d_npz``) and MSPred's on-the-fly
and precomputed sequences (``mspred``)."""
