"""SV2P's "shape" and "humans" datasets (Babaeizadeh et al. 2018): SAVP's reader of their TFRecords (``savp``)."""
