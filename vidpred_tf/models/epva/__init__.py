"""EPVA (Wichers et al. 2018, hierarchical long-term video prediction): computation only."""
