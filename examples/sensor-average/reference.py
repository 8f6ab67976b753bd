"""Independent reference for this example: derives expected/ from input/ by brute force.

Reads input/readings.txt, applies the rules of docs/semantics.md with plain integer arithmetic
(no sscc import): sliding windows of 60 s every 10 s aligned to the epoch, one watermark = the
largest event time seen before each reading, a window closes when watermark >= end + 3 s grace,
a reading whose every window has closed is late. At end of input (`run --until-idle`) every open
window is flushed. Prints nothing; `python3 reference.py --write` rewrites expected/.
"""

import json
import sys
from pathlib import Path

DURATION, SLIDE, GRACE = 60_000, 10_000, 3_000
HERE = Path(__file__).parent


def windows_of(ts):
    """Every [start, start + DURATION) with start a multiple of SLIDE that contains ts."""
    first = -(-(ts - DURATION + 1) // SLIDE) * SLIDE  # smallest aligned start > ts - DURATION
    return [(s, s + DURATION) for s in range(first, ts + 1, SLIDE)]


def run(readings):
    watermark = None
    content = {}  # window -> sensor -> [sum, count]
    late = []
    for offset, r in enumerate(readings):
        on_time = [w for w in windows_of(r["ts"]) if watermark is None or watermark < w[1] + GRACE]
        if not on_time:
            last = windows_of(r["ts"])[-1]
            late.append(
                {
                    "kind": "late",
                    "offset": offset,
                    "reason": f"late: event time {r['ts']} ms is past window [{last[0]}, {last[1]}) + grace {GRACE} ms (watermark {watermark} ms)",
                }
            )
        for w in on_time:
            acc = content.setdefault(w, {}).setdefault(r["sensor"], [0, 0])
            acc[0] += r["value"]
            acc[1] += 1
        watermark = r["ts"] if watermark is None else max(watermark, r["ts"])
    outputs = []
    for w in sorted(content, key=lambda w: (w[1], w[0])):
        sensors = [
            {"sensor": s, "average": total / count, "readings": count}
            for s, (total, count) in sorted(content[w].items())
        ]
        outputs.append({"start": w[0], "end": w[1], "sensors": sensors})
    return outputs, late


def main():
    lines = (HERE / "input" / "readings.txt").read_text().splitlines()
    outputs, late = run([json.loads(line) for line in lines])
    if "--write" in sys.argv:
        (HERE / "expected" / "averages.txt").write_text("".join(json.dumps(o) + "\n" for o in outputs))
        (HERE / "expected" / "sensor-average.dead-letters.txt").write_text("".join(json.dumps(d) + "\n" for d in late))
    return outputs, late


if __name__ == "__main__":
    main()
