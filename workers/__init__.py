"""What runs on a worker: descriptors (pure Python), the block RNN, the packed model and
fused trainer, and the tasks. Imports nothing from `sweep` or `analysis`."""

from hpsweep.workers.descriptors import (
    BALANCE_METRICS,
    BLOCKS,
    Densities,
    ModelDescriptor,
    describe,
    hidden_from_budget,
)
from hpsweep.workers.errors import AnalysisError, DescriptorError, HpsweepError, SpecError, StoreError, TaskError

__all__ = [
    "BALANCE_METRICS",
    "BLOCKS",
    "Densities",
    "ModelDescriptor",
    "describe",
    "hidden_from_budget",
    "AnalysisError",
    "DescriptorError",
    "HpsweepError",
    "SpecError",
    "StoreError",
    "TaskError",
]
