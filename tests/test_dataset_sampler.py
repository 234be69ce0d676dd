"""``BatchSampler`` hands out every index once per epoch in a seeded order, and a sampler restored from
``state_dict`` continues with exactly the batches the original would have given."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ding_lite.datasets import DatasetError
from ding_lite.datasets.sampler import BatchSampler


@pytest.mark.parametrize("drop_last", [False, True])
def test_an_epoch_covers_every_index_once(drop_last: bool) -> None:
    sampler = BatchSampler(103, batch_size=10, seed=5, drop_last=drop_last)
    batches = list(sampler)
    assert len(batches) == len(sampler) == (10 if drop_last else 11)
    seen = np.concatenate(batches)
    assert len(seen) == (100 if drop_last else 103) and len(set(seen.tolist())) == len(seen)
    assert all(len(b) == 10 for b in batches[:10])


def test_epochs_differ_and_depend_only_on_seed_and_epoch() -> None:
    first, again = BatchSampler(50, 50, seed=1), BatchSampler(50, 50, seed=1)
    epochs = [first.next_batch() for _ in range(3)]
    assert not np.array_equal(epochs[0], epochs[1])
    np.testing.assert_array_equal(epochs[2], again.order(2))
    assert not np.array_equal(BatchSampler(50, 50, seed=2).order(0), epochs[0])


def test_a_restored_sampler_continues_with_the_same_batches() -> None:
    straight = BatchSampler(37, batch_size=8, seed=3)
    expected = [straight.next_batch() for _ in range(20)]  # crosses several epochs
    interrupted = BatchSampler(37, batch_size=8, seed=3)
    head = [interrupted.next_batch() for _ in range(7)]
    state = json.loads(json.dumps(interrupted.state_dict()))  # JSON-able, as checkpoints keep it
    resumed = BatchSampler(37, batch_size=8, seed=3)
    resumed.load_state_dict(state)
    tail = [resumed.next_batch() for _ in range(13)]
    for want, got in zip(expected, head + tail):
        np.testing.assert_array_equal(want, got)


def test_restoring_into_other_settings_is_refused_naming_the_key() -> None:
    state = BatchSampler(37, batch_size=8).state_dict()
    with pytest.raises(DatasetError, match="batch_size=8 but this sampler has 16"):
        BatchSampler(37, batch_size=16).load_state_dict(state)
