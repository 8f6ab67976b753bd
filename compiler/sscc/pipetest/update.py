"""`sscc test --update`: the expectations of a test file rewritten from what the run received.

ruamel.yaml's round-trip mode keeps everything else of the file as written: comments, key order,
quoting, the flow style of `{...}` records. Each rewritten record is written in flow style
(`- {"id": 1, "total": 2.5}`), the way the format's examples write them; a comment on a record
that was replaced goes with it.
"""

from __future__ import annotations

import io
import os
from typing import Any


def rewrite(path: str, new_expect: dict[int, dict[str, list[Any]]]) -> bool:
    """Write `path` with `cases[i].expect[topic]` replaced by `new_expect[i][topic]`; whether the
    file changed."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # one record per line, as written
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    yaml.indent(**_indent(text))
    doc = yaml.load(text)
    for index, topics in new_expect.items():
        expect = doc["cases"][index]["expect"]
        for topic, records in topics.items():
            old = expect.get(topic)
            expect[topic] = _flow_list(records, old)
    buf = io.StringIO()
    yaml.dump(doc, buf)
    out = buf.getvalue()
    if out == text:
        return False
    tmp = f"{path}.sscc-tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(out)
    os.replace(tmp, path)
    return True


def _flow_list(records: list[Any], old: Any):
    """A block list of flow-style records (a list already written in flow style stays so)."""
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(_flow(r) for r in records)
    if isinstance(old, CommentedSeq):
        if old.fa.flow_style():
            seq.fa.set_flow_style()
        else:
            seq.fa.set_block_style()
        for index, comment in getattr(old.ca, "items", {}).items():
            if index < len(records):
                seq.ca.items[index] = comment
    return seq


def _flow(value: Any):
    """Records as JSON-looking flow YAML: strings double-quoted, so none is read back as
    something else (`yes`, `1.0`, `null` as text stay text)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, str):
        return DoubleQuotedScalarString(value)
    if isinstance(value, dict):
        out = CommentedMap((DoubleQuotedScalarString(k), _flow(v)) for k, v in value.items())
        out.fa.set_flow_style()
        return out
    if isinstance(value, list):
        out = CommentedSeq(_flow(v) for v in value)
        out.fa.set_flow_style()
        return out
    return value


def _indent(text: str) -> dict:
    """The file's sequence indentation (`- ` under a key, or indented by two), so a rewrite does
    not re-indent the whole file."""
    import re

    # `key:\n  - item` (offset 2) or `key:\n- item` (offset 0)
    m = re.search(r"^( *)[^\s#-][^\n]*:\s*\n( *)- ", text, re.M)
    if m and len(m.group(2)) > len(m.group(1)):
        offset = len(m.group(2)) - len(m.group(1))
        return {"mapping": 2, "sequence": offset + 2, "offset": offset}
    return {"mapping": 2, "sequence": 2, "offset": 0}
