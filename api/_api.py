"""The Python API behind `import hpsweep as hs`: documented entries to the same layer functions the
CLI commands call (sweep.scale.load_scaled, sweep.coordinator.run_sweep, analysis.pipeline, ...).

Everything heavy (Ray, torch, Polars, scikit-learn) is imported inside the function that needs
it, so `import hpsweep` stays light and works on a machine that has only some of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hpsweep.sweep.locations import DEFAULT_RESULTS

if TYPE_CHECKING:  # for the annotations only
    from hpsweep.analysis.analyze import AnalysisResult
    from hpsweep.analysis.recommend import Recommendation
    from hpsweep.sweep.coordinator import RunReport
    from hpsweep.sweep.spec import SweepSpec
    from hpsweep.workers.descriptors import Densities, ModelDescriptor
    from hpsweep.workers.results import Results


def load_spec(
    spec: str | Mapping[str, Any] | SweepSpec | None,
    scale: str | None = None,
    echo: Callable[[str], None] | None = None,
) -> SweepSpec:
    """A validated sweep spec from a YAML path, a shipped spec name, a dict, or a SweepSpec.

    Args:
        spec: a path to a YAML file, a shipped spec name (`quickstart`, `dims`, ...), the spec as a
            dict (what the YAML file would hold), an already loaded SweepSpec, or None (quickstart).
        scale: run it smaller or larger, as `hpsweep run --scale` ("0.1", "data=0.5,epochs=2").
        echo: where the one line naming the scaled sweep goes (None: nowhere).

    Returns:
        The frozen SweepSpec.

    Raises:
        SpecError: the spec does not validate (one line naming the field and the value).
    """
    from hpsweep.sweep.scale import load_scaled

    return load_scaled(spec, scale, echo)


def run(
    spec: str | Mapping[str, Any] | SweepSpec | None = None,
    results: str = DEFAULT_RESULTS,
    address: str | None = None,
    *,
    retry_failed: bool = False,
    scale: str | None = None,
    progress: bool | None = False,
    echo: Callable[[str], None] | None = print,
    verbose: bool = False,
) -> RunReport:
    """Run a sweep (or resume it: trials already in `results` are skipped) and wait for it.

    Args:
        spec: a YAML path, a shipped spec name, a dict, or a SweepSpec (see load_spec); None runs
            the quickstart.
        results: results root, a local directory or a URI (s3://bucket/prefix, gs://..., file://...).
        address: Ray cluster ('auto', 'ray://head:10001'); None uses a Ray this process already
            runs, else RAY_ADDRESS, else starts a local Ray and stops it afterwards.
        retry_failed: run trials whose pack failed in an earlier run again.
        scale: run the spec smaller or larger, as `hpsweep run --scale` ("0.1", "data=0.5,epochs=2").
        progress: a live bar (True), log lines (False), or decide by whether stdout is a terminal (None).
        echo: where the run's own lines go (None: nowhere).
        verbose: show Ray's own start-up messages (hidden otherwise).

    Returns:
        RunReport: sweep_id, planned, skipped, packs run now, failed_packs, pack_nodes, seconds.

    Raises:
        SpecError, TaskError, StoreError: user errors, raised before Ray starts.
        KeyboardInterrupt: on Ctrl-C; every pack that finished is saved, and the same call resumes.
    """
    from hpsweep.sweep.coordinator import run_sweep
    from hpsweep.sweep.locations import check_results_for_cluster, resolve_results

    # Ray workers run in other directories: they get the absolute path (URIs stay as they are)
    root = resolve_results(results)
    check_results_for_cluster(results, address)
    say = echo or (lambda *_: None)
    sweep_spec = load_spec(spec, scale, say)
    return run_sweep(
        sweep_spec, root, address=address, retry_failed=retry_failed, live=progress, echo=say, verbose=verbose
    )


def results(root: str = DEFAULT_RESULTS, sweep: str | None = None) -> Results:
    """The trials and curves of a results root as Polars LazyFrames of the winning rows.

    Args:
        root: a local directory or a URI (s3://bucket/prefix?endpoint_override=..., gs://...).
        sweep: one sweep id; None reads every sweep in the root.

    Returns:
        Results(trials, curves): LazyFrames in the schema of hpsweep.workers.schema (winning row per
        trial: the results layer's rule, hpsweep.workers.results); nothing is read until
        you `.collect()`.

    Raises:
        StoreError: the root cannot be opened, the sweep id is not a safe name, or a part is not
            one hpsweep wrote (the results layer's one-line messages).
    """
    from hpsweep.workers.results import results as read_results

    return read_results(root, sweep)


def load_model(results: str, trial_id: str, *, sweep: str | None = None, device: str = "cpu"):
    """A kept model as the reference block RNN (hpsweep.workers.model.BlockRNN): trained weights and
    masks, in eval mode on `device`. Its outputs on the task's test split give the stored test score.

    Args:
        results: the results root (a path or URI) whose sweep kept the model (spec `keep:`).
        trial_id: the trial's id (`hpsweep models RESULTS` lists the kept ones).
        sweep: the sweep id, when several sweeps in the root have this trial id.

    Raises:
        HpsweepError: an unknown trial, a model that was not kept, a diverged or failed trial, a
            damaged or foreign weights file (one line each).
    """
    from hpsweep.workers.kept_models import to_module
    from hpsweep.workers.results import ResultsStore
    from hpsweep.workers.results.kept import kept_file, winning_row

    store = ResultsStore(results)
    store.require_root()
    meta, tensors, where = kept_file(store, winning_row(store, trial_id, sweep))
    return to_module(meta, tensors, trial_id, where, device)


def describe(
    input_dim: int,
    output_dim: int,
    *,
    budget: float | None = None,
    hidden: int | None = None,
    densities: Densities | Sequence[float] | Mapping[str, float] | None = None,
    code: str | None = None,
    base: float | None = None,
    round_densities: bool = False,
) -> ModelDescriptor:
    """Describe a block RNN before building it: hidden size, expected weights per block, balance metrics.

    Args:
        input_dim, output_dim: |x| and |y| of the data set.
        budget: trainable-weight budget; |h| is solved from it (give this or `hidden`).
        hidden: |h| directly.
        densities: six densities hx, hh, hy, yx, yh, yy in (0, 1] (a sequence, or a dict by block name,
            missing blocks dense); default dense.
        code: a structure code instead, six bits hx..yy (1 dense, 0 `base`, default 0.2).
        base: the density of the code's 0 bits.
        round_densities: round densities to 2 decimals before solving |h|, as the paper's configs did.

    Returns:
        ModelDescriptor: hidden, d_*/n_* per block, total_weights, hidden_proportion, ...;
        `.to_dict()` gives plain values.

    Raises:
        DescriptorError: bad dims, densities, budget, code, or both/neither of budget and hidden.
    """
    from hpsweep.workers.descriptors import Densities
    from hpsweep.workers.descriptors import describe as describe_model

    return describe_model(
        input_dim,
        output_dim,
        Densities.parse(densities, code, base),
        hidden=hidden,
        budget=budget,
        round_densities=round_densities,
    )


def analyze(
    root: str = DEFAULT_RESULTS,
    *,
    sweeps: Sequence[str] = (),
    tasks: Sequence[str] = (),
    statuses: Sequence[str] = ("ok",),
    max_rows_per_task: int = 4000,
    save: bool = True,
    report: str | None = None,
) -> AnalysisResult:
    """Fit the meta-models on a results root and score them task by task (leave one task out).

    Args:
        root: results root (path or URI).
        sweeps, tasks: keep only these sweep ids / tasks (empty: all).
        statuses: final statuses to keep (default ok, which keeps a halving sweep's stopped trials too).
        max_rows_per_task: rows per task the models are fit and scored on (a seeded sample).
        save: save the fitted models under the root, where `recommend` finds them.
        report: a folder to write the HTML report into (None: no report).

    Returns:
        AnalysisResult: `.metrics()` (plain dict), `.per_task`, `.ranking` (Polars), `.chosen`
        (the model recommend uses), `.warnings()`.

    Raises:
        StoreError: no or unreadable results. AnalysisError: too few tasks after filtering.
    """
    from hpsweep.analysis.pipeline import analyze_root, options

    return analyze_root(
        root,
        options(sweeps, tasks, statuses, max_rows_per_task, filters_hint="sweeps=/tasks=/statuses="),
        save=save,
        report=report,
    )[0]


def recommend(
    root: str,
    input_dim: int,
    output_dim: int,
    budget: float,
    *,
    top: int = 5,
    sweeps: Sequence[str] = (),
    tasks: Sequence[str] = (),
    seq_len: int | None = None,
    n_train: int | None = None,
    lr: float | None = None,
    epochs: int | None = None,
    kind: str | None = None,
) -> Recommendation:
    """The densities to build for a new data set and weight budget, predicted before training.

    Uses the models an earlier `analyze` saved under `root` with the same sweeps/tasks; fits and
    saves them first when they are missing or older than the results.

    Args:
        root: results root to learn from.
        input_dim, output_dim: |x| and |y| of the new data set.
        budget: trainable-weight budget; each config's |h| is solved from it.
        top: how many configs.
        sweeps, tasks: learn only from these (empty: all).
        seq_len, n_train, lr, epochs: the planned setting (None: the median of the swept trials).
        kind: "classification" (scored by accuracy) or "regression" (r2); None: the predictions
            averaged over the kinds the results hold.

    Returns:
        A Polars DataFrame, best first: rank, config, d_hx..d_yy, hidden, total_weights,
        hidden_proportion, predicted, low, high (the predicted standing among the candidates, 1 = first,
        and the 5%..95% of the standing such picks reached on held-out tasks); from a score model also
        score, score_low, score_high. Its `.verdict` is the verdict against dense: {gain, low, high,
        score_name, sentence, config}, the top sparse pick's expected gain over the dense model at this
        budget with a held-out-calibrated 90% interval (None numbers, and the sentence says why, when
        there is none). Its `.nearby` says how the order held up on the held-out task x budget groups
        nearest this request: {k, kendall, kendall_range, regret1, regret5, families, groups, warned,
        sentence} (analysis/nearby.py; None from models saved without it).

    Raises:
        AnalysisError: too few tasks, or a dim, budget, length, size or kind the results cannot answer for.
        DescriptorError: bad dims or budget.
    """
    from hpsweep.analysis.pipeline import options, recommend_for
    from hpsweep.analysis.recommend import Recommendation

    # the request is checked before anything is fitted (a zero --lr is one line, never NaN features)
    table, _, _, verdict, near = recommend_for(
        root,
        options(sweeps, tasks, filters_hint="sweeps=/tasks="),
        input_dim,
        output_dim,
        budget,
        top=top,
        seq_len=seq_len,
        n_train=n_train,
        lr=lr,
        epochs=epochs,
        kind=kind,
    )
    out = Recommendation(table)
    out.verdict = verdict
    out.nearby = near
    return out


def dashboard(
    root: str = DEFAULT_RESULTS,
    *,
    port: int = 8765,
    host: str = "127.0.0.1",
    block: bool = True,
    echo: Callable[[str], None] | None = print,
    refresh_s: float = 2.0,
):
    """Serve a live, read-only dashboard of a results root in the browser (`hpsweep dashboard`).

    Args:
        root: results root (path or URI) holding at least one sweep.
        port: port to listen on (0: any free port; the chosen one is in `.url`).
        host: address to listen on; the default serves this machine only (any other prints a warning).
        block: serve until Ctrl-C (True), or start in a background thread and return (False: notebooks).
        echo: where the line with the address goes (None: nowhere).
        refresh_s: how often the page asks for news.

    Returns:
        The server: `.url` is the page's address; `.stop()` ends a background one.

    Raises:
        StoreError: the root does not exist, holds no sweeps, or cannot be read.
        DashboardError: the port is in use or the host is not this machine's.
    """
    from hpsweep.sweep.dashboard.server import serve

    return serve(str(root), host=host, port=port, block=block, echo=echo, refresh_s=refresh_s)
