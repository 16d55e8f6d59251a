"""A tiny training run of the ConvLSTM baseline on fixed random videos, as a subprocess for the trainer tests.

    python tests/tiny_train.py --model_dir D --num_steps 8 [--kill_at_step 6] [--strategy multi_worker]

Prints one JSON line ``RESULT {...}`` at the end (step, status, losses, chief). ``--kill_at_step`` sends
SIGKILL to this very process after that step has been computed, i.e. before any checkpoint of it exists;
``--sigterm_at_step`` sends SIGTERM there instead (the trainer saves and stops).
"""

import json
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

from absl import app, flags  # noqa: E402

flags.DEFINE_string("model_dir", None, "Where checkpoints and summaries go.", required=True)
flags.DEFINE_integer("num_steps", 8, "Training steps.")
flags.DEFINE_integer("checkpoint_every", 4, "Checkpoint interval in steps.")
flags.DEFINE_float("checkpoint_every_s", 0.0, "Also checkpoint after this many seconds (0: by steps only).")
flags.DEFINE_integer("kill_at_step", 0, "SIGKILL this process after this step (0: never).")
flags.DEFINE_integer("sigterm_at_step", 0, "SIGTERM this process after this step (0: never).")
flags.DEFINE_string("strategy", "one_device", "Strategy name (vidpred_tf.training.make_strategy).")
flags.DEFINE_integer("global_batch_size", 4, "Global batch size.")
flags.DEFINE_integer("seed", 3, "Run seed.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig
    from vidpred_tf.models.baseline.task import NextFrameTask
    from vidpred_tf.training import Trainer, TrainerConfig, make_strategy

    strategy = make_strategy(FLAGS.strategy)
    videos = np.random.default_rng(0).random((32, 5, 8, 8, 1)).astype("float32")

    def dataset_fn(context):
        dataset = tf.data.Dataset.from_tensor_slices({"images": videos})
        if context.num_input_pipelines > 1:
            dataset = dataset.shard(context.num_input_pipelines, context.input_pipeline_id)
        batch = context.get_per_replica_batch_size(FLAGS.global_batch_size)
        return dataset.shuffle(32, seed=FLAGS.seed).repeat().batch(batch, drop_remainder=True)

    task = NextFrameTask(ConvLSTMConfig(image_size=8, context_frames=2, encoder_filters=(4,),
                                        lstm_filters=(4,)), num_frames=5, learning_rate=0.01)
    config = TrainerConfig(model_dir=FLAGS.model_dir, num_steps=FLAGS.num_steps,
                           global_batch_size=FLAGS.global_batch_size, seed=FLAGS.seed,
                           checkpoint_every=FLAGS.checkpoint_every, log_every=2,
                           checkpoint_every_s=FLAGS.checkpoint_every_s or None)
    trainer = Trainer(task, config, strategy)

    def kill_hook(trainer, step, losses):
        if step == FLAGS.kill_at_step:
            os.kill(os.getpid(), signal.SIGKILL)
        if step == FLAGS.sigterm_at_step:
            os.kill(os.getpid(), signal.SIGTERM)

    result = trainer.fit(dataset_fn, hooks=[kill_hook])
    print("RESULT " + json.dumps({"step": result.step, "status": result.status, "losses": result.losses,
                                  "chief": trainer.chief}), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    app.run(main)
