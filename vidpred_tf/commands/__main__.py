"""``python -m vidpred_tf.commands`` is the ``vidpred`` command."""

from vidpred_tf.commands.main import run

if __name__ == "__main__":
    run()
