"""From a reader's unbatched examples to the batches a training step consumes.

``make_dataset`` applies the usual tf.data order: (shard) -> shuffle -> repeat -> parallel map -> batch ->
skip -> prefetch. Every stage is deterministic for a given seed, so a pipeline that skips the batches already
used sees the batches an uninterrupted run would have seen. ``Trainer.fit`` does that skip itself on resume:
pass ``skip_batches`` only when iterating a dataset outside the trainer.

``batch_size`` is always per replica. Under a ``tf.distribute`` strategy use ``dataset_fn_for_strategy``
(it calls ``input_context.get_per_replica_batch_size(global_batch_size)``) with
``strategy.distribute_datasets_from_function``.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional

import tensorflow as tf

ExamplesFn = Callable[[tf.distribute.InputContext], tf.data.Dataset]


def make_dataset(examples: tf.data.Dataset, *, batch_size: int, seed: Optional[int], shuffle: bool = True,
                 shuffle_buffer: int = 1024, repeat: bool = True, drop_remainder: bool = True,
                 map_fn: Optional[Callable[[Mapping[str, tf.Tensor]], Mapping[str, tf.Tensor]]] = None,
                 skip_batches: int = 0, input_context: Optional[tf.distribute.InputContext] = None,
                 num_parallel_calls: int = tf.data.AUTOTUNE) -> tf.data.Dataset:
    """Batches of ``examples`` for training or evaluation.

    Args:
      examples: unbatched examples (dicts following ``vidpred_tf.data.batch``), e.g. from a registered reader.
      batch_size: examples per batch **per replica**.
      seed: shuffle seed. The shuffle is reshuffled each epoch, and the sequence of epoch orders is fixed by
        the seed (and by the TF global seed if a program sets one).
      shuffle: False keeps the order of ``examples`` (evaluation).
      shuffle_buffer: examples held by the shuffle buffer (a full shuffle needs the dataset size).
      repeat: repeat forever (training); False gives one pass.
      drop_remainder: drop a last partial batch, so every batch has the static shape ``[B, ...]``.
      map_fn: per-example function applied in parallel with deterministic order after shuffling; random
        augmentation in it must use stateless ops seeded from the example to stay reproducible.
      skip_batches: drop the first ``skip_batches`` batches (outside ``Trainer.fit``, which skips by itself).
      input_context: shard the *elements* of ``examples`` by ``input_pipeline_id``; pass it only when
        ``examples`` is not already sharded per pipeline (readers such as ``read_tfrecords`` shard their files
        themselves when given the context).
      num_parallel_calls: parallelism of ``map_fn``.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    if not isinstance(skip_batches, int) or skip_batches < 0:
        raise ValueError(f"skip_batches must be a non-negative integer; got {skip_batches!r}")
    if shuffle and shuffle_buffer < 1:
        raise ValueError(f"shuffle_buffer must be positive when shuffling; got {shuffle_buffer!r}")
    dataset = examples
    if input_context is not None and input_context.num_input_pipelines > 1:
        dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    if map_fn is not None:
        dataset = dataset.map(map_fn, num_parallel_calls=num_parallel_calls, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if skip_batches:
        dataset = dataset.skip(skip_batches)
    options = tf.data.Options()
    options.deterministic = True
    dataset = dataset.with_options(options)
    return dataset.prefetch(tf.data.AUTOTUNE)


def dataset_fn_for_strategy(make_examples: ExamplesFn, global_batch_size: int, *, seed: Optional[int],
                            shard_elements: bool = False,
                            **make_dataset_kwargs) -> Callable[[tf.distribute.InputContext], tf.data.Dataset]:
    """A ``dataset_fn`` for ``strategy.distribute_datasets_from_function``.

    ``make_examples(input_context)`` returns the unbatched examples of one input pipeline (a reader given the
    context shards its files). With ``shard_elements`` the elements are sharded here instead, for sources
    that ignore the context. Each pipeline batches ``global_batch_size / num_replicas_in_sync`` examples;
    the strategy hands successive batches of a pipeline to its replicas, so one step consumes
    ``global_batch_size`` examples in all. Other keyword arguments go to ``make_dataset``.
    """
    if not isinstance(global_batch_size, int) or global_batch_size < 1:
        raise ValueError(f"global_batch_size must be a positive integer; got {global_batch_size!r}")

    def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        if global_batch_size % input_context.num_replicas_in_sync:
            raise ValueError(f"global batch size {global_batch_size} is not divisible by the "
                             f"{input_context.num_replicas_in_sync} replicas in sync")
        per_replica = input_context.get_per_replica_batch_size(global_batch_size)
        return make_dataset(make_examples(input_context), batch_size=per_replica, seed=seed,
                            input_context=input_context if shard_elements else None, **make_dataset_kwargs)

    return dataset_fn
