"""internal_topics: mark topics that one service of this pipeline writes and another reads.

Rule: a topic with at least one producer service and at least one consumer service in this
file is a candidate for an in-process short-circuit: the runtime may hand the records from the
writing service to the reading one directly. The topic stays durable (its log is what restarts
resume from, and readers outside the pipeline may exist), so semantics do not change; the pass
only records the decision and its reason. Topics read from or written to the outside only are
left alone.

Before:
    Topic words  (written by split, read by count)
After:
    Topic words  internal=True
    decision: [internal_topics] topics/words: in-process candidate, kept durable -- written by split, read by count
"""

from __future__ import annotations

import dataclasses

from ..ir.nodes import IR, Decision, Node, Topic


def internal_topics(ir: IR) -> IR:
    nodes: list[Node] = []
    decisions: list[Decision] = []
    for n in ir.nodes:
        if isinstance(n, Topic) and not n.internal:
            writers = sorted({ir.node(e.src).service or "" for e in ir.in_edges(n.id)})
            readers = sorted({ir.node(e.dst).service or "" for e in ir.out_edges(n.id)})
            if writers and readers:
                n = dataclasses.replace(n, internal=True)
                why = f"written by {', '.join(writers)} and read by {', '.join(readers)}, all in this pipeline"
                decisions.append(Decision("internal_topics", n.id, "in-process candidate, kept durable", why))
        nodes.append(n)
    return dataclasses.replace(ir, nodes=tuple(nodes), decisions=ir.decisions + tuple(decisions))
