"""SAVP (alexlee-gk/video_prediction, Lee et al. 2018): the computation of the paper and its baselines.

Work in progress (#10): ``defaults`` (the model classes' defaults); the original's HParams are
``vidpred_tf.hparams`` (shared with the dataset readers).
"""
