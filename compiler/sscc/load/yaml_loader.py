"""YAML text -> plain data plus a position table.

The data is ordinary dicts, lists and scalars (so JSON Schema validates it directly); the
position of every node lives beside it in `Document.spans`, keyed by the node's path from the
root (a tuple of keys and indexes), and `Document.key_spans` holds where each mapping key is
written. A JSON Schema error's `absolute_path` is such a path, which is how schema errors get
their line:col.

Events come from libyaml (PyYAML's C parser) for speed; this module only builds the tree.
Rejected with a diagnostic, never an exception: duplicate keys, anchors and aliases, several
documents, tabs used for indentation, a root that is not a mapping, YAML syntax errors, control
characters and bytes that are not UTF-8 (at their own line and column).

Bounded (E006), so any file is read in bounded time and memory: at most MAX_FILE_BYTES, nesting
at most MAX_DEPTH levels (libyaml itself takes minutes and gigabytes on `[[[[...]]]]` 100,000
deep, and every later stage walks the tree recursively), at most MAX_NODES nodes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..diagnostics import LINE_BREAK, Diagnostics, Span

Path = tuple  # tuple[str | int, ...]

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = yaml.resolver.Resolver()
_TAB_INDENT = re.compile(r"^( *)\t", re.M)

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64  # the corpus nests at most 10 levels
MAX_NODES = 200_000  # the corpus's largest file has a few thousand


@dataclass
class Document:
    """One loaded YAML file: the data, where each node is, and the text it came from."""

    path: str
    text: str
    data: Any
    spans: dict[Path, Span] = field(default_factory=dict)
    key_spans: dict[Path, Span] = field(default_factory=dict)

    def span(self, path: Path) -> Span:
        """Where the node at `path` is; the nearest enclosing node when that path does not exist."""
        path = tuple(path)
        while path:
            sp = self.spans.get(path)
            if sp is not None:
                return sp
            path = path[:-1]
        return self.spans.get((), Span(self.path, 1, 1))

    def key_span(self, path: Path) -> Span:
        """Where the mapping key that names `path` is written (falls back to the value)."""
        path = tuple(path)
        return self.key_spans.get(path) or self.span(path)

    def get(self, path: Path, default: Any = None) -> Any:
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return default
        return node


def _span(path: str, start, end) -> Span:
    return Span(path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _scalar(event: yaml.ScalarEvent) -> Any:
    """Resolve a plain scalar the way YAML 1.1 safe loading does, but keep timestamps as text."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
    value = event.value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() in ("yes", "true", "on", "y")
    if tag == "tag:yaml.org,2002:int":
        try:
            v = value.replace("_", "")
            sign = -1 if v.startswith("-") else 1
            v = v.lstrip("+-")
            if v.startswith("0x"):
                return sign * int(v[2:], 16)
            if v.startswith("0o"):
                return sign * int(v[2:], 8)
            if v.startswith("0b"):
                return sign * int(v[2:], 2)
            if ":" in v:
                return value  # sexagesimal: keep the text
            if len(v) > 1 and v.startswith("0"):
                return sign * int(v, 8)
            return sign * int(v)
        except ValueError:
            return value
    if tag == "tag:yaml.org,2002:float":
        v = value.replace("_", "").lower()
        if v in (".inf", "+.inf"):
            return float("inf")
        if v == "-.inf":
            return float("-inf")
        if v == ".nan":
            return float("nan")
        try:
            return float(v)
        except ValueError:
            return value
    return value


def load_text(text: str, path: str, diags: Diagnostics) -> Document | None:
    """Parse YAML text into a Document. Returns None (with diagnostics) when nothing usable came out."""
    doc = Document(path=path, text=text, data=None)

    m = _TAB_INDENT.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        col = len(m.group(1)) + 1
        diags.error(
            "E001",
            Span(path, line, col, line, col + 1),
            "tab character used for indentation",
            "YAML indents with spaces only; replace the tab with spaces",
        )
        return None

    stack: list[list] = []  # frames: [container, path, pending_key, pending_key_span]
    root: Any = None
    n_docs = 0
    n_events = 0
    try:
        for ev in yaml.parse(text, Loader=_Parser):
            n_events += 1
            if n_events > MAX_NODES:
                diags.error(
                    "E006",
                    _span(path, ev.start_mark, ev.end_mark),
                    f"the file has more than {MAX_NODES:,} YAML nodes",
                    "a pipeline file this large is not a pipeline; split it or generate less",
                )
                return None
            if isinstance(ev, yaml.DocumentStartEvent):
                n_docs += 1
                if n_docs == 2:
                    diags.error(
                        "E001",
                        _span(path, ev.start_mark, ev.end_mark),
                        "the file holds more than one YAML document",
                        "a pipeline file is one document; split it into separate files or remove the `---`",
                    )
                    break
                continue
            if isinstance(ev, yaml.AliasEvent):
                diags.error(
                    "E001",
                    _span(path, ev.start_mark, ev.end_mark),
                    f"YAML alias `*{ev.anchor}` is not supported",
                    "write the value out in full; anchors and aliases hide what a pipeline does",
                )
                return None
            anchor = getattr(ev, "anchor", None)
            if anchor is not None:
                diags.error(
                    "E001",
                    _span(path, ev.start_mark, ev.end_mark),
                    f"YAML anchor `&{anchor}` is not supported",
                    "remove the anchor and write repeated values out in full",
                )
                return None
            if isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                container, cpath, _, _ = stack.pop()
                start = doc.spans[cpath]
                doc.spans[cpath] = Span(path, start.line, start.col, ev.end_mark.line + 1, ev.end_mark.column + 1)
                value = container
                if not stack:
                    root = value
                continue
            if isinstance(ev, yaml.ScalarEvent):
                value = _scalar(ev)
                if stack and isinstance(stack[-1][0], dict) and stack[-1][2] is _NO_KEY:
                    frame = stack[-1]
                    if not isinstance(value, (str, int, float, bool)) and value is not None:
                        value = str(value)
                    key = value if isinstance(value, str) else ev.value
                    kspan = _span(path, ev.start_mark, ev.end_mark)
                    if key in frame[0]:
                        diags.error(
                            "E002",
                            kspan,
                            f"duplicate key `{key}`",
                            f"`{key}` is already defined at line {doc.key_spans[frame[1] + (key,)].line}; remove one of them",
                        )
                        key = _Dup(key)
                    frame[2] = key
                    frame[3] = kspan
                    continue
                node_span = _span(path, ev.start_mark, ev.end_mark)
                _attach(doc, stack, value, node_span)
                if not stack:
                    root = value
                continue
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if stack and isinstance(stack[-1][0], dict) and stack[-1][2] is _NO_KEY:
                    diags.error(
                        "E001",
                        _span(path, ev.start_mark, ev.end_mark),
                        "a mapping or list cannot be used as a key",
                        "keys are plain names",
                    )
                    return None
                if len(stack) >= MAX_DEPTH:
                    diags.error(
                        "E006",
                        _span(path, ev.start_mark, ev.end_mark),
                        f"lists and mappings nested more than {MAX_DEPTH} levels deep",
                        "a pipeline never needs this depth; flatten it (name nested types under `types:`)",
                    )
                    return None
                container: Any = {} if isinstance(ev, yaml.MappingStartEvent) else []
                node_span = _span(path, ev.start_mark, ev.end_mark)
                cpath = _attach(doc, stack, container, node_span)
                stack.append([container, cpath, _NO_KEY, None])
                continue
    except yaml.reader.ReaderError as exc:  # a control character: libyaml gives only its offset
        line, col = _line_col(text, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        diags.error(
            "E001",
            Span(path, line, col, line, col + 1),
            f"control character U+{ord(char):04X} in the file",
            "YAML allows no control characters but tab and line breaks; remove it, or write it as an "
            f"escape (`\\x{ord(char):02x}`) inside a double-quoted string",
        )
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        msg = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
        diags.error("E001", Span(path, line, col, line, col + 1), msg, _yaml_hint(problem))
        return None

    if n_docs == 0 or root is None:
        diags.error("E003", Span(path, 1, 1), "the file is empty", "a pipeline file starts with `apiVersion:`")
        return None
    if not isinstance(root, dict):
        diags.error(
            "E003",
            doc.spans.get((), Span(path, 1, 1)),
            f"the top level of a pipeline file must be a mapping, found a {_kind(root)}",
            "start the file with `apiVersion: 0.6.0` followed by `meta:`, `types:`, `topics:`, `services:`",
        )
        return None
    doc.data = root
    return doc


class _Dup(str):
    """Marker for a duplicate key: its value is parsed (for positions) but not stored."""


_NO_KEY = object()


def _attach(doc: Document, stack: list, value: Any, span: Span) -> Path:
    """Put `value` into the open container (if any) and record its span; returns its path."""
    if not stack:
        doc.spans[()] = span
        return ()
    frame = stack[-1]
    container, cpath = frame[0], frame[1]
    if isinstance(container, dict):
        key = frame[2]
        frame[2] = _NO_KEY
        if isinstance(key, _Dup):  # positions kept out of the way (a path no lookup builds), and
            npath = cpath + (("<duplicate>", str(key)),)  # kept: a list or mapping value ends later
            doc.spans[npath] = span
            return npath
        container[key] = value
        npath = cpath + (key,)
        doc.key_spans[npath] = frame[3]
    else:
        container.append(value)
        npath = cpath + (len(container) - 1,)
    doc.spans[npath] = span
    return npath


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    if value is None:
        return "null"
    return f"scalar ({type(value).__name__})"


def _yaml_hint(problem: str) -> str:
    p = problem or ""
    if "mapping values are not allowed" in p:
        return "a `key: value` line is indented wrongly, or a value containing `: ` needs quotes"
    if "could not find expected ':'" in p:
        return "a key is missing its `:`, or a multi-line value is not indented under its key"
    if "found character '\\t'" in p or "tab" in p:
        return "YAML indents with spaces only"
    if "expected <block end>" in p:
        return "check the indentation of this line against the lines above it"
    return "check the YAML syntax at this position"


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset, lines counted as libyaml counts them."""
    offset = max(0, min(offset, len(text)))
    breaks = list(LINE_BREAK.finditer(text, 0, offset))
    line_start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, offset - line_start + 1


def load_file(path: str, diags: Diagnostics) -> Document | None:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        diags.error("E000", Span(path, 0, 0), f"cannot read file: {exc.strerror or exc}", "check the path")
        return None
    if len(raw) > MAX_FILE_BYTES:
        diags.error(
            "E006",
            Span(path, 1, 1),
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
            "a pipeline file this large is not a pipeline; check the path",
        )
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        col = len(raw[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        diags.error(
            "E001",
            Span(path, line, col, line, col + 1),
            f"the file is not UTF-8: byte 0x{raw[exc.start]:02x} ({exc.reason}) at byte offset {exc.start}",
            "save the file as UTF-8",
        )
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    return load_text(text, path, diags)
