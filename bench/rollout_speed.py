"""Environment steps per second of packed rollouts in AdroitHandHammer-v1 (docs/tasks.md).

    python bench/rollout_speed.py --models 64 --episodes 4 --steps 50 --threads 2

A pack of untrained hammer-sized models (|x| = 46, |y| = 26, dense, |h| given) acts in lock-step
over models x episodes environments; prints environment steps/s and the share of the time the
network took. Untrained weights act as well as trained ones for the cost: every episode runs
its full length (Adroit Hammer never terminates early).
"""

import argparse
import json
import time

import numpy as np
import torch

from hpsweep.workers import rollout
from hpsweep.workers.descriptors import Densities
from hpsweep.workers.packed import ModelSpec, PackedBlockRNN
from hpsweep.workers.rollout import RolloutConfig, rollout_returns


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--episodes", type=int, default=4)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    specs = [ModelSpec(46, 26, args.hidden, Densities.uniform(1.0), seed, 1e-4) for seed in range(args.models)]
    model = PackedBlockRNN(specs, device=args.device)
    cfg = RolloutConfig(
        env="AdroitHandHammer-v1", episodes=args.episodes, steps=args.steps, ref_return=None, ref_source="none"
    )
    network = [0.0]
    step = rollout.packed_step

    def timed_step(*a):
        t0 = time.perf_counter()
        out = step(*a)
        if out.is_cuda:
            torch.cuda.synchronize()
        network[0] += time.perf_counter() - t0
        return out

    rollout.packed_step = timed_step
    making = [0.0]
    make = rollout.make_env

    def timed_make(*a):
        t0 = time.perf_counter()
        env = make(*a)
        making[0] += time.perf_counter() - t0
        return env

    rollout.make_env = timed_make
    t0 = time.perf_counter()
    returns, env_steps = rollout_returns(model, cfg, [s.seed for s in specs], "bench")
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "models": args.models,
                "episodes": args.episodes,
                "steps": args.steps,
                "envs": args.models * min(args.episodes, max(1, rollout.max_envs() // args.models)),
                "env_steps": env_steps,
                "seconds": round(seconds, 2),
                "env_creation_seconds": round(making[0], 2),
                "env_steps_per_s": round(env_steps / seconds, 1),
                "env_steps_per_s_after_creation": round(env_steps / (seconds - making[0]), 1),
                "network_share_after_creation": round(network[0] / (seconds - making[0]), 4),
                "finite": bool(np.isfinite(returns).all()),
            }
        )
    )


if __name__ == "__main__":
    main()
