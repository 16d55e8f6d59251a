"""BAIR robot pushing (Ebert et al. 2017, the "softmotion" data): SAVP's reader of its TFRecords (``savp``)."""
