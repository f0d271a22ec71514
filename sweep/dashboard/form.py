"""The recommend form's inputs, parsed by the `recommend` command's own click options, so a
wrong value reads on the page exactly as `hpsweep recommend` prints it."""

from __future__ import annotations

import click

from hpsweep.workers.errors import HpsweepError

FIELDS = {"x": "input_dim", "y": "output_dim", "budget": "budget"}
"""form field -> the recommend command's parameter."""


class FormError(HpsweepError):
    """A form value click would refuse (the message is click's, as the CLI shows it)."""


def parse_recommend(raw: dict) -> tuple[int, int, float, str | None]:
    """(input_dim, output_dim, budget, kind) from the form's strings (kind: None when left empty).

    Raises:
        FormError: a missing or malformed value (click's message for that option).
    """
    from hpsweep.sweep.commands.recommend import recommend as command

    ctx = click.Context(command, info_name="recommend")
    params = {p.name: p for p in command.params}
    values = []
    for field, name in FIELDS.items():
        param = params[name]
        text = str(raw.get(field, "")).strip()
        try:
            if not text:
                raise click.MissingParameter(ctx=ctx, param=param)
            values.append(param.type_cast_value(ctx, text))
        except click.BadParameter as e:
            if e.param is None:
                e.param = param
            raise FormError(e.format_message()) from None
    x, y, budget = values
    kind = str(raw.get("kind", "")).strip() or None
    if kind is not None:
        try:
            kind = params["kind"].type_cast_value(ctx, kind)
        except click.BadParameter as e:
            e.param = e.param or params["kind"]
            raise FormError(e.format_message()) from None
    return x, y, budget, kind
