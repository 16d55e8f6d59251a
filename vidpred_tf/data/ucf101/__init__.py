"""UCF101 (Soomro et al. 2012): SAVP's reader of its JPEG TFRecords (``savp``)."""
