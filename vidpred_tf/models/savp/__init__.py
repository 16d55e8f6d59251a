"""SAVP (alexlee-gk/video_prediction, Lee et al. 2018): the computation of the paper and its baselines.

Work in progress (#10): ``hparams`` (the original's HParams), ``defaults`` (the model classes' defaults).
"""
