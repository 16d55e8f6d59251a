"""KTH Actions (Schuldt et al. 2004): the frame folders of the e3d study's code (``e3d_frames``) and MSPred's frames
with pose keypoints (``mspred_keypoints``) and SAVP's TFRecords of variable-length sequences (``savp``)."""
