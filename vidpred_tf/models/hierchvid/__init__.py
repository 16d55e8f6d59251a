"""Villegas et al. 2017 (rubenvillegas/icml2017hierchvid): the pose LSTM (stage 1) and the image-analogy
generator with its discriminator and frozen perceptual networks (stage 2). Computation only; the workflow is in
:mod:`vidpred_tf.papers.hierchvid`."""
