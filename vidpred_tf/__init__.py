"""vidpred_tf: TF2 / Keras 3 ports of five video-prediction codebases (see README.md)."""

import pkgutil

# A ``vidpred_tf/papers/<name>/`` folder elsewhere on sys.path adds a paper (see vidpred_tf.papers): both levels
# of the package take the folders of that name from every sys.path entry.
__path__ = pkgutil.extend_path(__path__, __name__)  # noqa: F821 - set by the import system for a package
