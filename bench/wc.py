"""WC (issue 4): a stateful word count, sscc against Bytewax and a hand-written Python dict loop.

~2,000,000 words (sentences of 5-15 words from a 5,000-word vocabulary) go through
flat-map (split the sentence) -> partition by word -> a keyed count per word:
- sscc: bench/pipelines/wc_arrow.yaml (arrow-row state, `state.count += 1; state.update()?`, the
  issue's pipeline) and wc_value.yaml (value state, `count_per_word().increment(1)`), compiled with
  `sscc compile`; timed is the in-process batch-mode run loop, store to store (sentences read
  from the embedded SQLite store, state changes committed durably with each batch);
- Bytewax 0.21 (`pip install -e .[bench]`): `flat_map` + `count_final` under
  `bytewax.testing.run_main`, one worker, input from a `TestingSource` in memory;
- Python: `for w in line.split(): d[w] = d.get(w, 0) + 1` over the same list, in memory.
Every system's counts are checked against a Counter before its rate is printed; a mismatch
exits 1. A pipeline this sscc build cannot compile yet is reported as not runnable (exit 0).
Targets: sscc >= 5x Bytewax and >= 1x the Python loop. Numbers vary run to run on a shared machine.

Then the same as a user times it (bench/_whole.py), each system a process, start-up included: the
whole `sscc run wc_arrow.yaml --until-idle` over a store holding the sentences, a Counter loop
(`counts.update(line.split())`) and Bytewax (FileSource -> flat_map -> count_final) reading the
same sentences from a file, one per line; counts checked the same way. Targets (issue 12):
>= 1.5x the Counter loop, >= 8x Bytewax.

    python3 bench/wc.py [-n WORDS] [--bytewax-batch N] [--repeat R] [--sscc PATH] [--no-whole]
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

import _whole
from _sscc_run import NotRunnable, Project, arguments, best_of, column, finish, ratio, time_variants

PIPELINES = Path(__file__).resolve().parent / "pipelines"
VARIANTS = {"arrow-row": "wc_arrow.yaml", "value": "wc_value.yaml"}


def sentences(n_words: int, seed: int = 1) -> list[str]:
    """Sentences of 5-15 words from a 5,000-word vocabulary, n_words words in all."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(5000)]
    lines, total = [], 0
    while total < n_words:
        k = min(rng.randint(5, 15), n_words - total)
        lines.append(" ".join(rng.choices(vocab, k=k)))
        total += k
    return lines


def python_loop(lines: list[str]) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    counts: dict[str, int] = {}
    for line in lines:
        for w in line.split():
            counts[w] = counts.get(w, 0) + 1
    return time.perf_counter() - start, counts


def bytewax_run(lines: list[str], batch: int) -> tuple[float, dict[str, int]]:
    import bytewax.operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.testing import TestingSink, TestingSource, run_main

    out: list[tuple[str, int]] = []
    flow = Dataflow("wc")
    inp = op.input("sentences", flow, TestingSource(lines, batch_size=batch))
    words = op.flat_map("split", inp, str.split)
    counts = op.count_final("count", words, lambda w: w)
    op.output("out", counts, TestingSink(out))
    start = time.perf_counter()
    run_main(flow)
    return time.perf_counter() - start, dict(out)


def sscc_run(project: Project, lines: list[str], tmp: Path) -> tuple[float, dict[str, int]]:
    with project.new_store(tmp) as store:
        project.produce(store, "sentences", (line.encode() for line in lines))
        seconds = project.run(store)
        dead = project.dead_letters(store, "count-words")
        if dead:
            raise SystemExit(f"{project.package}: {len(dead)} dead letters, e.g. {dead[0]}")
        return seconds, column(project.state(store, "count-words", "count-per-word"), "count")


def check(name: str, got: dict, want: Counter, failures: list[str]) -> bool:
    if got == want:
        return True
    wrong = [(k, got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)]
    failures.append(
        f"{name}: wrong counts ({len(got):,} keys, {sum(got.values()):,} total; expected "
        f"{len(want):,}, {sum(want.values()):,}; e.g. {wrong[:3]})"
    )
    return False


def whole_commands(args, lines: list[str], want: Counter, failures: list[str]) -> None:
    """Time the whole commands (see the module doc); a wrong result is a failure, not a rate."""
    words = sum(want.values())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            project = Project.compile(PIPELINES / VARIANTS["arrow-row"], tmp / "reader")
        except NotRunnable as e:
            print(f"whole commands: sscc not runnable in this build: {e}")
            return
        text = tmp / "sentences.txt"
        text.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        pristine = tmp / "pristine"
        pristine.mkdir()
        with project.store(pristine / "store.db") as store:
            project.produce(store, "sentences", (line.encode() for line in lines))
        pipeline = tmp / "src" / VARIANTS["arrow-row"]
        pipeline.parent.mkdir()
        pipeline.write_bytes((PIPELINES / VARIANTS["arrow-row"]).read_bytes())
        _whole.warm_up(args.sscc, pipeline, tmp)

        def sscc() -> float:
            seconds, store_db = _whole.sscc_run(args.sscc, pipeline, pristine, tmp)
            with project.store(store_db) as store:
                got = column(project.state(store, "count-words", "count-per-word"), "count")
                dead = project.dead_letters(store, "count-words")
            if dead or not check("sscc run (whole command)", got, want, failures):
                raise SystemExit(f"sscc run: wrong counts or {len(dead)} dead letters")
            return seconds

        def program(name: str):
            def run() -> float:
                seconds, _ = _whole.python_program(name, text, tmp / f"{name}.json")
                got = json.loads((tmp / f"{name}.json").read_text())
                if not check(name, got, want, failures):
                    raise SystemExit(f"{name}: wrong counts")
                return seconds

            return run

        runs = {"sscc": sscc, "counter": program("wc-counter")}
        try:
            import bytewax  # noqa: F401
        except ImportError:
            pass
        else:
            runs["bytewax"] = program("wc-bytewax")
        best = _whole.best(args.repeat, runs)
    labels = {
        "sscc": "sscc run wc_arrow.yaml --until-idle",
        "counter": "python Counter loop over the file",
        "bytewax": "bytewax 0.21 flat_map + count_final",
    }
    print(f"whole commands (a process each, start-up included; best of {args.repeat}, interleaved; wall, then CPU):")
    for name, (wall, cpu) in best.items():
        print(f"  {labels[name]:<40} {words / wall:>12,.0f} words/s ({wall:.2f} s; {cpu:.2f} s CPU)")
    rate = {name: words / wall for name, (wall, _) in best.items()}
    by_cpu = {name: words / cpu for name, (_, cpu) in best.items()}
    print(
        f"WC whole-command summary: sscc {rate['sscc']:,.0f} words/s = {ratio(rate['sscc'], rate.get('counter'))} the "
        f"Counter loop (target >= 1.5x; by CPU time {ratio(by_cpu['sscc'], by_cpu.get('counter'))}), "
        f"{ratio(rate['sscc'], rate.get('bytewax'))} Bytewax (target >= 8x; by CPU time {ratio(by_cpu['sscc'], by_cpu.get('bytewax'))})"
    )


def main() -> None:
    parser = arguments(__doc__, 2_000_000, "words")
    parser.add_argument("--sscc", default=_whole.sscc_command(), help="the sscc command of the whole-command runs")
    parser.add_argument("--no-whole", action="store_true", help="only the in-process runs")
    args = parser.parse_args()
    lines = sentences(args.n)
    want = Counter(w for line in lines for w in line.split())
    words = sum(want.values())
    print(f"WC: {len(lines):,} sentences, {words:,} words, {len(want):,} distinct")
    failures: list[str] = []
    rates: dict[str, float | None] = {}

    seconds = best_of(
        args.repeat, lambda: python_loop(lines), lambda got: check("python", got, want, failures)
    )
    if seconds:
        rates["python"] = words / seconds
        print(f"python dict loop:     {rates['python']:>12,.0f} words/s ({seconds:.2f} s, in memory)")

    try:
        import bytewax  # noqa: F401
    except ImportError as e:
        print(f"bytewax: not installed ({e}); pip install -e '.[bench]'")
    else:
        seconds = best_of(
            args.repeat,
            lambda: bytewax_run(lines, args.bytewax_batch),
            lambda got: check("bytewax", got, want, failures),
        )
        if seconds:
            rates["bytewax"] = words / seconds
            print(
                f"bytewax 0.21:         {rates['bytewax']:>12,.0f} words/s ({seconds:.2f} s, 1 worker, in memory)"
            )

    time_variants(
        VARIANTS,
        PIPELINES,
        args.repeat,
        lambda project, tmp: sscc_run(project, lines, tmp),
        lambda name, got: check(name, got, want, failures),
        words,
        "words",
        rates,
    )

    for name in (n for n in rates if n.startswith("sscc")):
        print(
            f"{name}: {ratio(rates[name], rates.get('bytewax'))} Bytewax (target >= 5x), "
            f"{ratio(rates[name], rates.get('python'))} the Python loop (target >= 1x)"
        )
    main_name = next((n for n in ("sscc (arrow-row)", "sscc (value)") if n in rates), None)
    summary = (
        f"WC summary: {main_name} {rates[main_name]:,.0f} words/s = {ratio(rates[main_name], rates.get('bytewax'))} "
        f"Bytewax, {ratio(rates[main_name], rates.get('python'))} Python loop"
        if main_name
        else "WC summary: sscc not runnable in this build"
    )
    print(summary)
    if not args.no_whole:
        whole_commands(args, lines, want, failures)
    finish(failures)


if __name__ == "__main__":
    main()
