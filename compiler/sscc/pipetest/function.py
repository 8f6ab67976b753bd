"""`sscc test function FN --value V [--key K] FILE`: one operator on one record, like
`sdf test function`.

The pipeline is compiled unfused (-O0, into `sscc run`'s project cache), where every operator is
a stage of its own whose records are in the internal encoding: the value as JSON of the
operator's input type (docs/abi.md). A one-service description runs just that stage over a
one-record topic of a temporary store with the runtime's own loop, so limits, traps and errors
are what a run gives. A value that is not JSON is taken as text (a JSON string). Prints every
output record (a map gives one, a filter one or none, a
flat-map any number) or the error, exit 0 / 1.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import click

from ..diagnostics import SourceCache, render_summary, render_text

IN, OUT, DEAD = "sscc-test-function.in", "sscc-test-function.out", "sscc-test-function.dead-letters"
NOT_OPERATORS = ("decode", "encode")


def _stages(description: dict) -> list[tuple[dict, dict]]:
    """(service, stage) of every stage of every service."""
    out = []
    for svc in description["services"]:
        for group in [*(s.get("stages", []) for s in svc.get("sources", [])), svc.get("stages", []), *(s.get("stages", []) for s in svc.get("sinks", []))]:
            out += [(svc, stage) for stage in group]
    return out


def run_function(file: str, function: str, value: str, key: str | None) -> int:
    from .project import prepare

    sources = SourceCache()
    prepared = prepare(file, sources, optimize=False)
    for d in prepared.diagnostics:
        click.echo(render_text(d, sources) + "\n", err=True)
    if not prepared.ok:
        click.echo(f"{file}: {render_summary(prepared.diagnostics)}", err=True)
        return 1
    package_dir = prepared.project_dir / prepared.package
    description = json.loads((package_dir / "services.json").read_text(encoding="utf-8"))
    wanted_service, _, name = function.rpartition("/")
    candidates = [(svc, st) for svc, st in _stages(description) if st.get("name") not in NOT_OPERATORS]
    from ..runtime_stub.sscc_runtime.names import title  # `pricing` for `examples.order-totals.pricing`

    found = [(svc, st) for svc, st in candidates if st.get("name") == name and wanted_service in ("", svc["name"], title(svc["name"]))]
    if not found:
        from ..diagnostics import did_you_mean

        names = sorted({st.get("name") for _, st in candidates})
        hint = did_you_mean(name, names, "operators") or "the pipeline has no operator stage"
        click.echo(f"error: no operator `{function}` in {file}\n  hint: {hint}", err=True)
        return 1
    if len(found) > 1:
        names = ", ".join(f"{title(svc['name'])}/{name}" for svc, _ in found)
        click.echo(f"error: `{name}` is an operator of several services ({names}); name it as SERVICE/{name}", err=True)
        return 1
    svc, stage = found[0]
    return _run_one(package_dir, svc, stage, _internal(value), key)


def _internal(value: str) -> str:
    """The value in the internal encoding (JSON): given as JSON, or else text, which is written
    as a JSON string (`--value 'hello world'` for an operator taking a String)."""
    try:
        json.loads(value)
        return value
    except ValueError:
        return json.dumps(value, ensure_ascii=False)


def _run_one(package_dir: Path, svc: dict, stage: dict, value: str, key: str | None) -> int:
    from ..runtime_stub.sscc_runtime import frames, service
    from ..runtime_stub.sscc_runtime.loop import Loop
    from ..runtime_stub.sscc_runtime.store import Store
    from ..runtime_stub.sscc_runtime.wasi import Environment

    one = {k: v for k, v in svc.items() if k in ("name", "limits", "states")}
    one["sources"] = [{"topic": IN, "starting_offset": {"position": "Beginning", "value": 0}, "stages": [stage]}]
    one["stages"], one["sinks"], one["dead_letters"] = [], [{"topic": OUT, "stages": []}], DEAD
    services = service.load({"format": 1, "services": [one]}, package_dir)
    where = Path(tempfile.mkdtemp(prefix="sscc-test-function-"))
    try:
        with Store(where / "store.db") as store:
            store.ensure_topic(IN, 1)
            data = frames.encode(key.encode() if key is not None else None, value.encode("utf-8"), 0)
            store.append(IN, 0, data, 1)
            Loop(store, services, until_idle=True, env=Environment({}, None)).run()
            outputs = _records(store, OUT)
            dead = _records(store, DEAD)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    label = f"{svc['name'].rsplit('.', 1)[-1]}/{stage.get('name')}"
    if dead:
        letter = json.loads(dead[0].value)
        click.echo(f"error: {label} failed ({letter.get('kind')}): {letter.get('reason')}", err=True)
        return 1
    if not outputs:
        click.echo(f"{label}: no output (the record was filtered out)", err=True)
    for rec in outputs:
        text = rec.value.decode("utf-8", errors="replace")
        click.echo(f"{rec.key.decode('utf-8', errors='replace')}={text}" if rec.key is not None and key is not None else text)
    return 0


def _records(store, topic: str) -> list:
    from ..runtime_stub.sscc_runtime import frames

    if topic not in store.topics():
        return []
    batch = store.read(topic, 0, 0, 1 << 20)
    return list(frames.iter_records(batch.data)) if batch.count else []
