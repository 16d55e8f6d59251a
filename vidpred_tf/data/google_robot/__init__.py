"""Google's robot push dataset (Finn et al. 2016): SAVP's reader of its TFRecords (``savp``)."""
