"""What `analyze` and `recommend` do over a results root, step by step, for the CLI and the API.

analyze: fit and judge every meta-model, save the fitted models beside the results (where
recommend finds them), write the report. recommend: check the request before anything is fitted,
load the saved models (refitting them when missing or older than the results), rank candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hpsweep.analysis.analyze import AnalysisOptions, AnalysisResult


def options(
    sweeps: Sequence[str] = (),
    tasks: Sequence[str] = (),
    statuses: Sequence[str] = ("ok",),
    max_rows_per_task: int = 4000,
    filters_hint: str | None = None,
) -> AnalysisOptions:
    """AnalysisOptions from user filters; a bare string means one value ("a" is ("a",), not per letter)."""
    one = lambda v: (v,) if isinstance(v, str) else tuple(v)
    hint = {} if filters_hint is None else {"filters_hint": filters_hint}  # how the caller names the filters
    return AnalysisOptions(
        sweeps=one(sweeps),
        tasks=one(tasks),
        statuses=one(statuses) or ("ok",),
        max_rows_per_task=max_rows_per_task,
        **hint,
    )


def analyze_root(
    root: str, opts: AnalysisOptions, *, save: bool = True, report: str | None = None
) -> tuple[AnalysisResult, str | None, str | None]:
    """(result, the saved models' folder or None, the report or None)."""
    from hpsweep.analysis.analyze import analyze
    from hpsweep.analysis.load import fingerprint

    fp = fingerprint(root) if save else None  # taken before reading, so newer parts mark the models stale
    result = analyze(root, opts)
    model_dir = report_path = None
    if save:
        from hpsweep.analysis.saved import save as save_models

        model_dir = save_models(root, opts, result, fp)
    if report is not None:
        from hpsweep.analysis.report import write_report

        report_path = write_report(result, Path(report), root)
    return result, model_dir, report_path


def recommend_for(
    root: str,
    opts: AnalysisOptions,
    input_dim: int,
    output_dim: int,
    budget: float,
    *,
    top: int = 5,
    seq_len: int | None = None,
    n_train: int | None = None,
    lr: float | None = None,
    epochs: int | None = None,
    kind: str | None = None,
):
    """(table, the saved models' bundle, whether they were refitted now, the verdict against dense, how the
    order held up on held-out tasks near the request: analysis/nearby.py, None from an older bundle)."""
    from hpsweep.analysis.nearby import nearby
    from hpsweep.analysis.recommend import check_request, recommend_with_verdict
    from hpsweep.analysis.saved import load_or_fit

    request = dict(top=top, seq_len=seq_len, n_train=n_train, lr=lr, epochs=epochs, kind=kind)
    check_request(input_dim, output_dim, budget, **request)  # before any fitting: a bad value is one line
    bundle, refitted = load_or_fit(root, opts)
    table, verdict = recommend_with_verdict(bundle, input_dim, output_dim, budget, **request)
    near = nearby(bundle, input_dim, output_dim, budget, seq_len=seq_len, kind=kind)
    return table, bundle, refitted, verdict, near
