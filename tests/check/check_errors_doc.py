"""docs/errors.d/check.md, generated from the case catalogue in tests/check/cases/.

Each entry: the code, a title, why the rule exists, every case file of the code (without its
`# expect:` header) with the diagnostic rendered as `sscc check` prints it, and the fix.
Regenerate after changing a rule or a case:

    python3 tests/check/check_errors_doc.py > docs/errors.d/check.md
"""

import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from check_helpers import CASES, ROOT, build, run_check  # noqa: E402
from sscc.diagnostics import Diagnostics, SourceCache, render_text  # noqa: E402

DOC = os.path.join(ROOT, "docs", "errors.d", "check.md")

INFO = {
    "E040": (
        "unknown type",
        "A `type:` (or a type in an inline Rust signature) names no primitive, no type under `types:` and no imported type. Rust types with no pipeline equivalent (`usize`, `char`, `HashMap`) and structs declared inside the `run:` block get the same code.",
        "Correct the name (the hint gives the closest one), define the type under `types:`, or import it.",
    ),
    "E041": (
        "reserved type name",
        "`enum object list option keyed-state arrow-row key-value` and the primitive names cannot name a type: a reference to it would be ambiguous.",
        "Rename the type and the places that use it.",
    ),
    "E042": (
        "duplicate name",
        "SDF compares names in kebab-case (SDF-FORMAT §2.2), so `word_count`, `WordCount` and `word-count` are one name. Types, services, topics, states, schedules, package functions and the inline functions of one service must stay distinct after that normalisation.",
        "Rename one of them.",
    ),
    "E043": (
        "duplicate `type-name`",
        "Every named type of a file, including inline composites named with `type-name:`, needs its own name: SDF generates one Rust/WIT type per name.",
        "Give each inline composite its own `type-name`, or define the shared one once under `types:` and refer to it.",
    ),
    "E044": (
        "arrow-row column is not a primitive",
        "Arrow-row states are tables; their columns hold u8..u64, i8..i64, f32, f64, bool, string or timestamp.",
        "Use a primitive column (store a composite as a JSON string), or split it into several columns.",
    ),
    "E045": (
        "malformed state",
        "A state is a `keyed-state` whose key is hashable and whose value is an integer (a value state) or an `arrow-row` (a row per key).",
        "Declare `key: {type: string}` (or another primitive) and `value: {type: u32}` or `value: {type: arrow-row, properties: ...}`.",
    ),
    "E046": (
        "unknown topic",
        "A source or sink names a topic id that `topics:` does not define; SDF needs the topic's schema to read or write it.",
        "Correct the id, or define the topic under `topics:`.",
    ),
    "E047": (
        "unknown schedule",
        "A `type: schedule` source names an event that `schedule:` does not define.",
        "Correct the id, or add the event under `schedule:` with a `cron:`.",
    ),
    "E048": (
        "unknown function in `uses`",
        "`uses:` names a function that no import provides (under its name or its `alias`), nor the package itself.",
        "Correct the name, or add it to the `functions:` of an import.",
    ),
    "E049": (
        "import names what the package lacks",
        "An import lists a type, function or state that the (loaded) package does not define.",
        "Correct the name; the hint lists what the package defines.",
    ),
    "E050": (
        "imported function used as another operator",
        "A package function declares its `operator:`; using it in another kind of step would call it with the wrong contract.",
        "Use the operator the package declares, or another function.",
    ),
    "E051": (
        "unknown operator",
        "The operator is not one of map, filter, filter-map, flat-map (in `transforms:`) or the named slots assign-key, assign-timestamp, update-state, flush. The preview names `group-by`, `process` and `aggregate` are recognised and named in the hint.",
        "Use the operator the hint names.",
    ),
    "E052": (
        "operator in the wrong place",
        "assign-key, assign-timestamp, update-state and flush are slots of `partition:`/`window:`, not `transforms:` items; update-state may close a partition's `transforms:` (the 0.4 shape) but nothing may follow it.",
        "Move the function to its slot.",
    ),
    "E053": (
        "wrong number of arguments",
        "Operators take the record value, optionally preceded by its key (`Option<K>`); assign-timestamp takes the value and the event time.",
        "Write the signature the operator table in SDF-FORMAT §4.2 gives.",
    ),
    "E054": (
        "input type mismatch",
        "A step's input must be the type the previous step (or the source topic) produces; the check follows the record through per-source transforms, the merge, `transforms`, partition/window and per-sink transforms. Aliases of primitives, `s32`/`i32`, `float64`/`f64` and `list<u8>`/`bytes` are equal; records are compared by name.",
        "Change the parameter type (the hint spells it in Rust), or add a map that converts.",
    ),
    "E055": (
        "key type mismatch",
        "A function with two value arguments reads the record key first. The key comes from the topic's `key:` schema, an `assign-key`, or a `(Option<K>, V)` output, and must have the type the function expects.",
        "Declare the key parameter with the key's type, or re-key the record before.",
    ),
    "E056": (
        "filter does not return bool",
        "A filter keeps or drops the record unchanged; it returns `Result<bool>`.",
        "Return a bool; use filter-map to change the value too.",
    ),
    "E057": (
        "filter-map does not return an Option",
        "A filter-map returns `Result<Option<T>>`: `None` drops the record. In a package declaration, `output: {optional: true}`.",
        "Wrap the output in `Option`, or use map.",
    ),
    "E058": (
        "flat-map does not return a list",
        "A flat-map returns `Result<Vec<T>>`, one output record per item (a package declaration gives the element type).",
        "Return a `Vec`, or use map.",
    ),
    "E059": (
        "assign-key returns an unhashable type",
        "Partition keys are integers, floats, bool or string (or an alias of one).",
        "Return one field of the value, or a string built from it.",
    ),
    "E060": (
        "assign-timestamp signature",
        "assign-timestamp is `fn f(value: T, event_time: i64) -> Result<i64>`: the event time and the result are milliseconds as `i64`.",
        "Use `i64` for the second argument and the result.",
    ),
    "E061": (
        "update-state returns a value",
        "update-state ends its partition: it updates state and returns `Result<()>`; a value would go nowhere.",
        "Return `Result<()>`; emit values from a window `flush` or a partition transform.",
    ),
    "E062": (
        "flush takes an argument",
        "flush runs when a window closes, without a record; it reads the state through its accessor. Only 0.1.0 files (upgraded) passed the state in as the argument, and that form is still accepted there.",
        "Remove the parameter and read the state inside the function.",
    ),
    "E063": ("window kind", "A window is exactly one of `tumbling:` and `sliding:`.", "Keep one of them."),
    "E064": (
        "window without assign-timestamp",
        "Windows are event-time: `assign-timestamp` gives each record its time.",
        "Add `assign-timestamp:`.",
    ),
    "E065": (
        "window durations",
        "The duration must be longer than 0, and a sliding window's slide must be longer than 0 and at most its duration.",
        "Fix the durations.",
    ),
    "E066": (
        "merged sources disagree",
        "All sources of a service feed the same `transforms:`; after their per-source transforms they must produce one type.",
        "Add a per-source map that converts.",
    ),
    "E067": (
        "sink type mismatch",
        "What reaches a sink (after its per-sink transforms) must be what the topic's `schema.value` (and `schema.key`, when both are known) holds.",
        "Add per-sink transforms, or change the topic's type.",
    ),
    "E068": (
        "partition without assign-key",
        "A partition keys the records it processes; `assign-key` is required.",
        "Add `assign-key:`.",
    ),
    "E069": (
        "partition and window side by side",
        "`partition` and `window` are one slot of a service (SDF's post-transforms); a windowed partition goes inside the window.",
        "Move the partition under `window:`.",
    ),
    "E070": (
        "`from:` names an unknown service",
        "A state reference `from: <service>.<state>` must name a service of this file.",
        "Correct the service name.",
    ),
    "E071": (
        "`from:` names an unknown state",
        "The referenced service must declare (own) the state.",
        "Correct the state name; the hint lists the states the service owns.",
    ),
    "E072": (
        "`from:` names another reference",
        "References point at the owner: one writer per state (SDF-FORMAT §5).",
        "Refer to the owning service directly.",
    ),
    "E073": (
        "write through a read-only reference",
        "Only the service that owns a state writes it; a `from:` reference is read-only. Writes are `update()`, `increment()`, `set()`, `delete()` and field assignments on the accessor's value.",
        "Move the update into the owning service, or only read the state.",
    ),
    "E074": (
        "unknown state accessor",
        "Inline code reaches a state through its accessor `name()` (snake_case of the state name). The call names no state the service owns or references.",
        "Correct the name, or add the state (or a `from:` reference) to the service.",
    ),
    "E075": (
        "unknown SQL table",
        '`sql("... from <table> ...")` runs over the arrow-row states in scope; table names are state names (snake_case or back-quoted kebab-case).',
        "Correct the table name, or reference the state with `from:`.",
    ),
    "E076": (
        "value state used as a row, or a row as a value",
        "A value state (`value: {type: u32}`) has `increment`, `set` and `get` and is not a SQL table; an arrow-row state has fields, `update()` and `delete()`.",
        "Use the API of the state's kind, or change its declaration.",
    ),
    "E077": (
        "services form a cycle",
        "Services chained through topics must form a DAG; the message prints the cycle as `a -> topic t -> b -> ... -> a`.",
        "Break the loop with a new topic.",
    ),
    "E078": (
        "function lists an unknown state",
        "A function's `states: [{name}]` must name a state in scope (the package's, an imported one, or the service's).",
        "Correct the name or declare the state.",
    ),
    "E079": ("malformed `from:`", "A state reference is `from: <service>.<state>`.", "Write both parts, separated by a dot."),
    "E080": (
        "no operator function in `run:`",
        "SDF reads one function per `run:` block; with several top-level functions sscc takes the one no other calls, and cannot when none or several qualify.",
        "Nest helpers inside the operator function (or let the operator call them).",
    ),
    "E081": (
        "sinks after a partition that ends in `update-state`",
        "`update-state` consumes the records of a partition and emits none; only a window's `flush` turns state into records. A service whose partition ends in `update-state`, with no window, sends nothing to its sinks.",
        "Put the partition inside a `window:` with a `flush:` to emit the state when each window closes, or remove `sinks:` and read the state from another service with `from:`.",
    ),
    "E082": (
        "recursive type",
        "SDF's types become WIT types, and WIT has no recursive types; in Rust a type that contains itself has no size. A cycle through objects, lists, options or enums is refused where the reference closes it.",
        "Break the cycle: keep the id (or key) of the related record instead of the record itself.",
    ),
    "E083": (
        "types nested too deep",
        "Objects, lists, options and enums nested more than 64 levels deep (through named types or inline) come close to rustc's recursion limit of 128 (a chain of 200 objects fails with `overflow representing the type`), so sscc refuses them before any build.",
        "Flatten the type: fewer levels of composites inside each other.",
    ),
    "E084": (
        "inline code reads the build machine",
        "`include_str!`, `include_bytes!`, `include!`, `env!`, `option_env!` and `#[path]` run while the pipeline compiles, on the machine that compiles it: `include_str!(\"/etc/hostname\")` would put that machine's file into the output. Inline code has no files of its own, and its run-time settings come from `sscc run -e`; the build also runs sandboxed (docs/backend-rust.md), which covers what a scan of the code cannot.",
        "Read settings at run time with `std::env::var` (`sscc run -e KEY=VALUE`), or carry the data in the records.",
    ),
    "W040": (
        "operator function does not return `Result`",
        "SDF's generated glue calls operator functions as `-> Result<T>` (0.5+: the anyhow alias; 0.4: `Result<T, String>`; both accepted).",
        "Return `Result<T>` and wrap the value in `Ok(..)`.",
    ),
    "W041": (
        "window without flush",
        "Without `flush`, nothing leaves a window (SDF's parser allows it; its docs call flush mandatory).",
        "Add `flush:` when the window should emit results.",
    ),
    "W042": (
        "partition that does nothing",
        "A partition with only `assign-key` keys records and passes them on; it is usually a forgotten `update-state`.",
        "Add `update-state:` or `transforms:`, or remove the partition.",
    ),
    "W043": (
        "unused type",
        "A type of `types:` that no topic, state, step or other used type refers to, and whose Rust name no inline code mentions, is generated for nothing (often a leftover of a rename). Reported only for a file without errors; skipped when an imported function's signature is unknown. The IR pass `dead_code` records the same fact as a note.",
        "Remove the type, or use it.",
    ),
    "W044": (
        "unused state",
        "A state (or `from:` reference) that no operator of its service reads or writes (no accessor call, no SQL table, no `states:` entry) is kept and checkpointed for nothing. An `update-state` counts as writing its service's only state. Skipped for a service with an imported function that lists no states.",
        "Remove the state, or use it in an operator of the service.",
    ),
    "W045": (
        "filter that always returns false",
        "A filter whose body is literally `Ok(false)` (Python: `return False`) lets no record through; every step and sink after it, up to the next topic, never runs. The warning names them.",
        "Remove the filter and what it starves, or make it return a real condition.",
    ),
}


def build_doc() -> str:
    out = [
        "## Semantic checks (E040–E084, W040–W045)",
        "",
        "The checker (`sscc/check/`) runs after the file is parsed: every name resolves, every edge of every",
        "service is type-correct, state use is sound. Each entry's example is a test case in",
        "`tests/check/cases/` (shown without its `# expect:` header).",
        "",
    ]
    files = sorted(glob.glob(os.path.join(CASES, "*.yaml")), key=lambda f: (os.path.basename(f)[:4], len(f)))
    seen = set()
    for f in files:
        code = os.path.basename(f)[:4]
        first = code not in seen
        seen.add(code)
        text = open(f).read()
        lines = text.splitlines()
        header = [l for l in lines if l.startswith("#")]
        n = 0
        while n < len(lines) and lines[n].startswith("#"):
            n += 1
        body = "\n".join(l for l in lines[n:]) + "\n"
        path = "dataflow.yaml" if "functions:" not in body else "sdf-package.yaml"
        d = Diagnostics()
        kind, pipe = build(path, d, text=body)
        pk = {}
        for pid, rel in re.findall(r"^# package: (\S+) = (\S+)$", text, re.M):
            dd = Diagnostics()
            _k, pk[pid] = build(os.path.join(CASES, rel), dd)
        run_check(kind, pipe, pk, d)
        sc = SourceCache()
        sc.add(path, body)
        diag = [x for x in d.sorted() if x.code == code][0]
        title, why, fix = INFO[code]
        blines = body.rstrip("\n").splitlines()
        if len(blines) > 30:
            lo = max(0, diag.span.line - 12)
            hi = min(len(blines), diag.span.line + 4)
            shown = (["# ..."] if lo > 0 else []) + blines[lo:hi] + (["# ..."] if hi < len(blines) else [])
        else:
            shown = blines
        if first:
            out += [f"### {code} — {title}", why]
        else:
            out += [header[0][2:].split(": ", 1)[1][:1].upper() + header[0][2:].split(": ", 1)[1][1:] + ":"]
        out += ["```yaml", *shown, "```", "```", render_text(diag, sc), "```"]
        nxt = [g for g in files if os.path.basename(g)[:4] == code]
        if f == nxt[-1]:
            out += [f"Fix: {fix}", ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(build_doc())
