"""The project emitter: `sscc compile` writes a standalone Python project (DESIGN.md §5).

    pyproject.toml, README.md, plan.json, .sscc-files
    <pkg>/__init__.py, __main__.py, pipeline.py   wiring from templates/project/*.j2, black-formatted
    <pkg>/services.json                            the runtime's service description (format 1)
    <pkg>/wasm/<service>.wasm                      operator modules (backend/rust)
    <pkg>/sscc_runtime/                            the runtime, copied from runtime_stub/

Modules: emit (the sequence), describe (services.json), names, render (Jinja + black), files
(runtime copy, atomic writes, stale files), depfile, cache (`sscc run`'s project cache).
docs/compile.md describes the result.
"""

from .emit import Compiled, build, compile_project

__all__ = ["Compiled", "build", "compile_project"]
