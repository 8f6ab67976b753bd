"""`did you mean` names the spelling the file's version uses: kebab-case for 0.5/0.6 keys, even
when the snake_case alias is a candidate too (both normalise to one name)."""

from schema_helpers import META, run

from sscc.diagnostics import did_you_mean, suggest


def test_kebab_spelling_wins_over_its_snake_alias():
    for cands in (["assign_key", "assign-key"], ["assign-key", "assign_key", "update-state"]):
        assert suggest("asign_key", cands) == "assign-key"
        assert suggest("ASSIGN_KEY", cands) == "assign-key"
    assert suggest("asign_key", ["assign_key", "assign-key"], prefer="snake") == "assign_key"
    assert did_you_mean("grace_perod", ["grace_period", "grace-period", "idleness"]) == "did you mean `grace-period`?"


def test_unknown_slot_key_in_a_0_6_file_suggests_the_kebab_key():
    ok, diags = run("apiVersion: 0.6.0\n" + META + """\
topics:
  words: {schema: {value: {type: string}}}
services:
  count:
    sources: [{type: topic, id: words}]
    partition:
      asign_key: {run: "fn k(w: String) -> Result<String> { Ok(w) }"}
      update-state: {run: "fn u(w: String) -> Result<()> { Ok(()) }"}
""")
    w001 = [(d.code, d.span.line, d.span.col, d.hint) for d in diags if d.code == "W001"]
    assert w001 == [("W001", 12, 7, "did you mean `assign-key`?")]
