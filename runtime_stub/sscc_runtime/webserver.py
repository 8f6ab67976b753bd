"""The live web page and Prometheus endpoint of a running pipeline (`run --ui`, `run --metrics`).

Starlette served by uvicorn on a daemon thread of the run process, with its own event loop. The
run loop only hands over a snapshot of its counters about once a second (`Board.publish`, called
where the progress line is refreshed); everything else (per-partition lag, the latest dead
letters, state tables, SQL) the server reads from the store on its own connection, in its own
thread, so serving the page costs the loop nothing per record. Imported only when one of the two
flags is given: Starlette, uvicorn and prometheus_client are not on the start-up path.
docs/ui.md describes the page, the endpoints and the metric names.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Callable

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import ProcessCollector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from . import frames, sqlcmd, statelog
from .graph import Model, stage_key
from .metrics import PipelineCollector
from .webpage import PAGE

DEAD_LETTERS_SHOWN = 20
EVENT_SECONDS = 1.0  # how often the page's event stream sends a fresh view
SQL_TIMEOUT_S = 5.0  # a query from the page blocks the server's thread: keep it short


class Board:
    """The loop's counters as of its last refresh: plain copies, swapped in whole, so a reader on
    the server thread never sees a half-updated view. The last two make the per-second rates."""

    def __init__(self, model: Model):
        self._ids = model.ids
        self._pair: tuple = (None, None)  # (previous, latest), each (monotonic time, {service: counts})

    def publish(self, counters: dict) -> None:
        """Called on the loop thread (Loop.on_counters), about once a second."""
        now = time.monotonic()
        snap = {}
        for name, c in counters.items():
            snap[name] = {
                "in": c.records_in,
                "out": c.records_out,
                "dead": c.dead_lettered,
                "late": c.late,
                "batches": c.batches,
                "lag": c.lag,
                "stages": {
                    self._ids.get((name, key), repr(key)): tuple(v) for key, v in list(c.stages.items())
                },
                "dead_by_operator": dict(c.dead_by_operator),
                "latency": list(c.latency),
                "latency_sum": c.latency_sum,
            }
        self._pair = (self._pair[1], (now, snap))

    def latest(self) -> dict:
        latest = self._pair[1]
        return latest[1] if latest else {}

    def rates(self) -> dict:
        """Per second over the last refresh interval: {service: {in, out, dead}}, {stage id: (in, out, dead)}."""
        previous, latest = self._pair
        services, stages = {}, {}
        if latest is None:
            return {"services": services, "stages": stages}
        if previous is None:
            previous = (latest[0] - 1.0, {})
        seconds = max(latest[0] - previous[0], 1e-9)
        for name, now in latest[1].items():
            before = previous[1].get(name, {})
            services[name] = {k: (now[k] - before.get(k, 0)) / seconds for k in ("in", "out", "dead")}
            old = before.get("stages", {})
            for sid, tally in now["stages"].items():
                was = old.get(sid, (0, 0, 0))
                stages[sid] = tuple((a - b) / seconds for a, b in zip(tally, was))
        return {"services": services, "stages": stages}


class View:
    """What the endpoints show; every store read happens on the server's thread."""

    def __init__(self, model: Model, board: Board, open_store: Callable):
        self.model, self.board = model, board
        self._open_store = open_store
        self._store = None
        self._dead_cache: dict[str, tuple[int, list]] = {}  # topic -> (end offset, letters)
        self._size_cache: dict[str, tuple[int, int]] = {}  # changelog -> (end offset, keys)
        self.started = time.time()
        self.finished: str | None = None  # set when the run has stopped
        self.closing = False  # the server is shutting down: event streams end

    @property
    def store(self):
        if self._store is None:
            self._store = self._open_store()
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def counters(self) -> dict:
        latest, rates = self.board.latest(), self.board.rates()
        services = {}
        for name, counts in latest.items():
            services[name] = {
                **{k: counts[k] for k in ("in", "out", "dead", "late", "batches", "lag")},
                "rate": rates["services"].get(name, {}),
                "dead_by_operator": [
                    {"stage": s, "operator": o, "count": n} for (s, o), n in sorted(counts["dead_by_operator"].items())
                ],
            }
        stages = {}
        for name, counts in latest.items():
            for sid, tally in counts["stages"].items():
                stages[sid] = {"in": tally[0], "out": tally[1], "dead": tally[2], "rate": rates["stages"].get(sid, (0, 0, 0))}
        return {"services": services, "stages": stages}

    def lag(self) -> list[dict]:
        """Per source partition: the next offset stored, the committed position, the difference."""
        store, rows = self.store, []
        topics = store.topics()
        for svc in self.model.services:
            for src in svc.sources:
                for partition in range(topics.get(src.topic, 0)):
                    end = store.bounds(src.topic, partition)[1]
                    position = store.position(svc.name, src.topic, partition)
                    rows.append(
                        {
                            "service": svc.name,
                            "topic": src.topic,
                            "partition": partition,
                            "end": end,
                            "position": position,
                            "lag": None if position is None else max(end - position, 0),
                        }
                    )
        return rows

    def dead_letters(self) -> list[dict]:
        """The latest dead letters of every service, newest first."""
        store, out = self.store, []
        topics = store.topics()
        for svc in self.model.services:
            topic = svc.dead_letters
            if topic not in topics:
                continue
            first, end = store.bounds(topic, 0)
            cached = self._dead_cache.get(topic)
            if cached is None or cached[0] != end:
                start = max(first, end - DEAD_LETTERS_SHOWN)
                letters = []
                offset = start
                while offset < end:
                    batch = store.read(topic, 0, offset, end - offset)
                    if not batch.count:
                        break
                    for i, record in enumerate(frames.iter_records(batch.data)):
                        letters.append((batch.base_offset + i, record.value))
                    offset = batch.base_offset + batch.count
                parsed = []
                for off, value in letters:
                    try:
                        body = json.loads(value)
                    except ValueError:
                        body = {"reason": value.decode("utf-8", "replace")}
                    parsed.append({"service": svc.name, "dead_offset": off, **(body if isinstance(body, dict) else {"reason": str(body)})})
                cached = self._dead_cache[topic] = (end, parsed)
            out += cached[1]
        out.sort(key=lambda d: d.get("dead_offset", 0), reverse=True)
        return out[:DEAD_LETTERS_SHOWN]

    def _changelogs(self) -> list[tuple[str, str, str]]:
        from .app import _changelogs  # the same listing as `state list` / `sql`

        return _changelogs(self.store)

    def state_sizes(self) -> list[dict]:
        rows = []
        for service_name, state_name, topic in self._changelogs():
            first, end = self.store.bounds(topic, 0)
            cached = self._size_cache.get(topic)
            if cached is None or cached[0] != end:
                live = statelog.replay_windows(statelog.read_all(self.store, topic))
                cached = self._size_cache[topic] = (end, sum(len(v) for v in live.values()))
            rows.append({"service": service_name, "state": state_name, "keys": cached[1], "changes": end - first})
        return rows

    def state_show(self, name: str, key: str | None) -> dict:
        """The rows `sscc state show NAME [--key K]` prints, as columns and rows."""
        found = [c for c in self._changelogs() if name in (c[1], f"{c[0]}.{c[1]}")]
        if len(found) != 1:
            known = ", ".join(f"{c[0]}.{c[1]}" for c in self._changelogs()) or "none"
            why = "is ambiguous: name it as service.state" if found else "is not in the store"
            raise LookupError(f"state {name!r} {why} (states: {known})")
        data = statelog.read_all(self.store, found[0][2])
        windows = statelog.replay_windows(data)
        if statelog.is_windowed(data):
            rows = [
                [f"{w[0]}..{w[1]}", k, json.dumps(v, ensure_ascii=False)]
                for w in sorted(windows, key=lambda w: (w[1], w[0]))
                for k, v in sorted(windows[w].items())
                if key is None or k == key
            ]
            return {"columns": ["WINDOW", "KEY", "VALUE"], "rows": rows}
        values = windows.get(statelog.GLOBAL, {})
        rows = [[k, json.dumps(v, ensure_ascii=False)] for k, v in sorted(values.items()) if key is None or k == key]
        return {"columns": ["KEY", "VALUE"], "rows": rows}

    def sql(self, query: str) -> dict:
        """`sscc sql QUERY` over the committed state tables: read-only (sqlcmd refuses writes)."""
        import sqlite3

        db = sqlite3.connect(":memory:")
        try:
            tables = sqlcmd.load(
                db,
                self._changelogs(),
                lambda topic: statelog.read_all(self.store, topic),
                lambda service_name, state: statelog.schema(self.store, service_name, state),
            )
            try:
                columns, rows = sqlcmd.query(db, query, SQL_TIMEOUT_S)
            except sqlcmd.QueryError as exc:
                raise sqlcmd.QueryError(f"{exc} (tables: {', '.join(tables) or 'none'})") from None
        finally:
            db.close()
        return {"columns": columns, "rows": [[sqlcmd._cell(v) for v in row] for row in rows]}

    def event(self) -> dict:
        return {
            "time": time.time(),
            "finished": self.finished,
            "counters": self.counters(),
            "lag": self.lag(),
            "dead_letters": self.dead_letters(),
        }


def make_app(view: View, page: bool) -> Starlette:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(view))
    try:
        ProcessCollector(registry=registry)
    except Exception:  # noqa: BLE001 - no /proc: the pipeline's metrics are still there
        pass

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    routes = [Route("/metrics", metrics)]
    if not page:
        async def hint(request: Request) -> Response:
            return PlainTextResponse("sscc: metrics only (run --metrics); the page is served by run --ui\n", status_code=404)

        return Starlette(routes=[*routes, Route("/", hint)])

    svg_cache: list[str] = []

    async def index(request: Request) -> Response:
        return HTMLResponse(PAGE.replace("{{NAME}}", _html(view.model.name)))

    async def graph_svg(request: Request) -> Response:
        if not svg_cache:
            svg_cache.append(await asyncio.get_running_loop().run_in_executor(None, view.model.svg))
        return Response(svg_cache[0], media_type="image/svg+xml")

    async def model(request: Request) -> Response:
        return JSONResponse(view.model.to_json())

    async def snapshot(request: Request) -> Response:
        return JSONResponse(view.event())

    async def events(request: Request) -> Response:
        async def stream():
            while True:
                yield f"data: {json.dumps(view.event())}\n\n"
                if view.finished or view.closing:
                    return
                await asyncio.sleep(EVENT_SECONDS)
                if await request.is_disconnected():
                    return

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    async def states(request: Request) -> Response:
        return JSONResponse(view.state_sizes())

    async def state(request: Request) -> Response:
        try:
            return JSONResponse(view.state_show(request.query_params.get("name", ""), request.query_params.get("key") or None))
        except LookupError as exc:
            return JSONResponse({"error": str(exc.args[0])}, status_code=404)

    async def sql(request: Request) -> Response:
        try:
            return JSONResponse(view.sql(request.query_params.get("q", "")))
        except sqlcmd.QueryError as exc:
            return JSONResponse({"error": f"sql: {exc}"}, status_code=400)

    return Starlette(
        routes=[
            *routes,
            Route("/", index),
            Route("/graph.svg", graph_svg),
            Route("/api/model", model),
            Route("/api/snapshot", snapshot),
            Route("/api/events", events),
            Route("/api/states", states),
            Route("/api/state", state),
            Route("/api/sql", sql),
        ]
    )


def _html(text: str) -> str:
    from html import escape

    return escape(text)


class WebServer:
    """The server thread: `start` binds (so a taken port is an error at once, on the caller's
    thread), `publish` is the loop's hook, `stop` ends it after the run."""

    def __init__(self, model: Model, open_store: Callable, page: bool):
        self.board = Board(model)
        self.view = View(model, self.board, open_store)
        self.page = page
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def publish(self, counters: dict) -> None:
        self.board.publish(counters)

    def start(self, host: str, port: int) -> str:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
        sock.listen(64)
        bound = sock.getsockname()[1]
        config = uvicorn.Config(
            make_app(self.view, self.page),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name="sscc-ui", daemon=True
        )
        self._thread.start()
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        self.url = f"http://{shown}:{bound}/" + ("" if self.page else "metrics")
        return self.url

    def _serve(self, sock: socket.socket) -> None:
        try:
            self._server.run(sockets=[sock])
        finally:
            self.view.close()

    def stop(self, how: str = "done") -> None:
        self.view.finished = how
        self.view.closing = True
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)


def start(
    name: str, services: list, description, open_store: Callable, address: tuple[str, int], page: bool, counters: dict
) -> WebServer:
    model = Model.load(name, services, description)
    server = WebServer(model, open_store, page)
    server.publish(counters)
    server.start(*address)
    return server
