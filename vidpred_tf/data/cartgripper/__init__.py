"""The simulated cartgripper data of visual MPC (Ebert et al.): SAVP's reader of its TFRecords (``savp``)."""
