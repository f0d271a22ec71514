"""Progress: plain lines off a terminal, a live bar on one; both count packs and models."""

import io

from hpsweep.sweep.progress import SweepProgress


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
