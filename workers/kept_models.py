"""Trained models kept in the results store: which ones a pack keeps, their file, and loading one back.

A pack whose spec says `keep:` writes one safetensors file with the kept models' tensors in the
same commit as its rows (workers/results/commits.py), so a kept model exists exactly when its row
does. Per model, only its own slots of the packed tensors (not the pack's padding):

    <trial_id>/w_hx, w_hh, w_hy, w_yx, w_yh, w_yy   trained weights (masked entries exactly zero)
    <trial_id>/mask_hx, ... mask_yy                   the fixed masks, bool
    <trial_id>/b_h, b_y                               trained biases

and in the file's metadata FORMAT, the sweep, task, pack and attempt, and per model its trial
id, |h|, densities, the task's dims, seed, init std, learning rate, status and scores. safetensors
holds tensors and a JSON header only: loading a store from someone else runs none of their code.

Which models: `all` keeps every model that trained to the end with a finite loss (status ok;
diverged models are not kept: their weights are not a trained model); `best` keeps, per group of
`per` fields (task by default), the `top` ok models of the pack by final validation score. A pack
holds one task, so its top k per group contain the sweep's top k of that group whichever pack they
trained in; `hpsweep models --top k` ranks the kept ones across packs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hpsweep.workers.descriptors import BLOCKS, Densities
from hpsweep.workers.errors import HpsweepError

if TYPE_CHECKING:  # torch is imported by the functions that need it: the driver builds a KeepRule
    import torch

FORMAT = "hpsweep-models-1"
KEPT_STATUSES = ("ok",)
"""Statuses whose weights are kept: a model that diverged is frozen at its last finite step and
its row says so; it is never kept and never loaded."""


class ModelFileError(HpsweepError):
    """A weights file that is damaged, foreign, or lacks the model asked for."""


@dataclass(frozen=True)
class KeepRule:
    """What a pack keeps (the spec's `keep:`), in terms the worker knows."""

    models: str = "none"  # none | best | all
    per: tuple[str, ...] = ("task",)  # trial fields that make a group (best)
    top: int = 1  # models per group (best)


def choose(rule: KeepRule, trials, results) -> list[int]:
    """Indices of the models to keep, given the pack's trials and their ModelResults (same order)."""
    ok = [i for i, r in enumerate(results) if r.status in KEPT_STATUSES]
    if rule.models == "all":
        return ok
    if rule.models != "best":
        return []
    groups: dict[tuple, list[int]] = {}
    for i in ok:
        groups.setdefault(tuple(getattr(trials[i], f) for f in rule.per), []).append(i)

    def score(i):
        v = results[i].val_score[-1] if results[i].val_score else float("nan")
        return v if v == v else float("-inf")

    return sorted(i for members in groups.values() for i in sorted(members, key=score, reverse=True)[: rule.top])


def model_tensors(packed, j: int) -> dict[str, torch.Tensor]:
    """Model j of a trained PackedBlockRNN (workers/packed.py), cut to its own slots, on the CPU."""
    h, hh, y = packed.specs[j].hidden, packed.n_hidden, packed.output_dim
    rows = {"h": slice(0, h), "y": slice(hh, hh + y)}
    out = {}
    for name in BLOCKS:
        r = rows[name[0]]
        if name[1] == "x":
            w, m = packed.w_in[j, r], packed.mask_in[j, r]
        else:
            c = rows[name[1]]
            w, m = packed.w_rec[j, r, c], packed.mask_rec[j, r, c]
        out[f"w_{name}"], out[f"mask_{name}"] = w.detach().float().cpu().clone(), m.detach().cpu().bool()
    b_h, b_y = packed.biases(j)
    out["b_h"], out["b_y"] = b_h.detach().float().cpu().clone(), b_y.detach().float().cpu().clone()
    return out


def pack_file(rule: KeepRule | None, sweep_id: str, pack_id: str, attempt: int, pieces) -> tuple[bytes | None, set]:
    """The safetensors bytes of a pack's kept models and their trial ids (None, {} when none kept).

    pieces: the pack runner's trained pieces (trials and a PackResult whose `lanes` hold the
    trained PackedBlockRNNs with the indices of their models).
    """
    if rule is None or rule.models == "none":
        return None, set()
    from safetensors.torch import save

    tensors, models, task = {}, {}, None
    for piece in pieces:
        if piece.result is None:
            continue
        keep = set(choose(rule, piece.trials, piece.result.models))
        for packed, chunk in piece.result.lanes:
            for j, i in enumerate(chunk):
                if i not in keep:
                    continue
                trial, r = piece.trials[i], piece.result.models[i]
                task = trial.task
                for key, t in model_tensors(packed, j).items():
                    tensors[f"{trial.trial_id}/{key}"] = t
                spec = packed.specs[j]
                models[trial.trial_id] = {
                    "hidden": spec.hidden,
                    "densities": list(trial.densities),
                    "input_dim": spec.input_dim,
                    "output_dim": spec.output_dim,
                    "seed": spec.seed,
                    "init_std": spec.init_std,
                    "lr": spec.lr,
                    "status": r.status,
                    "epochs_run": r.epochs_run,
                    "val_score": r.val_score[-1] if r.val_score else None,
                    "test_score": r.test_score,
                }
    if not models:
        return None, set()
    meta = {
        "format": FORMAT,
        "sweep_id": sweep_id,
        "task": task,
        "pack_id": pack_id,
        "attempt": str(attempt),
        "models": json.dumps(models, sort_keys=True),
    }
    return save(tensors, metadata=meta), set(models)


def read_file(raw: bytes, where: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """(metadata with `models` parsed, tensors) of a weights file hpsweep wrote.

    Raises:
        ModelFileError: not a safetensors file, or not one hpsweep wrote.
    """
    from safetensors.torch import load

    try:
        header_len = int.from_bytes(raw[:8], "little")  # safetensors: 8-byte length, JSON header, data
        meta = dict(json.loads(raw[8 : 8 + header_len]).get("__metadata__") or {})
        tensors = load(raw)
    except Exception as e:  # noqa: BLE001 - any decoding failure of untrusted bytes is the same answer
        raise ModelFileError(
            f"{where} is not a readable safetensors file ({type(e).__name__}); move it out of "
            f"the results root and run the sweep again to rewrite it"
        ) from None
    if meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{where} is not a weights file hpsweep wrote (format {meta.get('format')!r:.40}, "
            f"expected {FORMAT!r}); move it out of the results root"
        )
    try:
        meta["models"] = json.loads(meta["models"])
    except (KeyError, ValueError):
        raise ModelFileError(f"{where} has damaged metadata; move it out of the results root") from None
    return meta, tensors


def to_module(meta: dict, tensors: dict[str, torch.Tensor], trial_id: str, where: str, device: str = "cpu"):
    """The reference BlockRNN (workers/model.py) of one kept model, with its trained weights and masks.

    Raises:
        ModelFileError: the file lacks the model, or its tensors do not have the model's shapes.
    """
    from hpsweep.workers.model import BlockRNN, BlockRNNConfig

    info = meta["models"].get(trial_id)
    if info is None:
        raise ModelFileError(f"{where} does not hold trial {trial_id!r}; it holds {len(meta['models'])} other model(s)")
    cfg = BlockRNNConfig(
        int(info["input_dim"]),
        int(info["hidden"]),
        int(info["output_dim"]),
        Densities.from_sequence([float(d) for d in info["densities"]]),
        float(info["init_std"]),
        int(info["seed"]),
    )
    model = BlockRNN(cfg)
    state = {}
    for name in BLOCKS:
        state[f"w_{name}"] = tensors.get(f"{trial_id}/w_{name}")
        mask = tensors.get(f"{trial_id}/mask_{name}")
        state[f"mask_{name}"] = None if mask is None else mask.float()
    state["b_h"], state["b_y"] = tensors.get(f"{trial_id}/b_h"), tensors.get(f"{trial_id}/b_y")
    own = model.state_dict()
    bad = [k for k, t in state.items() if t is None or tuple(t.shape) != tuple(own[k].shape)]
    if bad:
        raise ModelFileError(
            f"{where}: trial {trial_id!r} lacks or misshapes {', '.join(bad[:3])}; move the file "
            f"out of the results root and run the sweep again"
        )
    model.load_state_dict(state)
    return model.to(device).eval()


def single_file(meta: dict, tensors: dict[str, torch.Tensor], trial_id: str) -> bytes:
    """One model's own safetensors file (what `hpsweep export` writes): its tensors and metadata."""
    from safetensors.torch import save

    prefix = f"{trial_id}/"
    own = {k: t for k, t in tensors.items() if k.startswith(prefix)}
    return save(
        own,
        metadata={
            **{k: v for k, v in meta.items() if k != "models"},
            "models": json.dumps({trial_id: meta["models"][trial_id]}, sort_keys=True),
        },
    )
