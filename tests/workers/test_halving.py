"""Successive halving inside a pack (workers/schedule.py, workers/halving.py): the rung rule's exact
decisions, and a halving pack against the same models trained alone: survivors' curves are the
alone curves, a stopped model's numbers are those of a model trained alone to its rung, freed slots
are refilled, and the stacked tensors shrink to the live models."""

import math

import pytest

from hpsweep.workers.halving import train_halving
from hpsweep.workers.schedule import Candidate, Halving, RungBoard
from hpsweep.workers.trainer import TrainSettings, train_pack
from tests.workers.test_packed import random_specs, toy_task


def test_rungs_and_planned_model_epochs():
    assert Halving(3, 1).rungs(10) == (1, 3, 9)
    assert Halving(2, 2).rungs(8) == (2, 4)
    assert Halving(3, 4).rungs(5) == (4,)
    # 16 candidates, rungs 1, 3, 9 of 10 epochs: 16 x 1 + 5 x 2 + 1 x 6 + 1 x 1
    assert Halving(3, 1).model_epochs(16, 10) == 33
    assert Halving(2, 2).model_epochs(8, 8) == 8 * 2 + 4 * 2 + 2 * 4


def test_a_rung_keeps_the_top_share_of_what_it_has_seen():
    board = RungBoard(eta=3)
    # seven arrive together: floor(7/3) = 2 go on, the two best
    got = board.decide(0, 1, [(i, s) for i, s in enumerate([0.1, 0.5, 0.3, 0.9, 0.2, 0.4, 0.8])])
    assert sorted(i for i, on in got.items() if on) == [3, 6]
    # a late arrival (refill) is judged against all eight scores: top 2 of 8 -> only above 0.8 goes on
    assert board.decide(0, 1, [(7, 0.85)]) == {7: True}
    assert board.decide(0, 1, [(8, 0.7)]) == {8: False}  # 9 seen, top 3: 0.9, 0.85, 0.8
    # another group and another rung have their own records; the first arrival always goes on
    assert board.decide(1, 1, [(9, -5.0)]) == {9: True}
    assert board.decide(0, 3, [(3, 0.0)]) == {3: True}


def test_ties_go_to_the_earlier_candidate_and_nan_ranks_last():
    board = RungBoard(eta=2)
    got = board.decide(0, 1, [(5, 0.5), (2, 0.5), (7, math.nan), (1, 0.1)])
    assert got == {5: True, 2: True, 7: False, 1: False}  # floor(4/2) = 2: both 0.5s
    board = RungBoard(eta=3)
    got = board.decide(0, 1, [(5, 0.5), (2, 0.5), (7, math.nan)])
    assert got == {5: False, 2: True, 7: False}  # one place: the tie goes to queue index 2


SETTINGS = TrainSettings(epochs=5, batch_size=16, device="cpu", tf32=False)


def _alone(task, spec, epochs):
    return train_pack(task, [spec], TrainSettings(epochs=epochs, batch_size=16, device="cpu", tf32=False)).models[0]


@pytest.mark.parametrize("chunk_bytes", [None, 1])
def test_a_halving_pack_trains_each_model_as_it_would_alone_up_to_where_it_stops(chunk_bytes, monkeypatch):
    if chunk_bytes is not None:  # CPU chunks of one model each: compaction re-cuts several lanes
        monkeypatch.setattr("hpsweep.workers.pack_memory.CPU_CHUNK_BYTES", chunk_bytes)
    task = toy_task("mse", n=96)
    specs = random_specs(9, x=5, y=3, hiddens=[6, 2, 9, 4])
    candidates = [Candidate(0 if i < 6 else 1, (i,)) for i in range(9)]
    result = train_halving(task, specs, SETTINGS, Halving(2, 1), candidates, slots=4)
    statuses = [m.status for m in result.models]
    assert set(statuses) == {"ok", "stopped"} and statuses.count("ok") >= 2
    full = train_pack(task, specs, SETTINGS)
    for spec, got, ref in zip(specs, result.models, full.models):
        n = got.epochs_run
        if got.status == "stopped":
            assert n in (1, 2, 4)
            alone = _alone(task, spec, n)  # a model trained alone for exactly n epochs: same test numbers
            assert got.test_loss == pytest.approx(alone.test_loss, rel=1e-5)
            assert got.test_score == pytest.approx(alone.test_score, abs=1e-5)  # r2 near 0: an absolute tolerance
        else:
            assert n == 5 and got.test_loss == pytest.approx(ref.test_loss, rel=1e-5)
        assert len(got.val_score) == len(got.train_loss) == n
        assert got.val_score == pytest.approx(ref.val_score[:n], abs=1e-5)
        assert got.train_loss == pytest.approx(ref.train_loss[:n], rel=1e-5)
        assert got.realised == ref.realised
    # the finished models are handed on for rollouts, with their final weights
    finished = sorted(i for _, chunk in result.lanes for i in chunk)
    assert finished == [i for i, s in enumerate(statuses) if s == "ok"]


def test_freed_slots_are_refilled_and_the_stack_shrinks_to_the_live_models():
    task = toy_task("cross_entropy", n=64)
    specs = random_specs(12, x=5, y=3, hiddens=[3, 7])
    candidates = [Candidate(i % 2, (i,)) for i in range(12)]
    result = train_halving(task, specs, SETTINGS, Halving(3, 1), candidates, slots=4)
    log = result.epoch_log  # (pack epoch, models trained, models waiting, seconds)
    assert [e for e, *_ in log] == list(range(1, len(log) + 1))
    for _, live, waiting, _ in log:
        assert live <= 4
        if waiting:
            assert live == 4, log  # a queue left: every slot trains
    assert log[0][2] == 8 and log[-1][2] == 0
    trained = sum(live for _, live, _, _ in log)
    assert trained == sum(m.epochs_run for m in result.models)  # each epoch trained exactly the live models
    assert trained < 12 * 5


def test_a_configs_seeds_stop_together_on_their_mean_and_decisions_repeat():
    task = toy_task("mse", n=64)
    specs = random_specs(8, x=5, y=3, hiddens=[4, 8])
    specs = [s.__class__(**{**s.__dict__, "seed": 100 + i % 2}) for i, s in enumerate(specs)]  # two seeds each
    candidates = [Candidate(0, (2 * c, 2 * c + 1)) for c in range(4)]
    first = train_halving(task, specs, SETTINGS, Halving(2, 2), candidates, slots=8)
    for c in candidates:
        a, b = (first.models[m] for m in c.models)
        assert (a.status, a.epochs_run) == (b.status, b.epochs_run)
    at_rung = {c: sum(first.models[m].val_score[1] for m in cand.models) / 2 for c, cand in enumerate(candidates)}
    kept = sorted(at_rung, key=lambda c: -at_rung[c])[:2]  # floor(4/2) = 2 by the mean at rung 2
    assert sorted(c for c, cand in enumerate(candidates) if first.models[cand.models[0]].epochs_run > 2) == sorted(kept)
    again = train_halving(task, specs, SETTINGS, Halving(2, 2), candidates, slots=8)
    assert [(m.status, m.epochs_run, m.val_score, m.test_score) for m in again.models] == [
        (m.status, m.epochs_run, m.val_score, m.test_score) for m in first.models
    ]


def test_a_candidate_larger_than_the_pack_is_refused():
    task = toy_task("mse", n=32)
    specs = random_specs(3, x=5, y=3, hiddens=[4])
    with pytest.raises(ValueError, match="more models than the pack's 2 slots"):
        train_halving(task, specs, SETTINGS, Halving(2, 1), [Candidate(0, (0, 1, 2))], slots=2)
