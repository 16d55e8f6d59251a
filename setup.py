"""vidpred_tf: a faithful TF2 / Keras 3 port of five video-prediction research codebases."""

from setuptools import find_packages, setup

setup(
    name="vidpred_tf",
    version="0.1.0",
    description="TF2/Keras 3 ports of E3D-LSTM, SAVP, EPVA, Villegas'17 and MSPred video prediction",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["vidpred_tf", "vidpred_tf.*"]),
    install_requires=[
        "tensorflow==2.21.*",
        "keras>=3.10,<4",
        "absl-py",
        "tensorboard",
        "tensorflow-datasets",
        "numpy",
        "scikit-image",
        "opencv-python-headless",
        "ffmpeg-python",
        "imageio-ffmpeg",
        "matplotlib",
        "pillow",
        "mlxtend",
    ],
    extras_require={
        "dev": ["pytest", "pytest-timeout", "pytest-xdist", "nbclient", "nbformat", "ipykernel", "ruff"],
        "torch": ["torch"],
    },
    # Presets (vidpred_tf/presets/NAME/: preset.json, manifest, weights, flagfile, curve, metrics) are data
    # folders of the vidpred_tf.presets package; listed here so that wheels and non-editable installs carry them.
    package_data={"vidpred_tf.models.mspred": ["configs/*.json"],
                  "vidpred_tf.presets": ["*/*.json", "*/*.h5", "*/*.flags", "*/*.png"]},
    include_package_data=True,
    entry_points={"console_scripts": [
        "vidpred=vidpred_tf.commands.main:run",
        "vidpred-demo=vidpred_tf.demo:run",
    ]},
)
