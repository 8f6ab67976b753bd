"""The plain-data description of the services to run (docs/runtime.md, "Service description").

The compiler writes it from plan.json; tests and the CLI write it by hand. It is JSON-shaped on
purpose (dicts, lists, strings, numbers) so it can be read from a file, built in a test, and
diffed. Parsing checks everything up front and names the offending path in the error.
"""

from __future__ import annotations

from .records import record as dataclass  # records.py: dataclass's methods without its import cost
from pathlib import Path
from typing import Any

from . import names
from .wasm_host import Limits

FORMAT = 1
_POSITIONS = ("Beginning", "End", "Offset")


class DescriptionError(ValueError):
    pass


# Records read per source partition per batch, when services.json does not say. Each batch is one
# guest call per stage and one store commit, and a state key changed many times in a batch is
# written to its changelog once: 16384 made bench/win.py ~10% faster than 4096 (fewer, smaller
# commits). Overridden per run with `run --batch-records N`.
DEFAULT_BATCH_RECORDS = 16384


@dataclass(frozen=True)
class Stage:
    name: str
    module: Path
    export: str


@dataclass(frozen=True)
class Schedule:
    """A cron schedule as the sets of values it matches (UTC; docs/schedules.md). `days_either`:
    both day fields are restricted, so a day matches if either does (Vixie cron, croner)."""

    event: str
    cron: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday
    days_either: bool = False


@dataclass(frozen=True)
class Source:
    topic: str
    partitions: int
    starting_offset: dict | None
    stages: tuple[Stage, ...]
    schedule: Schedule | None = None  # a schedule source: the runtime fires into `topic`


@dataclass(frozen=True)
class Sink:
    topic: str
    partitions: int
    stages: tuple[Stage, ...]


@dataclass(frozen=True)
class State:
    """A keyed state the service's module keeps resident (durable as `changelog`), or a `from:`
    reference to another service's (then `changelog` is the owner's). `columns` are its SQL
    table's columns after `_key`: (name, SQLite type)."""

    name: str
    changelog: str
    kind: str = "value"  # value | arrow-row
    columns: tuple[tuple[str, str], ...] = (("value", "TEXT"),)


@dataclass(frozen=True)
class WindowSpec:
    """A windowed service's window (docs/runtime.md, "Windowed services"): its constants, the
    export that classifies records and updates state (`stage`), and the flush chain whose first
    stage the loop calls with one frame per closing window."""

    kind: str
    duration_ms: int
    slide_ms: int
    offset_ms: int
    grace_ms: int
    idleness_ms: int | None
    stage: str
    flush: tuple[Stage, ...]


@dataclass(frozen=True)
class Repartition:
    """A keyed service split at its `partition` step (docs/scale-out.md): with more than one
    state shard, the records of source i run `sources[i]` then `stages` (ending in assign-key) in
    the source tasks and go to the repartition topic by key; task p runs `keyed` (the rest of
    the partition, update-state) on repartition partition p. One shard runs the service's
    ordinary stages (the same steps joined, no repartition topic)."""

    sources: tuple[tuple[Stage, ...], ...]
    stages: tuple[Stage, ...]
    keyed: tuple[Stage, ...]


@dataclass(frozen=True)
class Service:
    name: str
    sources: tuple[Source, ...]
    stages: tuple[Stage, ...]
    sinks: tuple[Sink, ...]
    dead_letters: str
    limits: Limits
    batch_records: int
    states: tuple[State, ...] = ()  # index i = the guest's state number i
    refs: tuple[State, ...] = ()  # `from:` references (read-only, through sql())
    sql: bool = False  # the module calls the host's sql(): keep an SQL mirror of states and refs
    window: WindowSpec | None = None
    repartition: Repartition | None = None  # how to split at the partition step (scale-out)

    @property
    def title(self) -> str:
        """The service's own name (its store name less the pipeline's namespace, names.py)."""
        return names.title(self.name)


def load(data: dict, base_dir: str | Path = ".") -> list[Service]:
    """`{"format": 1, "services": [...]}`; module paths are relative to `base_dir`."""
    _expect(data, dict, "description")
    if data.get("format") != FORMAT:
        raise DescriptionError(
            f"description format {data.get('format')!r}, this runtime reads {FORMAT}"
        )
    services = _expect(data.get("services"), list, "services")
    parsed = [
        parse_service(s, Path(base_dir), f"services[{i}]")
        for i, s in enumerate(services)
    ]
    names = [s.name for s in parsed]
    if len(set(names)) != len(names):
        raise DescriptionError(f"duplicate service names in {names}")
    return parsed


def parse_service(data: Any, base_dir: Path, where: str = "service") -> Service:
    _expect(data, dict, where)
    _only(
        data,
        {
            "name",
            "sources",
            "stages",
            "sinks",
            "dead_letters",
            "limits",
            "batch_records",
            "states",
            "refs",
            "sql",
            "window",
            "repartition",
        },
        where,
    )
    name = _string(data, "name", where)
    sources = tuple(
        Source(
            topic=_string(s, "topic", f"{where}.sources[{i}]"),
            partitions=_count(
                s.get("partitions", 1), f"{where}.sources[{i}].partitions"
            ),
            starting_offset=_starting_offset(
                s.get("starting_offset"), f"{where}.sources[{i}]"
            ),
            stages=_stages(
                s.get("stages", []), base_dir, f"{where}.sources[{i}].stages"
            ),
            schedule=_schedule(s.get("schedule"), f"{where}.sources[{i}].schedule"),
        )
        for i, s in enumerate(
            _entries(
                data,
                "sources",
                where,
                {"topic", "partitions", "starting_offset", "stages", "schedule"},
            )
        )
    )
    if not sources:
        raise DescriptionError(f"{where}.sources: a service needs at least one source")
    sinks = tuple(
        Sink(
            topic=_string(s, "topic", f"{where}.sinks[{i}]"),
            partitions=_count(s.get("partitions", 1), f"{where}.sinks[{i}].partitions"),
            stages=_stages(s.get("stages", []), base_dir, f"{where}.sinks[{i}].stages"),
        )
        for i, s in enumerate(
            _entries(data, "sinks", where, {"topic", "partitions", "stages"})
        )
    )
    limits = _expect(data.get("limits", {}), dict, f"{where}.limits")
    _only(limits, {"timeout_ms", "memory_mb", "record_bytes"}, f"{where}.limits")
    return Service(
        name=name,
        sources=sources,
        stages=_stages(data.get("stages", []), base_dir, f"{where}.stages"),
        sinks=sinks,
        dead_letters=(
            _string(data, "dead_letters", where)
            if "dead_letters" in data
            else f"{name}.dead-letters"
        ),
        limits=Limits(
            timeout_ms=_count(
                limits.get("timeout_ms", Limits.timeout_ms),
                f"{where}.limits.timeout_ms",
                minimum=0,
            ),
            memory_mb=_count(
                limits.get("memory_mb", Limits.memory_mb), f"{where}.limits.memory_mb"
            ),
            record_bytes=_count(
                limits.get("record_bytes", Limits.record_bytes), f"{where}.limits.record_bytes"
            ),
        ),
        batch_records=_count(data.get("batch_records", DEFAULT_BATCH_RECORDS), f"{where}.batch_records"),
        states=_states(data, "states", name, where),
        refs=_states(data, "refs", name, where),
        sql=data.get("sql", False) is True,
        window=_window(data.get("window"), base_dir, f"{where}.window"),
        repartition=_repartition(data.get("repartition"), len(sources), base_dir, f"{where}.repartition"),
    )


def _repartition(data: Any, sources: int, base_dir: Path, where: str) -> Repartition | None:
    if data is None:
        return None
    _expect(data, dict, where)
    _only(data, {"sources", "stages", "keyed"}, where)
    per_source = _expect(data.get("sources", [[]] * sources), list, f"{where}.sources")
    if len(per_source) != sources:
        raise DescriptionError(f"{where}.sources: expected {sources} lists of stages, one per source")
    keyed = _stages(data.get("keyed", []), base_dir, f"{where}.keyed")
    if not keyed:
        raise DescriptionError(f"{where}.keyed: a repartitioned service needs its keyed stages")
    return Repartition(
        sources=tuple(_stages(s, base_dir, f"{where}.sources[{i}]") for i, s in enumerate(per_source)),
        stages=_stages(data.get("stages", []), base_dir, f"{where}.stages"),
        keyed=keyed,
    )


def _window(data: Any, base_dir: Path, where: str) -> WindowSpec | None:
    if data is None:
        return None
    _expect(data, dict, where)
    keys = {"kind", "duration_ms", "slide_ms", "offset_ms", "grace_ms", "idleness_ms", "stage", "flush"}
    _only(data, keys, where)
    kind = _string(data, "kind", where)
    if kind not in ("tumbling", "sliding"):
        raise DescriptionError(f"{where}.kind: expected tumbling or sliding, got {kind!r}")
    duration = _count(data.get("duration_ms"), f"{where}.duration_ms")
    slide = _count(data.get("slide_ms", duration), f"{where}.slide_ms")
    if slide > duration:
        raise DescriptionError(f"{where}.slide_ms: must not exceed duration_ms ({duration})")
    flush = _stages(data.get("flush", []), base_dir, f"{where}.flush")
    if not flush:
        raise DescriptionError(f"{where}.flush: a window needs its flush stage")
    idleness = data.get("idleness_ms")
    return WindowSpec(
        kind=kind,
        duration_ms=duration,
        slide_ms=slide,
        offset_ms=_count(data.get("offset_ms", 0), f"{where}.offset_ms", minimum=0),
        grace_ms=_count(data.get("grace_ms", 0), f"{where}.grace_ms", minimum=0),
        idleness_ms=None if idleness is None else _count(idleness, f"{where}.idleness_ms", minimum=0),
        stage=_string(data, "stage", where),
        flush=flush,
    )


_CRON_SETS = {
    "seconds": (0, 59),
    "minutes": (0, 59),
    "hours": (0, 23),
    "days_of_month": (1, 31),
    "months": (1, 12),
    "days_of_week": (0, 6),
}


def _schedule(data: Any, where: str) -> Schedule | None:
    if data is None:
        return None
    _expect(data, dict, where)
    _only(data, {"event", "cron", "days_either", *_CRON_SETS}, where)
    sets = {}
    for name, (low, high) in _CRON_SETS.items():
        values = _expect(data.get(name), list, f"{where}.{name}")
        if not values or not all(isinstance(v, int) and low <= v <= high for v in values):
            raise DescriptionError(f"{where}.{name}: expected a non-empty list of integers {low}-{high}")
        sets[name] = frozenset(values)
    return Schedule(
        event=_string(data, "event", where),
        cron=_string(data, "cron", where),
        days_either=data.get("days_either", False) is True,
        **sets,
    )


def _states(data: dict, field: str, service: str, where: str) -> tuple[State, ...]:
    out = []
    for i, st in enumerate(_entries(data, field, where, {"name", "changelog", "kind", "columns"})):
        at = f"{where}.{field}[{i}]"
        name = _string(st, "name", at)
        columns = _expect(st.get("columns", [["value", "TEXT"]]), list, f"{at}.columns")
        if not all(isinstance(c, list) and len(c) == 2 and all(isinstance(x, str) for x in c) for c in columns):
            raise DescriptionError(f"{at}.columns: expected [name, type] pairs")
        out.append(
            State(
                name=name,
                changelog=_string(st, "changelog", at) if "changelog" in st else f"{service}.{name}.changelog",
                kind=_string(st, "kind", at) if "kind" in st else "value",
                columns=tuple((c[0], c[1]) for c in columns),
            )
        )
    return tuple(out)


def _stages(items: Any, base_dir: Path, where: str) -> tuple[Stage, ...]:
    _expect(items, list, where)
    stages = []
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        _expect(item, dict, here)
        _only(item, {"name", "module", "export"}, here)
        export = _string(item, "export", here)
        stages.append(
            Stage(
                item.get("name") or export,
                base_dir / _string(item, "module", here),
                export,
            )
        )
    return tuple(stages)


def _starting_offset(spec: Any, where: str) -> dict | None:
    if spec is None:
        return None
    _expect(spec, dict, f"{where}.starting_offset")
    if spec.get("position") not in _POSITIONS or not isinstance(
        spec.get("value", 0), int
    ):
        raise DescriptionError(
            f"{where}.starting_offset: expected position {'|'.join(_POSITIONS)} and an integer value"
        )
    return spec


def _entries(data: dict, key: str, where: str, allowed: set[str]) -> list[dict]:
    items = _expect(data.get(key, []), list, f"{where}.{key}")
    for i, item in enumerate(items):
        _expect(item, dict, f"{where}.{key}[{i}]")
        _only(item, allowed, f"{where}.{key}[{i}]")
    return items


def _only(data: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise DescriptionError(
            f"{where}: unknown keys {unknown} (allowed: {sorted(allowed)})"
        )


def _string(data: dict, key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise DescriptionError(f"{where}.{key}: expected a non-empty string")
    return value


def _count(value: Any, where: str, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise DescriptionError(
            f"{where}: expected an integer >= {minimum}, got {value!r}"
        )
    return value


def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise DescriptionError(
            f"{where}: expected a {kind.__name__}, got {type(value).__name__}"
        )
    return value
