"""SynPick-VP (synthetic bin picking): MSPred's episodes with segmentation masks and gripper positions
(``mspred``)."""
