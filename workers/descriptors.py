"""A-priori descriptors of a block RNN (docs/method.md §2-3): hidden size from a weight budget,
expected weights per block, and the balance metrics (hidden proportion and its candidates).

Pure Python on purpose: specs are validated and models described without importing torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from hpsweep.workers.errors import DescriptorError

BLOCKS = ("hx", "hh", "hy", "yx", "yh", "yy")
"""The six weight blocks in the paper's order; structure codes and density lists use it."""
MIN_DENSITY = 1e-6
"""Smaller densities keep no weight of any block hpsweep can build, and overflow |h| from a budget."""
MAX_DIM = 10_000_000  # |x|, |y|, |h|
MAX_BUDGET = 1e12  # trainable weights


def density_problem(value) -> str | None:
    """What a density must be, when `value` is not one (None when it is): the one rule, for the
    descriptors, the API and the spec alike."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 < value <= 1.0):
        return "in (0, 1]"
    if value < MIN_DENSITY:
        return f"in (0, 1] and at least {MIN_DENSITY:g} (a block would keep no weight)"
    return None


def _check_density(name: str, value) -> float:
    problem = density_problem(value)
    if problem:
        raise DescriptorError(f"{name} must be {problem}; got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Densities:
    """Probability that an entry of each block is kept (1.0 = dense). Never called sparsity."""

    hx: float
    hh: float
    hy: float
    yx: float
    yh: float
    yy: float

    def __post_init__(self):
        for name in BLOCKS:
            object.__setattr__(self, name, _check_density(f"density {name}", getattr(self, name)))

    @classmethod
    def uniform(cls, density: float) -> Densities:
        return cls(*([density] * 6))

    @classmethod
    def from_sequence(cls, values) -> Densities:
        values = list(values)
        if len(values) != 6:
            raise DescriptorError(
                f"densities must be six numbers in the order {','.join(BLOCKS)}; got {len(values)}: {values!r}"
            )
        return cls(*values)

    @classmethod
    def from_code(cls, code: str, base: float) -> Densities:
        """Structure code (six bits in BLOCKS order, 1 = dense block, 0 = `base`) -> densities."""
        code = str(code)
        if len(code) != 6 or set(code) - {"0", "1"}:
            raise DescriptorError(
                f"a structure code must be six bits (0/1) in the order {','.join(BLOCKS)}; got {code!r}"
            )
        base = _check_density("the base density of a structure code", base)
        return cls(*(1.0 if bit == "1" else base for bit in code))

    @classmethod
    def parse(cls, densities=None, code: str | None = None, base: float | None = None) -> Densities:
        """The one parser of a user's density setting, for the API and the CLI alike.

        `densities`: a Densities, six numbers in BLOCKS order, a dict by block name (missing blocks
        dense), or None (dense); or `code` (a structure code) with `base` (default 0.2), not both.
        """
        if densities is not None and code is not None:
            raise DescriptorError("give densities or code, not both")
        if code is not None:
            return cls.from_code(code, 0.2 if base is None else base)
        if base is not None:
            raise DescriptorError("base only goes with code")
        if densities is None:
            return cls.uniform(1.0)
        if isinstance(densities, cls):
            return densities
        if isinstance(densities, Mapping):
            unknown = sorted(set(densities) - set(BLOCKS))
            if unknown:
                raise DescriptorError(f"densities has unknown block(s) {unknown}; the blocks are {', '.join(BLOCKS)}")
            return cls(**{b: float(densities.get(b, 1.0)) for b in BLOCKS})
        return cls.from_sequence([float(v) for v in densities])

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(getattr(self, b) for b in BLOCKS)

    def rounded(self, ndigits: int = 2) -> Densities:
        """The original configs rounded densities to 2 decimals before solving for |h|."""
        return Densities(*(max(round(d, ndigits), 10.0**-ndigits) for d in self.as_tuple()))


def _check_dim(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DescriptorError(f"{name} must be a positive integer; got {value!r}")
    if value > MAX_DIM:
        raise DescriptorError(f"{name} must be at most {MAX_DIM:,}; got {value!r}")
    return value


BLOCK_SHAPE = {
    "hx": ("h", "x"),
    "hh": ("h", "h"),
    "hy": ("h", "y"),
    "yx": ("y", "x"),
    "yh": ("y", "h"),
    "yy": ("y", "y"),
}
"""Rows and columns of each block, in |h|, |x|, |y|."""


def block_weights(x, h, y, density: Mapping) -> dict:
    """Expected weights per block, n_<block> = density x rows x columns (docs/method.md §2).

    Arithmetic only, so x, h, y and the densities (a mapping by block name) may be numbers, numpy
    arrays or Polars expressions: the planner's summary and the analysis use this same formula."""
    size = {"x": x, "h": h, "y": y}
    return {f"n_{b}": density[b] * size[rows] * size[cols] for b, (rows, cols) in BLOCK_SHAPE.items()}


def balance_metrics(n: Mapping, x, h, y) -> dict:
    """The balance candidates (docs/method.md §3) from expected weights per block `n` (n_<block>);
    arithmetic only, like block_weights."""
    total = n["n_hx"] + n["n_hh"] + n["n_hy"] + n["n_yx"] + n["n_yh"] + n["n_yy"]
    dense = block_weights(x, h, y, dict.fromkeys(BLOCKS, 1.0))
    return {
        "hidden_proportion": n["n_hh"] / total,
        "hp_recurrent": n["n_hh"] / (n["n_hx"] + n["n_hh"]),
        "input_share": n["n_hx"] / total,
        "output_share": (n["n_yx"] + n["n_yh"] + n["n_yy"]) / total,
        "overall_density": total / sum(dense.values()),
    }


def expected_weights(input_dim: int, hidden: int, output_dim: int, d: Densities) -> dict[str, float]:
    """Expected trainable weights per block of one model: density x block size (docs/method.md §2)."""
    return block_weights(input_dim, hidden, output_dim, {b: getattr(d, b) for b in BLOCKS})


def hidden_from_budget_exact(input_dim: int, output_dim: int, budget: float, d: Densities) -> float:
    """Positive root of d_hh h^2 + (d_hx x + d_hy y + d_yh y) h + (d_yx x y + d_yy y^2 - P) = 0."""
    x, y = input_dim, output_dim
    a = d.hh
    b = d.hx * x + d.hy * y + d.yh * y
    c = d.yx * x * y + d.yy * y * y - budget
    return (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a) if c < 0 else 0.0


def hidden_from_budget(
    input_dim: int, output_dim: int, budget: float, d: Densities, round_densities: bool = False
) -> int:
    """|h| for a trainable-weight budget P, rounded to the nearest integer.

    Raises:
        DescriptorError: if the budget cannot give |h| >= 1 for these dims and densities.
    """
    _check_dim("input_dim", input_dim)
    _check_dim("output_dim", output_dim)
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0:
        raise DescriptorError(f"budget must be a positive number of weights; got {budget!r}")
    if budget > MAX_BUDGET or not math.isfinite(budget):  # in this order: a huge int overflows isfinite
        raise DescriptorError(f"budget must be a finite number of weights, at most {MAX_BUDGET:g}; got {budget!r}")
    if round_densities:
        d = d.rounded(2)
    exact = hidden_from_budget_exact(input_dim, output_dim, budget, d)
    hidden = int(math.floor(exact + 0.5))
    if hidden < 1:
        smallest = sum(expected_weights(input_dim, 1, output_dim, d).values())
        raise DescriptorError(
            f"budget {budget:g} is too small for input_dim={input_dim}, output_dim={output_dim} "
            f"with densities {','.join(f'{v:g}' for v in d.as_tuple())}: it gives hidden={exact:.2f}; "
            f"hidden=1 needs about {smallest:,.0f} weights"
        )
    return hidden


@dataclass(frozen=True)
class ModelDescriptor:
    """Everything known about a model before it is built. Counts are expectations
    (density x block size); biases are dense, trainable and not part of the budget."""

    input_dim: int
    hidden: int
    output_dim: int
    budget: float | None
    d_hx: float
    d_hh: float
    d_hy: float
    d_yx: float
    d_yh: float
    d_yy: float
    n_hx: float
    n_hh: float
    n_hy: float
    n_yx: float
    n_yh: float
    n_yy: float
    total_weights: float
    bias_count: int
    hidden_proportion: float  # HP  = n_hh / total (primary balance metric)
    hp_recurrent: float  # HP' = n_hh / (n_hx + n_hh)
    input_share: float  # n_hx / total
    output_share: float  # (n_yx + n_yh + n_yy) / total
    overall_density: float  # total / (weights of the dense model with the same dims)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def densities(self) -> Densities:
        return Densities(self.d_hx, self.d_hh, self.d_hy, self.d_yx, self.d_yh, self.d_yy)


BALANCE_METRICS = ("hidden_proportion", "hp_recurrent", "input_share", "output_share", "overall_density")
"""Balance candidates the analysis ranks; all are fields of ModelDescriptor."""


def describe(
    input_dim: int,
    output_dim: int,
    densities: Densities,
    *,
    hidden: int | None = None,
    budget: float | None = None,
    round_densities: bool = False,
) -> ModelDescriptor:
    """Describe a model given |h| directly or a budget P (exactly one of the two).

    Raises:
        DescriptorError: for bad dims, densities, budget, or both/neither of hidden and budget.
    """
    _check_dim("input_dim", input_dim)
    _check_dim("output_dim", output_dim)
    if not isinstance(densities, Densities):
        raise DescriptorError(f"densities must be a Densities; got {type(densities).__name__}")
    if (hidden is None) == (budget is None):
        raise DescriptorError("give exactly one of hidden and budget")
    if hidden is None:
        hidden = hidden_from_budget(input_dim, output_dim, budget, densities, round_densities)
    _check_dim("hidden", hidden)
    n = expected_weights(input_dim, hidden, output_dim, densities)
    x, h, y = input_dim, hidden, output_dim
    return ModelDescriptor(
        input_dim=x,
        hidden=h,
        output_dim=y,
        budget=None if budget is None else float(budget),
        **{f"d_{b}": getattr(densities, b) for b in BLOCKS},
        **n,
        total_weights=sum(n.values()),
        bias_count=h + y,
        **balance_metrics(n, x, h, y),
    )
