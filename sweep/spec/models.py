"""The spec's fields, each defined once: frozen pydantic models that forbid unknown fields.

A field's type annotation carries its rule (rules.py); its comment says what it means. The
models are what a user writes (`SpecDocument`); `build.py` expands them into the `SweepSpec`
the planner reads (sampled tasks drawn, task defaults filled in).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator, model_validator

from hpsweep.sweep.spec.rules import (
    CODE,
    DENSITY,
    LR,
    NAME,
    SEED_MAX,
    TASK_NAME,
    Bool,
    PosInt,
    Seed,
    fail,
    integer,
    many,
    number,
    one,
    one_of,
)
from hpsweep.workers.descriptors import BLOCKS
from hpsweep.workers.errors import HpsweepError

RANDOM_METHODS = ("paper", "paper-densities")
"""`paper`: densities clip(|N(0.5, 0.25)|, 0.02, 1) and lr clip(N(1e-3, 4e-4), >= 1e-6) (docs/method.md §5);
`paper-densities`: the same densities, learning rates from the lr list."""
SPARSITY = (
    "is not accepted: hpsweep speaks of density (the share of weights kept, 1.0 = dense); rename it to a density field"
)
KEEP_MODELS = ("none", "best", "all")
KEEP_GROUPS = ("task", "budget", "hidden", "densities", "lr")  # trial fields a `keep: per:` group may use
DEFAULT_MAX_TRIALS = 100_000
"""Plans above this many trials need `max_trials:` in the spec (planning 1M trials: docs/sweep.md)."""

Densities = Annotated[tuple[float, ...], many(DENSITY)]
Count = Annotated[int, one(integer(1, 1_000_000))]


class Section(BaseModel):
    """A mapping of known fields: frozen, no extras, the word `sparsity` refused, one message shape."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, raw: Any) -> Any:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise fail("must be a mapping of fields", raw)
        for key in raw:
            if "sparsity" in str(key).lower():
                raise fail(SPARSITY, sub=f".{key}")
            if key not in cls.model_fields:
                raise fail(f"is not a field here; valid fields: {', '.join(cls.model_fields)}", sub=f".{key}")
        raw = {k: v for k, v in raw.items() if v is not None}  # null means "the default", as it always did
        cls._check_fields(raw)
        return raw

    @classmethod
    def _check_fields(cls, raw: dict) -> None:
        """Rules across fields of the raw mapping (after unknown fields, before each field's rule)."""


class RandomDraws(Section):
    """Seeded random density configurations."""

    count: Count  # how many configurations to draw per task
    method: Annotated[str, one(one_of(RANDOM_METHODS))] = "paper"  # one of RANDOM_METHODS
    seed: Seed = 0  # seed of the draws (not of the models)
    shared: Bool = False  # true: the same draws on every task (seeded by seed alone, not by the task)


class Grid(Section):
    """Per block, the values of a cartesian grid; a block left out stays at 1.0."""

    hx: Densities = (1.0,)
    hh: Densities = (1.0,)
    hy: Densities = (1.0,)
    yx: Densities = (1.0,)
    yh: Densities = (1.0,)
    yy: Densities = (1.0,)

    def axes(self) -> tuple[tuple[float, ...], ...]:
        return tuple(getattr(self, b) for b in BLOCKS)


class DensityChoices(Section):
    """Which density configurations a task sweeps; the union of every form given."""

    uniform: Densities = ()  # all six blocks at each of these densities (1.0 = dense)
    codes: Annotated[tuple[str, ...], many(CODE)] = ()  # six bits hx,hh,hy,yx,yh,yy; 1 = dense, 0 = base
    base: Densities = (0.2,)  # base densities of the 0 bits of codes (the paper used 0.2)
    grid: Grid | None = None  # cartesian grid of per-block values
    random: RandomDraws | None = None  # random draws

    @classmethod
    def _check_fields(cls, raw: dict) -> None:
        if not any(k in raw for k in ("uniform", "codes", "grid", "random")):
            raise fail("must give at least one of uniform, codes, grid, random", raw)
        if "base" in raw and "codes" not in raw:
            raise fail("only applies to codes; add codes or remove base", sub=".base")


class Sample(Section):
    """Tasks drawn from a family (sweep/spec/sampling.py): distributions over its parameters."""

    family: Annotated[str, one(TASK_NAME)]  # rad, teacher, prototype or lorenz
    count: Annotated[int, one(integer(1, 10_000))]  # distinct tasks to draw
    seed: Seed = 0  # same seed, same tasks
    params: dict[str, Any] = {}  # parameter -> value or {uniform|log_uniform: [low, high]} or {choice: [...]}


class TaskEntry(Section):
    """One task (or a sample of tasks) and the models swept on it."""

    task: Annotated[str | None, one(TASK_NAME, optional=True)] = None  # e.g. teacher(x=8,y=4,t=10)
    sample: Sample | None = None  # instead of task: draw tasks of one family
    data_seed: Seed = 0  # seed of the task's data (model seeds are training.seeds)
    budgets: Annotated[tuple[float, ...], many(number(0.0, True, 1e12))] = ()  # trainable-weight budgets P
    hidden: Annotated[tuple[int, ...], many(integer(1, 10**6))] = ()  # or |h| directly (one of the two)
    densities: DensityChoices | None = None  # default: the spec's top-level densities
    round_densities: Bool = False  # round densities to 2 decimals before solving |h|, as the original configs
    lr: Annotated[tuple[float, ...], many(LR)] = ()  # Adam learning rates (default training.lr)
    epochs: Annotated[int | None, one(integer(1, 10**6), optional=True)] = None  # default training.epochs
    batch_size: Annotated[int | None, one(integer(1, 10**6), optional=True)] = None  # default training.batch_size
    min_dense_hidden: Annotated[int | None, one(integer(1, 10**6), optional=True)] = None
    # ^ budgets giving the dense model fewer |h| are left out for this task (sampled tasks vary in |x|)

    @classmethod
    def _check_fields(cls, raw: dict) -> None:
        if raw.get("task") is None and raw.get("sample") is None:
            raise fail("is required (or a sample: block that draws tasks)", sub=".task")
        if raw.get("task") is not None and raw.get("sample") is not None:
            raise fail("must give exactly one of task and sample", {k: raw.get(k) for k in ("task", "sample")})
        if (raw.get("budgets") is None) == (raw.get("hidden") is None):
            raise fail("must give exactly one of budgets and hidden", {k: raw.get(k) for k in ("budgets", "hidden")})

    @field_validator("task")
    @classmethod
    def _known_task(cls, name: str | None, info: ValidationInfo) -> str | None:
        check = (info.context or {}).get("check_task")
        if name is None or check is None:
            return name
        try:
            return check(name)
        except HpsweepError as e:
            reason = str(e) if len(str(e)) <= 300 else str(e)[:297] + "..."  # it may quote the whole name
            # a known family with a bad parameter or a missing file is not "unknown": say what is wrong with it
            what = "is not a known task" if reason.startswith("unknown task") else "cannot be used"
            raise fail(f"{what} ({reason})", name) from None


SCHEDULE_KINDS = ("halving",)


class Schedule(Section):
    """In-pack successive halving (docs/sweep.md, "Successive halving"): models of one group (same
    task, budget or |h|, and lr; a config's seeds together, scored by their mean) are compared at
    rungs min_epochs * eta^k < epochs; a config outside the top 1/eta of its group at a rung stops."""

    kind: Annotated[str, one(one_of(SCHEDULE_KINDS))] = "halving"
    eta: Annotated[
        int, one(integer(2, 100), " (eta is the reduction factor: 2 keeps half at each rung, 3 a third)")
    ] = 3
    min_epochs: Annotated[int, one(integer(1, 10**6))] = 1  # the first rung

    def describe(self) -> str:
        """The text of the results' `schedule` column."""
        return f"{self.kind} eta={self.eta} min_epochs={self.min_epochs}"


class Training(Section):
    """Training settings shared by every task unless a task overrides them."""

    lr: Annotated[tuple[float, ...], many(LR)] = (1e-3,)  # Adam learning rates (a list is swept)
    epochs: PosInt = 10
    batch_size: PosInt = 32
    seeds: Annotated[tuple[int, ...], many(integer(0, SEED_MAX, " (seeds must fit the RNG: 32 bits)"))] = (0,)
    # ^ model seeds: masks, initial weights, batch order
    init_std: Annotated[float, one(number(0.0, True, 10.0))] = 0.05  # std of kept entries at init (docs/method.md §1)
    schedule: Schedule | None = None  # successive halving inside the pack; None: every model trains every epoch


class PackSettings(Section):
    """How trials are grouped into packs that train as one batched computation."""

    max_models: Annotated[int, one(integer(1, 100_000))] = 64  # most models in one pack
    memory_gb: Annotated[float | None, one(number(0.0, True, 1e6), optional=True)] = None
    # ^ device memory one pack may use; None: from the device (or 2 GB on CPU)
    device: Annotated[str, one(one_of(("auto", "cpu", "cuda")))] = "auto"
    threads: Annotated[int | None, one(integer(1, 4096), optional=True)] = None  # torch threads; None: resources.cpus


class Resources(Section):
    """What Ray reserves per pack, and how failures are retried."""

    # the int defaults are what earlier versions hashed: a float here would move every spec hash
    cpus: Annotated[float, one(number(0.0, True, 4096))] = 1  # CPUs per pack (more than 0)
    gpus: Annotated[float, one(number(0.0, False, 64))] = 0  # GPUs per pack; fractions share one GPU
    max_concurrent: Annotated[int | None, one(integer(1, 10**6), optional=True)] = None  # None: as resources allow
    max_failures: Annotated[int, one(integer(0, 100))] = 2  # retries of a failing pack before its trials fail


class Keep(Section):
    """Which trained models' weights and masks the packs write beside their rows (docs/sweep.md)."""

    models: Annotated[str, one(one_of(KEEP_MODELS))] = "none"  # none | best (top per group) | all
    per: Annotated[tuple[str, ...], many(one_of(KEEP_GROUPS))] = ("task",)  # what a group is, for best
    top: Annotated[int, one(integer(1, 1000))] = 1  # models kept per group, for best


def _task_list(v: Any) -> Any:
    if not isinstance(v, (list, tuple)) or not v:
        raise fail("must be a non-empty list of task entries", v)
    if len(v) > 10_000:
        raise fail("must list at most 10000 entries (use sample: to draw many tasks)", f"{len(v)} entries")
    return v


class SpecDocument(Section):
    """A sweep spec as written: validated, frozen, not yet expanded."""

    name: Annotated[str, one(NAME)]  # the sweep id in the results store
    tasks: Annotated[tuple[TaskEntry, ...], BeforeValidator(_task_list)]
    training: Training = Training()
    pack: PackSettings = PackSettings()
    resources: Resources = Resources()
    keep: Keep = Keep()
    densities: DensityChoices | None = None  # the candidate set of every task entry without its own
    max_trials: Annotated[int, one(integer(1, 100_000_000))] = DEFAULT_MAX_TRIALS
    # ^ plans above this size are refused (a typo in a count should not plan for minutes)

    @model_validator(mode="after")
    def _densities_given(self) -> SpecDocument:
        for i, t in enumerate(self.tasks):
            if t.densities is None and self.densities is None:
                raise fail(
                    "is required: give uniform, codes (+ base), grid and/or random", sub=f".tasks[{i}].densities"
                )
        return self

    @model_validator(mode="after")
    def _schedule_fits_epochs(self) -> SpecDocument:
        schedule = self.training.schedule
        if schedule is None:
            return self
        epochs = [("training.epochs", self.training.epochs)]
        epochs += [(f"tasks[{i}].epochs", t.epochs) for i, t in enumerate(self.tasks) if t.epochs is not None]
        for where, n in epochs:
            if schedule.min_epochs >= n:
                raise fail(
                    f"must be below {where} ({n}): the first rung has to come before the last epoch; "
                    f"lower min_epochs or train longer",
                    schedule.min_epochs,
                    sub=".training.schedule.min_epochs",
                )
        return self
