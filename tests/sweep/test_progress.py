"""Progress: plain lines off a terminal, a live bar on one; both count packs and models."""

import io

import pytest

from hpsweep.sweep.progress import ESTIMATING_SECONDS, SLOT_OVERHEAD, STEP_OVERHEAD, SweepProgress, pack_work


def _drive(progress):
    progress.on_epoch("p1", {"epoch": 1, "epochs": 2, "best_val_score": 0.25})
    progress.on_pack_done("p1", {"models": 3, "ok": 3, "diverged": 0, "best_val_score": 0.5})
    progress.on_pack_retry("p2", "RuntimeError: boom")
    progress.on_pack_failed("p2", "RuntimeError: boom")
    progress.close()


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    progress = SweepProgress(2, 5, {"p1": 3, "p2": 2}, stream=out)
    assert not progress.live
    _drive(progress)
    lines = out.getvalue().splitlines()
    assert "packs 1/2  models 3/5" in lines[0] and "best 0.5000" in lines[0] and "(p1: 3 ok, 0 diverged)" in lines[0]
    assert lines[1].endswith("pack p2 failed (RuntimeError: boom); retrying")
    assert lines[2].endswith("pack p2 failed after all retries (RuntimeError: boom); its 2 trials are marked failed")
    assert (progress.packs_done, progress.models_done, progress.failed_packs, progress.best) == (2, 5, 1, 0.5)


def test_live_bar_on_a_terminal():
    out = io.StringIO()
    progress = SweepProgress(2, 5, {"p1": 3, "p2": 2}, live=True, stream=out)
    _drive(progress)
    text = out.getvalue()
    assert "packs 2/2  models 5/5" in text and "best 0.5000" in text
    assert "pack p2 failed after all retries" in text


def test_a_pack_whose_rows_a_reader_cannot_see_is_never_counted_ok():
    out = io.StringIO()
    progress = SweepProgress(2, 5, {"p1": 3, "p2": 2}, stream=out, visible=lambda pid: pid == "p2", where="res")
    progress.on_pack_done("p1", {"models": 3, "ok": 3, "diverged": 0, "best_val_score": 0.5})
    progress.on_pack_done("p2", {"models": 2, "ok": 2, "diverged": 0, "best_val_score": 0.25})
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("pack p1 trained 3 models but its rows are not in res; they count as missing")
    assert "packs 2/2  models 2/5" in lines[1] and "(p2: 2 ok, 0 diverged)" in lines[1]
    assert progress.unseen == ["p1"] and progress.models_done == 2 and progress.best == 0.25


def test_the_live_bar_moves_per_epoch_while_a_pack_trains():
    out = io.StringIO()
    progress = SweepProgress(1, 4, {"p1": 4}, live=True, stream=out)
    progress.on_epoch("p1", {"epoch": 1, "epochs": 4, "best_val_score": None})
    assert progress._bar.tasks[0].completed == 1.0
    progress.on_epoch("p1", {"epoch": 3, "epochs": 4, "best_val_score": 0.1})
    assert progress._bar.tasks[0].completed == 3.0
    progress.on_pack_done("p1", {"models": 4, "ok": 4, "diverged": 0, "best_val_score": 0.2})
    assert progress._bar.tasks[0].completed == 4.0
    progress.close()


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_eta_weighs_packs_by_work_from_the_first_epoch_report():
    """Packs run biggest first: counting models would say 16 s here; the work left says 6 minutes.
    p1 (3 models, work 100) trains 2 epochs; p2 (2 models, work 900) is still ahead."""
    out, clock = io.StringIO(), Clock()
    progress = SweepProgress(2, 5, {"p1": 3, "p2": 2}, stream=out, work={"p1": 100.0, "p2": 900.0}, clock=clock)
    assert progress.eta is None  # nothing measured yet
    clock.now = 4.0  # Ray started, data generated, the first epoch trained: all before the rate's start
    progress.on_epoch("p1", {"epoch": 1, "epochs": 2, "best_val_score": 0.1})
    assert progress.eta is None  # no pack done yet
    clock.now = 24.0
    progress.on_pack_done("p1", {"models": 3, "ok": 3, "diverged": 0, "best_val_score": 0.5})
    # work 50 (p1's second epoch) in 20 s = 2.5 per s; 900 left -> 360 s
    assert progress.eta == pytest.approx(360.0)
    assert "packs 1/2  models 3/5" in out.getvalue() and "ETA 0:06:00" in out.getvalue()
    clock.now = 44.0
    progress.on_epoch("p2", {"epoch": 1, "epochs": 3, "best_val_score": 0.2})  # 300 of p2's work done
    assert progress.eta == pytest.approx(600 / (350 / 40))
    progress.close()


def test_the_eta_says_estimating_until_training_has_run_ten_seconds():
    out, clock = io.StringIO(), Clock()
    progress = SweepProgress(2, 4, {"p1": 2, "p2": 2}, stream=out, work={"p1": 1.0, "p2": 1.0}, clock=clock)
    clock.now = 30.0
    progress.on_epoch("p1", {"epoch": 1, "epochs": 4, "best_val_score": None})
    clock.now = 30.0 + ESTIMATING_SECONDS - 1
    progress.on_pack_done("p1", {"models": 2, "ok": 2, "diverged": 0, "best_val_score": 0.5})
    assert progress.eta is None and "ETA estimating" in out.getvalue()
    clock.now = 30.0 + ESTIMATING_SECONDS
    assert progress.eta == pytest.approx(1.0 / (0.75 / ESTIMATING_SECONDS))
    progress.close()


def test_without_work_weights_each_model_weighs_the_same():
    clock = Clock()
    progress = SweepProgress(2, 4, {"p1": 1, "p2": 3}, stream=io.StringIO(), clock=clock)
    progress.on_epoch("p1", {"epoch": 1, "epochs": 1, "best_val_score": None})
    clock.now = 20.0
    progress.on_epoch("p2", {"epoch": 1, "epochs": 2, "best_val_score": None})
    progress.on_pack_done("p1", {"models": 1, "ok": 1, "diverged": 0, "best_val_score": 0.5})
    assert progress.eta == pytest.approx(1.5 / (1.5 / 20.0))  # 1.5 models' worth done in 20 s, 1.5 left
    progress.close()


def test_pack_work_counts_slots_inputs_and_the_fixed_cost_of_each_batch_step():
    # 2 epochs of ceil(100 / 32) = 4 batches of 5 time steps: 40 (batch, time step) pairs
    assert (
        pack_work(
            models=32, hidden_max=90, input_dim=20, output_dim=10, seq_len=5, n_train=100, epochs=2, batch_size=32
        )
        == 2 * 100 * 5 * 32 * 100 * (100 + 20 + SLOT_OVERHEAD) + 40 * STEP_OVERHEAD
    )


def test_the_live_bar_shows_the_same_eta():
    out, clock = io.StringIO(), Clock()
    progress = SweepProgress(
        2, 5, {"p1": 3, "p2": 2}, live=True, stream=out, work={"p1": 100.0, "p2": 900.0}, clock=clock
    )
    assert progress._bar.tasks[0].fields["eta"] == "estimating"
    clock.now = 4.0
    progress.on_epoch("p1", {"epoch": 1, "epochs": 2, "best_val_score": 0.1})
    clock.now = 24.0
    progress.on_pack_done("p1", {"models": 3, "ok": 3, "diverged": 0, "best_val_score": 0.5})
    assert progress._bar.tasks[0].fields["eta"] == "0:06:00"
    progress.close()
