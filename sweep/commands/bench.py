"""`hpsweep bench`: one-at-a-time vs packed training throughput (torch only; no ray, no polars)."""

from __future__ import annotations

import json

import click


class PositiveInt(click.IntRange):
    name = "integer"  # click says "'abc' is not a valid integer", not "... integer range"


POSITIVE = PositiveInt(min=1)  # click's error names the option and the value it got


def check_device(device: str) -> None:
    """A --device torch cannot use is a usage error here, not a traceback from inside the first step."""
    import torch

    if device == "auto":
        return
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise click.BadParameter(
            f"{device[:60]!r} is not a torch device; give cpu, cuda, cuda:N or auto", param_hint="'--device'"
        ) from None
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (parsed.index or 0) >= count:
            raise click.BadParameter(
                f"{device!r} is not among this machine's {count} CUDA GPU(s) as torch sees "
                f"them; give cpu, auto or cuda:0..cuda:{count - 1}"
                if count
                else f"{device!r}: torch sees no CUDA GPU on this machine; give cpu or auto",
                param_hint="'--device'",
            )


@click.command("bench")
@click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:1, or auto.")
@click.option(
    "--models",
    "-K",
    type=POSITIVE,
    default=64,
    show_default=True,
    envvar="HPSWEEP_BENCH_MODELS",
    help="Models trained (K).",
)
@click.option("--input-dim", type=POSITIVE, default=8, show_default=True)
@click.option("--hidden", type=POSITIVE, default=32, show_default=True)
@click.option("--output-dim", type=POSITIVE, default=4, show_default=True)
@click.option("--steps", "seq_len", type=POSITIVE, default=20, show_default=True, help="Time steps per sequence.")
@click.option("--batch", type=POSITIVE, default=64, show_default=True, help="Sequences per training step.")
@click.option(
    "--iters",
    type=POSITIVE,
    default=20,
    show_default=True,
    envvar="HPSWEEP_BENCH_ITERS",
    help="Timed training steps per model.",
)
@click.option("--density", default=0.5, show_default=True, help="Density of every block.")
@click.option(
    "--threads",
    type=POSITIVE,
    default=1,
    show_default=True,
    help="torch CPU threads (one by default: more mostly measures the machine's load).",
)
@click.option(
    "--repeats",
    type=POSITIVE,
    default=5,
    show_default=True,
    envvar="HPSWEEP_BENCH_REPEATS",
    help="Interleaved repeats of both sides; the median ratio and its spread are printed.",
)
@click.option("--sample", type=POSITIVE, help="Time only this many one-at-a-time models and scale up.")
@click.option("--no-graph", is_flag=True, help="Eager steps on CUDA instead of CUDA-graph replay.")
@click.option("--tf32/--no-tf32", default=True, show_default=True, help="TF32 matmuls on CUDA.")
@click.option(
    "--cpu",
    type=int,
    help="Pin the bench to this CPU (default: the lowest allowed one when timing one "
    "CPU thread; the ratio can differ from core to core).",
)
@click.option("--no-pin", is_flag=True, help="Do not pin: let the OS place the process.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench(
    device,
    models,
    input_dim,
    hidden,
    output_dim,
    seq_len,
    batch,
    iters,
    density,
    threads,
    repeats,
    sample,
    no_graph,
    tf32,
    cpu,
    no_pin,
    as_json,
):
    """Train the same K models one at a time and packed; print model-steps/s and the ratio.

    A model-step is one training step (forward, backward, Adam) of one model on one batch.
    """
    from hpsweep.workers.bench import BenchConfig, allowed_cpus, run_bench

    check_device(device)
    if cpu is not None and no_pin:
        raise click.BadParameter("give --cpu N or --no-pin, not both")
    if cpu is not None and cpu not in allowed_cpus():
        allowed = ", ".join(map(str, allowed_cpus())) or "none (pinning needs Linux)"
        raise click.BadParameter(
            f"{cpu}: this process may run on CPUs {allowed}; pick one of them", param_hint="'--cpu'"
        )
    cfg = BenchConfig(
        models,
        input_dim,
        hidden,
        output_dim,
        seq_len,
        batch,
        iters,
        density,
        device,
        threads,
        cuda_graph=not no_graph,
        tf32=tf32,
        cpu=cpu,
        pin=not no_pin,
    )
    result = run_bench(cfg, sample, repeats)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"device {result['device']}  torch {result['torch']}  clock: {result['clock']}")
    where = "not pinned" if result["cpu"] is None else f"pinned to cpu {result['cpu']}"
    load = result["load_average"]
    click.echo(
        f"{where} (allowed: {','.join(map(str, result['cpus_allowed'])) or '?'})"
        + (f"  load average {load[0]:.2f} at the end" if load else "")
        + (f"  {result['cpu_model']}" if result["cpu_model"] else "")
    )
    click.echo(f"K={models} x={input_dim} h={hidden} y={output_dim} steps={seq_len} batch={batch} iters={iters}")
    click.echo(f"one at a time  {result['one_at_a_time']:>12,.1f} model-steps/s  (median)")
    click.echo(f"packed         {result['packed']:>12,.1f} model-steps/s  (median)")
    low, high = result["ratio_spread"]
    click.echo(
        f"ratio          {result['ratio']:>12.2f}x  (median of {repeats} interleaved repeats; "
        f"{low:.2f}x to {high:.2f}x)"
    )
