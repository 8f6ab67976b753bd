"""The project emitter: `sscc compile` writes a standalone Python project (DESIGN.md §5).

    pyproject.toml, README.md, plan.json, .sscc-files
    <pkg>/__init__.py, __main__.py, pipeline.py   wiring from templates/project/*.j2, black-formatted
    <pkg>/services.json                            the runtime's service description (format 1)
    <pkg>/graph.json                               the IR operators of each stage, for `run --ui` (graph.py)
    <pkg>/wasm/<service>.wasm                      operator modules (backend/rust)
    <pkg>/sscc_runtime/                            the runtime, copied from runtime_stub/

Modules: emit (the sequence), describe (services.json), names, render (Jinja + black), files
(runtime copy, atomic writes, stale files), depfile, cache (`sscc run`'s project cache).
docs/compile.md describes the result.
"""

__all__ = ["Compiled", "build", "compile_project"]


def __getattr__(name: str):
    # Lazy, so `sscc run` can use .cache without importing the compiler when nothing changed.
    if name in __all__:
        from . import emit

        return getattr(emit, name)
    raise AttributeError(name)
