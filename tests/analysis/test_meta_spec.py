"""The shipped `meta` spec builds a meta-dataset for transfer: many tasks over the
(|x|, |y|) plane in three families, one shared candidate set on every task at every budget, an lr
grid, two seeds, and sequence lengths that overlap across families."""

from collections import defaultdict
from pathlib import Path

from hpsweep.sweep.coordinator import task_shapes
from hpsweep.sweep.plan import expand_trials
from hpsweep.sweep.spec import load_spec

META = Path(__file__).resolve().parents[2] / "sweep" / "specs" / "meta.yaml"


def test_meta_spec_is_a_shared_candidate_set_over_many_tasks():
    spec = load_spec(str(META))
    shapes = task_shapes(spec)
    trials = expand_trials(spec, shapes)
    tasks = sorted({t.task for t in trials})
    assert len(tasks) == 30 and len(trials) == 3776
    families = {t.split("(")[0] for t in tasks}
    assert families == {"teacher", "prototype", "lorenz"}
    xs = [shapes[t].input_dim for t in tasks]
    ys = [shapes[t].output_dim for t in tasks]
    assert min(xs) <= 8 and max(xs) >= 200 and min(ys) == 2 and max(ys) >= 25
    configs = defaultdict(set)  # (task, budget, lr, seed) -> densities
    for t in trials:
        configs[(t.task, t.budget, t.lr, t.seed)].add(t.densities)
    sets = set(frozenset(c) for c in configs.values())
    assert len(sets) == 1 and len(next(iter(sets))) == 16  # the same 16 configs everywhere
    assert {k[2] for k in configs} == {0.003, 0.01} and {k[3] for k in configs} == {0, 1}
    lengths = defaultdict(list)
    for t in tasks:
        lengths[t.split("(")[0]].append(shapes[t].seq_len)
    # length describes the data set, not the family: every family's range overlaps the others'
    lo, hi = max(min(v) for v in lengths.values()), min(max(v) for v in lengths.values())
    assert hi - lo >= 5
