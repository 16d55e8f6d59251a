"""make_dataset and dataset_fn_for_strategy: static batch shapes, seeded order, resuming, per-replica split."""

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.data import pipeline

NUM_EXAMPLES = 10


def _examples():
    """Example i has every pixel equal to i / 100, so a batch tells which examples it holds."""
    ids = np.arange(NUM_EXAMPLES, dtype=np.float32)
    images = np.broadcast_to(ids[:, None, None, None, None] / 100.0, (NUM_EXAMPLES, 3, 4, 4, 1))
    return tf.data.Dataset.from_tensor_slices({"images": images.astype(np.float32), "ids": ids})


def _ids(dataset, num_batches):
    return [batch["ids"].numpy().astype(int).tolist() for batch in dataset.take(num_batches)]


def test_batches_have_static_shape_and_drop_the_remainder():
    dataset = pipeline.make_dataset(_examples(), batch_size=4, seed=0, repeat=False)
    assert dataset.element_spec["images"].shape == (4, 3, 4, 4, 1)
    batches = _ids(dataset, 10)
    assert len(batches) == 2  # 10 examples, batches of 4, the last 2 dropped
    kept = pipeline.make_dataset(_examples(), batch_size=4, seed=0, repeat=False, drop_remainder=False)
    assert kept.element_spec["images"].shape.as_list() == [None, 3, 4, 4, 1]
    assert [len(b) for b in _ids(kept, 10)] == [4, 4, 2]


def test_same_seed_same_order_and_every_epoch_is_a_permutation():
    def run(seed):
        return _ids(pipeline.make_dataset(_examples(), batch_size=5, seed=seed, shuffle_buffer=NUM_EXAMPLES), 6)

    first = run(1)
    assert run(1) == first
    assert run(2) != first
    epochs = [sorted(first[i] + first[i + 1]) for i in range(0, 6, 2)]
    assert all(epoch == list(range(NUM_EXAMPLES)) for epoch in epochs)
    assert first[0] + first[1] != first[2] + first[3]  # reshuffled between epochs
    assert first[0] + first[1] != list(range(NUM_EXAMPLES))


def test_unshuffled_keeps_order():
    dataset = pipeline.make_dataset(_examples(), batch_size=3, seed=None, shuffle=False)
    assert _ids(dataset, 4) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 0, 1]]


@pytest.mark.parametrize("skip", [1, 3])
def test_skip_batches_equals_dropping_the_first_batches(skip):
    whole = _ids(pipeline.make_dataset(_examples(), batch_size=3, seed=4), 8)
    resumed = _ids(pipeline.make_dataset(_examples(), batch_size=3, seed=4, skip_batches=skip), 8 - skip)
    assert resumed == whole[skip:]


def test_map_fn_is_applied_per_example():
    def brighten(example):
        return {**example, "images": example["images"] + 0.5}

    batch = next(iter(pipeline.make_dataset(_examples(), batch_size=2, seed=None, shuffle=False, map_fn=brighten)))
    np.testing.assert_allclose(batch["images"].numpy()[:, 0, 0, 0, 0], [0.5, 0.51], rtol=1e-6)


def test_input_context_shards_elements():
    seen = []
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline_id)
        dataset = pipeline.make_dataset(_examples(), batch_size=5, seed=0, repeat=False, input_context=context)
        (batch,) = _ids(dataset, 5)
        seen.extend(batch)
    assert sorted(seen) == list(range(NUM_EXAMPLES))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="batch_size"):
        pipeline.make_dataset(_examples(), batch_size=0, seed=0)
    with pytest.raises(ValueError, match="skip_batches"):
        pipeline.make_dataset(_examples(), batch_size=1, seed=0, skip_batches=-1)


def test_mirrored_strategy_splits_the_global_batch_over_two_replicas(mirrored_two_cpus):
    strategy = mirrored_two_cpus
    contexts = []

    def make_examples(context):
        contexts.append(context)
        return _examples()

    dataset_fn = pipeline.dataset_fn_for_strategy(make_examples, global_batch_size=4, seed=9,
                                                  shuffle_buffer=NUM_EXAMPLES)
    distributed = iter(strategy.distribute_datasets_from_function(dataset_fn))
    reference = iter(pipeline.make_dataset(_examples(), batch_size=4, seed=9, shuffle_buffer=NUM_EXAMPLES))
    assert contexts[0].num_replicas_in_sync == 2
    for _ in range(3):
        per_replica = strategy.experimental_local_results(next(distributed))
        assert len(per_replica) == 2
        replica_ids = [values["ids"].numpy().astype(int).tolist() for values in per_replica]
        assert [len(ids) for ids in replica_ids] == [2, 2]
        assert all(values["images"].shape == (2, 3, 4, 4, 1) for values in per_replica)
        global_ids = next(reference)["ids"].numpy().astype(int).tolist()
        # Replica r gets the r-th slice of the global batch the same seed gives without a strategy.
        assert replica_ids[0] + replica_ids[1] == global_ids

    with pytest.raises(ValueError, match="not divisible"):
        iter(strategy.distribute_datasets_from_function(
            pipeline.dataset_fn_for_strategy(make_examples, global_batch_size=3, seed=0)))
