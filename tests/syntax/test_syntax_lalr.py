"""The replayed LALR tables (sscc.syntax._lalr) give exactly what real Lark gives.

Each grammar's Grammar object parses with the replayed tables and keeps a real Lark parser for
errors; here every text is parsed both ways and the results compared: every signature of the
corpus and of a few hand-written heads, durations, cron lines and type names, valid or not.
"""

import os
import subprocess
import sys

import pytest
from conftest import ROOT
from lark import UnexpectedInput
from test_syntax_corpus import DURATION_KEYS, FILES, load, strings

from sscc.syntax import _lalr, _rust_sig, cron, duration, parse_functions, typename
from sscc.syntax.errors import SyntaxProblem


def _outcome(parse, text):
    """What one parser makes of `text`: ("ok", value), ("problem", message) or ("error", None)."""
    try:
        return "ok", parse(text)
    except SyntaxProblem as exc:  # a transformer method refused a part (a duration unit, ...)
        return "problem", exc.message
    except (_lalr.NoParse, UnexpectedInput):
        return "error", None


def _agree(grammar, texts):
    outcomes = set()
    for text in texts:
        ours = _outcome(grammar.parser.parse, text)
        assert ours == _outcome(grammar.lark().parse, text), text
        outcomes.add(ours[0])
    return outcomes


def test_corpus_signatures_parse_the_same_with_replayed_tables_and_with_lark():
    grammar = _rust_sig._parser()
    heads = []
    original = grammar.parse
    grammar.parse = lambda text: heads.append(text) or original(text)  # collect what the scanner cuts out
    try:
        for path in FILES:
            for where, code in strings(load(path)):
                if where[-1] == "run":
                    parse_functions(code)
    finally:
        del grammar.parse
    assert len(heads) >= 400
    assert _agree(grammar, heads) == {"ok"}


def test_hand_written_heads_agree_valid_or_not():
    heads = [
        "pub(crate) async unsafe extern \"C\" fn f<'a, T: Clone + 'a, const N: usize = 3>(x: &'a mut [T; N]) -> impl Fn(u8) -> u8 where T: Send",
        "fn g((a, b): (u8, String), S { x, .. }: S, f: fn(i32) -> i64, d: &dyn A + B) -> Result<Vec<(Option<K>, V)>, String>",
        "fn h(x: u8,) -> !",
        "fn (x: u8)",
        "fn f(x) -> u8",
        "fn f(x: u8 -> u8",
        "fn f<>(x: ::std::collections::HashMap<String, Vec<u8>>) -> Result<()>",
        "fn f(x: u8) -> Result<u8, >",
    ]
    assert _agree(_rust_sig._parser(), heads) == {"ok", "error"}


def test_durations_cron_lines_and_type_names_agree_valid_or_not():
    durations, crons, names = ["1m 30s", "15s", "1h30m", "3 seconds", "", "10", "1.5s", "10 parsecs", "-1s"], [], []
    crons += ["*/5 * * * *", "0 0 * * MON-FRI", "@daily", "0 0 1,15 * ?", "* *", "*/ * * * *", "a-b"]
    names += ["car-location", "CarLocation", "u32", "my_type0", "", "a--b", "1abc", "a b", "list<u8>", "-x"]
    for path in FILES:
        data = load(path)
        for where, text in strings(data):
            if where[-1] in DURATION_KEYS:
                durations.append(text)
            elif where[-1] == "cron":
                crons.append(text.strip())
            elif where[-1] in ("type", "type-name", "type_name"):
                names.append(text)
    assert _agree(duration._parser(), durations) == {"ok", "problem", "error"}
    assert _agree(cron._parser(), crons) == {"ok", "error"}
    assert _agree(typename._parser(), names) == {"ok", "error"}


def test_checking_a_valid_pipeline_does_not_import_lark_or_jsonschema(tmp_path):
    code = (
        "import sys\n"
        "from sscc.driver import Options, front_end\n"
        f"fe = front_end({ROOT!r} + '/examples/split-sentence/dataflow.yaml', Options())\n"
        "assert fe.ok and fe.pipeline is not None\n"
        "print(sorted(m for m in ('lark', 'jsonschema') if m in sys.modules))\n"
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))  # a cache of its own, empty at first
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert cold.stdout.strip() == "['lark']"  # the first run has Lark export the tables
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert warm.stdout.strip() == "[]"


@pytest.mark.parametrize("text", ["1x", "1.5s"])
def test_an_invalid_duration_still_gets_larks_explanation(text):
    with pytest.raises(SyntaxProblem) as info:
        duration.parse_duration(text)
    assert info.value.hint


def test_a_transformer_with_token_callbacks_is_refused_not_replayed_wrongly():
    grammar = duration._parser()

    class WithTokenCallback:
        def INT(self, token):  # Lark would call this on every INT token; the replay cannot
            return token

    with pytest.raises(NotImplementedError):
        _lalr.Parser(_lalr.read_tables(_lalr.cache_path("duration"), grammar.key), WithTokenCallback())
