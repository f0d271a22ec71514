"""The calibration meta-dataset of docs/findings.md §5, as a spec in today's syntax (explicit tasks).

    python -m research.meta_calibration [PER_FAMILY=5] [SEED=11] > calib.yaml
    hpsweep run calib.yaml --results "$PWD/calib-results"     # 1,080 models at the defaults

PER_FAMILY teacher, prototype and lorenz tasks with |x| and |y| drawn log-uniformly (teacher x 8..512,
y 2..32; prototype x 8..512, frames 2..16; lorenz n 4..64; 5..20 steps), 500 training sequences;
two budgets per task, those giving the dense model |h| = 12 and 32; one shared candidate set of 18
configs (dense, uniform 0.5 / 0.2 / 0.1, seven structure codes at bases 0.2 and 0.05); lr 0.003;
2 seeds. Written before the `meta` spec could sample tasks; `meta` is the designed successor.
A second seed gives other tasks under another sweep name (`calib2`, `calib3`, ...).
"""

import math
import sys

import numpy as np

CODES = ["011001", "010111", "110110", "100011", "111000", "000111", "101101"]


def main(n_per: int = 5, seed: int = 11) -> None:
    rng = np.random.default_rng(seed)

    def lu(lo, hi):
        return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))

    def dense(x, h, y):
        return h * x + h * h + 2 * h * y + y * x + y * y

    tasks = []
    for _ in range(n_per):
        x, y, t = lu(8, 512), lu(2, 32), lu(5, 20)
        tasks.append((f"teacher(x={x},y={y},t={t},n_train=500,n_val=250,n_test=250)", x, y))
        x, f = lu(8, 512), lu(2, 16)
        tasks.append((f"prototype(x={x},frames={f},n_train=500,n_val=500,n_test=500)", x, f))
        n, t = lu(4, 64), lu(5, 20)
        tasks.append((f"lorenz(n={n},t={t},n_train=500,n_val=250,n_test=250)", n, n))
    print("name: calib" if seed == 11 else f"name: calib{seed - 10}")
    print("tasks:")
    for name, x, y in tasks:
        budgets = sorted({dense(x, 12, y), dense(x, 32, y)})
        print(
            f'  - {{task: "{name}", budgets: {budgets}, densities: {{uniform: [1.0, 0.5, 0.2, 0.1], '
            f"codes: {CODES}, base: [0.2, 0.05]}}}}".replace("'", '"')
        )
    print("training: {lr: [0.003], epochs: 10, batch_size: 32, seeds: [0, 1]}")
    print("pack: {max_models: 32}")
    print("resources: {cpus: 1, max_failures: 2}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
