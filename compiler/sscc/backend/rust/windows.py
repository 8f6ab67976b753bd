"""Rust glue of a windowed service (docs/semantics.md, docs/abi.md "Windows").

Three pieces, used by codegen.py:

- `window_code`: the window's constants (`SSCC_WINDOW`, a `sscc_guest::window::Spec`), the
  `sscc_window_begin`/`sscc_window_report` exports, `window()` for user code, and
  `sscc_window_drop(w)`, which drops window `w` from every state and logs a `C` record for it;
- `assign_timestamp`: inside the window stage's closure, runs the user's assign-timestamp on
  (value, record timestamp), classifies the event time (a late record fails with kind `late`)
  and runs the rest of the chain once per window it counts in, with that window current;
- `write_flush`: the flush stage. Its input has one frame per closing window (value = start,
  end, flag; docs/abi.md); it runs the user's flush with that window current and no key, emits
  its result (internal encoding, no key, timestamp end - 1), then drops the window.
"""

from __future__ import annotations

import dataclasses

from ...ir.nodes import AssignKey, AssignTimestamp, Flush, UpdateState, Window
from ...syntax import unwrap_result
from ..stages import ServicePlan

I64_MIN = "i64::MIN"


def window_code(plan: ServicePlan) -> list[str]:
    if plan.window is None:
        return []
    w = plan.window
    drops = []
    for i, _ in enumerate(plan.states):
        drops += [
            f"    sscc_state_{i}().drop_window(w);",
        ]
    return [
        "// ---------------------------------------------------------------- window",
        "",
        f"/// The service's window ({w.node.kind}); grace is the watermark's grace period.",
        "const SSCC_WINDOW: sscc_guest::window::Spec = sscc_guest::window::Spec {",
        f"    duration: {w.node.duration_ms},",
        f"    slide: {w.slide_ms},",
        f"    offset: {w.offset_ms},",
        f"    grace: {w.grace_ms},",
        "};",
        "sscc_guest::window_exports!();",
        "",
        "/// `window()` in SDF code: the current window's (start, end) in ms.",
        "pub fn window() -> (i64, i64) { sscc_guest::state::window() }",
        "",
        "/// Drops window `w` of every state (after its flush), as a `C` change record.",
        "fn sscc_window_drop(w: (i64, i64)) {",
        "    sscc_guest::state::set_window(w);",
        *drops,
        "}",
        "",
    ]


def assign_timestamp(sw, m: AssignTimestamp, rest: list, value: str, key, depth: int) -> None:
    """`fn(V, i64) -> Result<i64>`, then classification and the per-window loop."""
    from ..rust.codegen import GenerateProblem, _pass

    mod = sw.modules[m.code]
    params = list(mod.fn.params)
    if len(params) != 2:
        raise GenerateProblem(f"`{m.function}` takes {len(params)} parameters; an assign-timestamp takes the value and the time", m)
    sw._emit(depth, f'sscc_guest::enter("{m.function}");')
    call = f"op_{mod.index}::sscc_call({_pass(params[0].type, value, clone=True)}, rec.timestamp)"
    _, _, is_result = unwrap_result(mod.fn.ret) if mod.fn.ret is not None else (None, None, False)
    if is_result:
        call += ".map_err(sscc_guest::Failure::operator)?"
    ts, ws = sw._var("ts"), sw._var("ws")
    sw._emit(depth, f"let {ts}: i64 = {call};")
    sw._emit(depth, f"let {ws} = sscc_guest::window::classify(&SSCC_WINDOW, {ts})?;")
    chain = [n for n in rest if not isinstance(n, Window)]
    if chain and isinstance(chain[0], AssignKey) and all(isinstance(n, UpdateState) for n in chain[1:]):
        # A record's key does not depend on the window (assign-key sees the same value in each),
        # so it is computed once per record, after the record is known not to be late; only
        # before update-state, which borrows the key (later steps could move it).
        key = sw._key_of(chain[0], value, depth)
        chain = chain[1:]
        if chain:  # and update-state does not change it: the key is set once, not per window
            sw._set_key(key, depth)
            key = dataclasses.replace(key, current=True)
    _per_window(sw, ws, chain, value, key, depth)


def _per_window(sw, ws: str, chain: list, value: str, key, depth: int) -> None:
    """Runs `chain` once per window of `ws` with that window current; the value moves into the
    last window's run instead of being cloned once more."""
    w, v, last, held, i = sw._var("w"), sw._var("v"), sw._var("last"), sw._var("held"), sw._var("i")
    sw._emit(depth, f"let {last} = {ws}.len().saturating_sub(1);")
    sw._emit(depth, f"let mut {held} = Some({value});")
    sw._emit(depth, f"for ({i}, {w}) in {ws}.into_iter().enumerate() {{")
    sw._emit(depth + 1, f"sscc_guest::state::set_window({w});")
    sw._emit(
        depth + 1,
        f"let mut {v} = if {i} == {last} {{ {held}.take().unwrap() }} else {{ {held}.as_ref().unwrap().clone() }};",
    )
    sw._chain(chain, v, key, depth + 1)
    sw._emit(depth, "}")


def write_flush(sw) -> list[str]:
    """The flush stage: per window frame, the user's flush (if any), its output, the drop."""
    from ..rust.codegen import GenerateProblem

    st = sw.stage
    node = st.node
    out = [
        f"/// Stage {st.index}: flush of the closing windows (one input frame per window)",
        "#[no_mangle]",
        f'pub extern "C" fn {st.export}(in_ptr: u32, in_len: u32, base_offset: i64) -> i32 {{',
        "    sscc_guest::run_stage(in_ptr, in_len, base_offset, |rec, out| {",
        '        sscc_guest::enter("flush");',
        "        let (w, run) = sscc_guest::window::flush_frame(rec.value)?;",
        "        sscc_guest::state::set_window(w);",
        "        sscc_guest::state::set_key(String::new());",
    ]
    if isinstance(node, Flush):
        mod = sw.modules[node.code]
        if mod.fn.params:
            raise GenerateProblem(f"`{node.function}` takes {len(mod.fn.params)} parameters; a flush takes none", node)
        _, _, is_result = unwrap_result(mod.fn.ret) if mod.fn.ret is not None else (None, None, False)
        call = f"op_{mod.index}::sscc_call()" + (".map_err(sscc_guest::Failure::operator)?" if is_result else "")
        out += [
            "        let result = if run {",
            "            (|| -> std::result::Result<(), sscc_guest::Failure> {",
            f'                sscc_guest::enter("{node.function}");',
            "                sscc_guest::state::clear_key();  // `key()` is None in a flush",
            f"                let v = {call};",
            "                out.emit_json(None, &v, w.1.saturating_sub(1))",
            "            })()",
            "        } else {",
            "            Ok(())",
            "        };",
        ]
    else:  # a window without flush keeps per-window state that is dropped at close
        out += ["        let result = Ok(());"]
    return out + [
        "        sscc_window_drop(w);",
        "        result",
        "    })",
        "}",
    ]
