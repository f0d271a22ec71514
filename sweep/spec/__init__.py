"""Sweep specs: the YAML a user writes, validated into frozen models before Ray starts.

Each field is defined once, in models.py (type, rule, default, meaning); every mistake becomes
one message of one shape, naming the file, the field path and the value:

    spec.yaml: tasks[1].densities.grid.hh must be a density in (0, 1]; got 1.5

The word `sparsity` is refused everywhere (docs/method.md §1): we only speak of density.
Modules: rules (field constraints), models (the fields), errors (one line), loading (safe
YAML), sampling (sampled tasks), build (expansion, hash).
"""

from hpsweep.sweep.spec.build import SPEC_VERSION, SweepSpec, TaskSweep, load_spec, parse_spec
from hpsweep.sweep.spec.loading import shipped_specs
from hpsweep.sweep.spec.models import (
    DEFAULT_MAX_TRIALS,
    RANDOM_METHODS,
    DensityChoices,
    Grid,
    PackSettings,
    RandomDraws,
    Resources,
    Sample,
    Schedule,
    SpecDocument,
    TaskEntry,
    Training,
)

__all__ = [
    "SweepSpec",
    "TaskSweep",
    "TaskEntry",
    "SpecDocument",
    "Training",
    "PackSettings",
    "Resources",
    "DensityChoices",
    "Grid",
    "Schedule",
    "RandomDraws",
    "Sample",
    "parse_spec",
    "load_spec",
    "shipped_specs",
    "RANDOM_METHODS",
    "DEFAULT_MAX_TRIALS",
    "SPEC_VERSION",
]
