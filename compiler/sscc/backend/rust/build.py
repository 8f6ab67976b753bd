"""Building a generated crate to wasm: offline cargo, a content-addressed cache, a file lock.

Cache layout (root: `cache_dir`, else $SSCC_CACHE_DIR, else ~/.cache/sscc):

    wasm/<key>.wasm     finished modules; key = sha256 of the crate's files (glue crate included),
                        the toolchain's versions, the target and BUILD_SCHEME
    src/<key>/          the crate while cargo builds it (removed after a successful build)
    target/             one CARGO_TARGET_DIR for every crate, so serde & co. compile once
    build.lock          flock held around builds: several sscc processes may share the cache

A cache hit reads one file and never starts cargo; a build runs cargo in a sandbox (sandbox.py). A build's compiler messages are returned as
plain data (Message); mapping them onto the pipeline file is the caller's job.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ... import status
from . import sandbox
from .codegen import LIB_NAME, ONCE_CELL_CFG, Crate
from .toolchain import TARGET, Toolchain

BUILD_SCHEME = "5"  # bump when the build itself changes in a way the key does not see
# WebAssembly 2.0 features wasmtime enables by default. With fat LTO they apply to std's code too.
# bulk-memory turns every copy (each String the guest clones or moves into a Vec) into one
# `memory.copy` instead of a call to compiler_builtins' byte loop: WC ran 18 % faster, WIN 4 %
# (docs/benchmarks.md, session 6). nontrapping-fptoint makes Rust's saturating `as` casts from
# floats single instructions instead of compare-and-branch sequences.
TARGET_FEATURES = "+bulk-memory,+nontrapping-fptoint"
CARGO_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Message:
    """One rustc diagnostic of level error: its primary span in the crate (may be absent)."""

    message: str
    rendered: str
    file: Optional[str] = None  # relative to the crate root, e.g. "src/lib.rs"
    line: int = 0
    col: int = 0
    end_line: int = 0
    end_col: int = 0
    label: Optional[str] = None
    notes: tuple[str, ...] = ()


@dataclass
class BuildResult:
    wasm: Optional[bytes]
    cached: bool = False
    messages: list[Message] = field(default_factory=list)
    output: str = ""  # cargo's stderr (and rendered messages) when it failed otherwise
    key: str = ""


def cache_root(cache_dir: Optional[str] = None) -> Path:
    if cache_dir:
        return Path(cache_dir)
    env = os.environ.get("SSCC_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "sscc"


def cache_key(crate: Crate, toolchain: Toolchain) -> str:
    digest = hashlib.sha256()
    for part in (BUILD_SCHEME, TARGET, toolchain.version, toolchain.registry):
        digest.update(part.encode() + b"\0")
    for path in sorted(crate.files):
        digest.update(path.encode() + b"\0" + crate.files[path].encode() + b"\0")
    return digest.hexdigest()[:32]


def cargo_config(registry: str) -> str:
    return (
        '[source.crates-io]\nreplace-with = "offline"\n\n'
        f'[source.offline]\ndirectory = "{registry}"\n\n'
        "[net]\noffline = true\n"
    )


def build(crate: Crate, toolchain: Toolchain, cache_dir: Optional[str] = None) -> BuildResult:
    root = cache_root(cache_dir)
    key = cache_key(crate, toolchain)
    wasm_path = root / "wasm" / f"{key}.wasm"
    try:
        return BuildResult(wasm_path.read_bytes(), cached=True, key=key)
    except FileNotFoundError:  # not built yet, or removed by `sscc cache prune` since: build it
        pass
    if sandbox.wanted():
        sandbox.check_available()  # raises SandboxUnavailable: no build runs unsandboxed by accident
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "build.lock", "w") as lock:
        if status.active():  # say why nothing moves while another sscc builds
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                status.note("waiting for another sscc's Rust build (the build cache is locked)")
        fcntl.flock(lock, fcntl.LOCK_EX)
        if wasm_path.exists():  # another process built it while we waited
            return BuildResult(wasm_path.read_bytes(), cached=True, key=key)
        result = _cargo_build(crate, toolchain, root, key)
        if result.wasm is not None:
            wasm_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = wasm_path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(result.wasm)
            os.replace(tmp, wasm_path)
        return result


def _cargo_build(crate: Crate, toolchain: Toolchain, root: Path, key: str) -> BuildResult:
    src = root / "src" / key
    shutil.rmtree(src, ignore_errors=True)
    for rel, text in crate.files.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (src / ".cargo").mkdir(exist_ok=True)
    (src / ".cargo" / "config.toml").write_text(cargo_config(toolchain.registry))
    # `cargo rustc` passes the extra flags to the generated crate only, so the dependencies in the
    # shared target directory keep one fingerprint. RUSTC_BOOTSTRAP=<crate> allows `#![feature]`
    # in that crate alone: Rust < 1.70 has OnceLock/LazyLock only behind `once_cell`.
    variables = {
        "RUSTC": toolchain.rustc,
        "CARGO_TARGET_DIR": str(root / "target"),
        "CARGO_NET_OFFLINE": "true",
        "RUSTC_BOOTSTRAP": LIB_NAME,
    }
    cmd = [toolchain.cargo, "rustc", "--lib", "--release", "--target", TARGET, "--message-format=json"]
    cmd += ["--", "-C", f"target-feature={TARGET_FEATURES}"]
    if _minor_version(toolchain.version) < 70:
        cmd += ["--cfg", ONCE_CELL_CFG]
    if sandbox.wanted():  # the default: the code being built sees nothing of this machine
        tools = [os.path.dirname(os.path.realpath(t)) for t in (toolchain.cargo, toolchain.rustc)]
        manifests = [(rel, text) for rel, text in crate.files.items() if rel.endswith("Cargo.toml")]
        readable = [os.path.dirname(t) for t in tools] + [toolchain.registry]
        readable += sandbox.path_dependencies(src, manifests)
        env = sandbox.build_env(tools, **variables)
        (root / "target").mkdir(exist_ok=True)  # bound into the sandbox, so it must exist
        cmd = sandbox.wrap(cmd, cwd=src, env=env, writable=[src, root / "target"], readable=map(Path, readable))
    else:
        env = dict(os.environ, **variables)
        env.pop("RUSTFLAGS", None)
    try:
        if status.active():  # a terminal shows cargo's steps as they happen
            proc = _run_showing_steps(cmd, src, env)
        else:
            proc = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=CARGO_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return BuildResult(None, output=f"cargo did not finish within {CARGO_TIMEOUT_S} s", key=key)
    except OSError as e:
        return BuildResult(None, output=f"cargo could not start: {e}", key=key)
    messages, artifact = _parse(proc.stdout)
    if proc.returncode == 0 and artifact and Path(artifact).exists():
        wasm = Path(artifact).read_bytes()
        shutil.rmtree(src, ignore_errors=True)
        return BuildResult(wasm, key=key)
    rendered = "".join(m.rendered for m in messages)
    return BuildResult(None, messages=messages, output=(rendered + proc.stderr).strip(), key=key)


def _run_showing_steps(cmd: list, src: Path, env: dict) -> subprocess.CompletedProcess:
    """subprocess.run(cmd, capture_output=True, text=True, timeout=CARGO_TIMEOUT_S), with cargo's
    `Compiling <crate>` lines (stderr) passed to the status line as they come."""
    import tempfile
    import threading

    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, cwd=src, env=env, stdout=out, stderr=subprocess.PIPE, text=True)
        timer = threading.Timer(CARGO_TIMEOUT_S, proc.kill)
        timer.start()
        err = []
        try:
            for line in proc.stderr:
                err.append(line)
                step = re.sub(r"\s*\(/[^)]*\)$", "", line.strip())  # no crate paths on a one-line status
                if step.split(" ", 1)[0] in ("Compiling", "Finished", "Blocking"):
                    status.note(f"cargo: {step}")
            proc.wait()
        finally:
            timed_out = not timer.is_alive() and proc.returncode is not None and proc.returncode < 0
            timer.cancel()
        if timed_out:
            raise subprocess.TimeoutExpired(cmd, CARGO_TIMEOUT_S)
        out.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), "".join(err))


def _minor_version(version: str) -> int:
    """70 for `rustc 1.70.0 (...)`; 0 when unreadable."""
    m = re.search(r"rustc 1\.(\d+)", version)
    return int(m.group(1)) if m else 0


def _parse(stdout: str) -> tuple[list[Message], Optional[str]]:
    """Error messages of the generated crate (not of dependencies) and the .wasm it produced."""
    messages: list[Message] = []
    artifact = None
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        reason = item.get("reason")
        if reason == "compiler-artifact" and item.get("target", {}).get("name") == LIB_NAME:
            artifact = next((f for f in item.get("filenames", []) if f.endswith(".wasm")), artifact)
        elif reason == "compiler-message":
            msg = item.get("message") or {}
            if msg.get("level") not in ("error", "error: internal compiler error"):
                continue
            messages.append(_message(msg))
    return messages, artifact


def _message(msg: dict) -> Message:
    spans = msg.get("spans") or []
    primary = _crate_span(spans)
    notes = tuple(f"{c.get('level', 'note')}: {c.get('message', '')}" for c in msg.get("children") or [] if c.get("message"))
    if primary is None:
        return Message(msg.get("message", ""), msg.get("rendered") or "", notes=notes)
    label = primary.get("label")
    return Message(
        msg.get("message", ""),
        msg.get("rendered") or "",
        primary.get("file_name"),
        primary.get("line_start", 0),
        primary.get("column_start", 0),
        primary.get("line_end", 0),
        primary.get("column_end", 0),
        label,
        notes,
    )


def _in_crate(span: dict) -> bool:
    """Crate files are relative ("src/lib.rs"); dependencies, std and macro defs are absolute
    (or, for a path dependency such as the glue crate, may be relative outside the crate)."""
    name = span.get("file_name") or ""
    return bool(name) and not os.path.isabs(name) and not name.startswith(("<", ".."))


def _crate_span(spans: list) -> Optional[dict]:
    """The span of a message in the generated crate. rustc's primary span can lie in another
    file: inside a macro's definition (`anyhow::anyhow!` in the user's code puts it in anyhow's
    macros.rs, with the call site as its expansion) or in std / a dependency (a trait bound);
    then the call site of the outermost expansion in the crate, else a secondary span in the
    crate, is where the user's code is. Without either the primary span stays (E203 material)."""
    primary = next((s for s in spans if s.get("is_primary")), spans[0] if spans else None)
    span = primary
    while span is not None and not _in_crate(span):
        span = (span.get("expansion") or {}).get("span")
    if span is None:
        span = next((s for s in spans if _in_crate(s)), None)
    if span is None or span is primary:
        return primary
    return dict(span, label=(primary or {}).get("label") or span.get("label"))
