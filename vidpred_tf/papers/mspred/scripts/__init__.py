"""The entry points of MSPred's numbered scripts (``scripts/mspred/*.py`` run them): each module defines its
script's absl flags and ``main``."""
