"""Panic locations back in the pipeline file: a Rust panic says `src/lib.rs:L:C` of the generated
crate; the compiler writes `<module>.lines.json` beside each module, saying which generated
lines came from which inline code block (sscc/backend/rust `line_map`), and this turns the
location into `dataflow.yaml:LINE:COL`, as rustc errors already are (docs/abi.md §6)."""

from __future__ import annotations

import json
import re
from pathlib import Path

_LOCATION = re.compile(r"\bsrc/(lib\.rs|pkg/[\w.-]+\.rs):(\d+):(\d+)")


class LineMap:
    def __init__(self, data: dict):
        self._regions = [tuple(r) for r in data.get("regions", [])]
        self._files = dict(data.get("files", {}))

    @classmethod
    def load(cls, module: Path) -> "LineMap | None":
        """The map beside `module` (`x.wasm` -> `x.lines.json`), or None (a hand-written module)."""
        try:
            return cls(json.loads(module.with_suffix(".lines.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def where(self, file: str, line: int, col: int) -> str | None:
        """The pipeline-file location of `src/<file>:line:col`, or None for generated code."""
        if file != "lib.rs":
            source = self._files.get(f"src/{file}")
            return f"{source}:{line}:{col}" if source else None
        for first, last, path, at_line, at_col, how in self._regions:
            if first <= line <= last:
                if how == "lines":
                    return f"{path}:{at_line + line - first}:{at_col + col - 1}"
                if how == "call":
                    return f"{path}:{at_line}:{at_col} (the operator's signature, as sscc calls it)"
                return f"{path}:{at_line}:{at_col} (line {line - first + 1} of its code, column {col})"
        return None

    def rewrite(self, message: str) -> str:
        def replace(match: re.Match) -> str:
            found = self.where(match.group(1), int(match.group(2)), int(match.group(3)))
            return found if found is not None else match.group(0)

        return _LOCATION.sub(replace, message)
