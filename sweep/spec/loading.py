"""Reading a spec file safely: UTF-8 text, bounded size and nesting, no duplicate keys, and YAML
aliases that cannot expand a small file into a huge document (a 313-byte spec once
expanded into a 312 MB error line)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hpsweep.workers.errors import SpecError

MAX_BYTES = 1_000_000  # a spec is a few lines; sampled tasks keep even meta-datasets small
MAX_DEPTH = 50  # nesting of mappings and lists
MAX_NODES = 200_000  # values after expanding every alias


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and bounds nesting and alias expansion."""

    def __init__(self, stream, source: str):
        super().__init__(stream)
        self.source = source
        self.depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise SpecError(
                f"{self.source}: nests deeper than {MAX_DEPTH} levels at line {mark.line + 1}; "
                f"a spec is a few levels of mappings and lists"
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise SpecError(
                        f"{self.source}: key {str(key)[:100]!r} is given twice (lines {seen[key]} and "
                        f"{key_node.start_mark.line + 1}); keep one"
                    )
                seen[key] = key_node.start_mark.line + 1
            except TypeError:
                pass  # an unhashable key: construct_mapping below says so
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node, memo: dict[int, int]) -> int:
    """Values in the document once every alias is expanded (aliases share nodes: memoised)."""
    key = id(node)
    if key not in memo:
        memo[key] = 0  # a recursive alias counts once instead of looping
        if isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_expanded_size(n, memo) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        else:
            memo[key] = 1
    return memo[key]


def parse_yaml(data: bytes, source: str) -> Any:
    """Bytes of a spec file -> the YAML document, or one SpecError line."""
    if len(data) > MAX_BYTES:
        raise SpecError(
            f"{source}: is {len(data):,} bytes; a spec holds at most {MAX_BYTES:,} (use sample: to draw many tasks)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(
            f"{source}: is not UTF-8 text (byte {e.start} is {data[e.start : e.start + 1]!r}); "
            f"a spec is a YAML file saved as UTF-8"
        ) from None
    if "\x00" in text:
        raise SpecError(f"{source}: holds NUL bytes, so it is not a text file; a spec is a YAML file")
    loader = _SpecLoader(text, source)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > MAX_NODES:
            raise SpecError(f"{source}: expands to {size:,} values (YAML aliases); a spec holds at most {MAX_NODES:,}")
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"{source}: not valid YAML{where}: {str(getattr(e, 'problem', e))[:100]}") from None
    finally:
        loader.dispose()


def shipped_specs() -> list[str]:
    """Names of the specs that ship with hpsweep (sweep/specs/*.yaml)."""
    return sorted(
        p.name[:-5] for p in (resources.files("hpsweep.sweep") / "specs").iterdir() if p.name.endswith(".yaml")
    )


def read_spec_file(path_or_name: str) -> tuple[Any, str]:
    """(YAML document, source name for messages) of a spec file or a shipped spec name."""
    p = Path(path_or_name)
    if p.is_file():
        try:
            data, source = p.read_bytes(), p.name
        except OSError as e:
            raise SpecError(f"spec {path_or_name!r} cannot be read: {e.strerror}") from None
    elif path_or_name in shipped_specs():
        data = (resources.files("hpsweep.sweep") / "specs" / f"{path_or_name}.yaml").read_bytes()
        source = f"{path_or_name}.yaml"
    else:
        raise SpecError(
            f"spec {path_or_name[:100]!r} is neither a file nor a shipped spec; shipped specs: "
            f"{', '.join(shipped_specs())}"
        )
    return parse_yaml(data, source), source
