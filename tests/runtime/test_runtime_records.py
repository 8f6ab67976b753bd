"""`sscc_runtime.records.record` behaves as `dataclasses.dataclass` does for what the runtime
uses: the same class body under both decorators gives equal reprs, equality, hashing, defaults,
factories, frozenness, `__post_init__` and `replace`."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import runtime_fixtures  # noqa: F401 - puts runtime_stub/ on sys.path

from sscc_runtime import records  # noqa: E402

counter = itertools.count()


def both(frozen: bool):
    """The same class built by dataclasses and by records."""

    def body(decorate, field):
        @decorate
        class Thing:
            name: str
            size: int = 3
            tags: tuple[str, ...] = ()
            serial: int = field(default_factory=lambda: next(counter))

            def __post_init__(self) -> None:
                if self.size < 0:
                    raise ValueError("negative size")

            @property
            def double(self) -> int:
                return 2 * self.size

        return Thing

    return (
        body(dataclasses.dataclass(frozen=frozen), dataclasses.field),
        body(records.record(frozen=frozen), records.field),
    )


@pytest.mark.parametrize("frozen", [True, False])
def test_a_record_behaves_as_the_dataclass(frozen):
    reference, light = both(frozen)
    for make in (lambda k: k("a", serial=1), lambda k: k("b", 5, ("x",), 2), lambda k: k(name="c", size=0, serial=3)):
        ref, rec = make(reference), make(light)
        assert repr(ref) == repr(rec)
        assert rec == make(light)
        assert rec.double == ref.double
        assert (rec == records.replace(rec, size=rec.size + 1)) is False
        assert rec != "not a thing"
        if frozen:
            assert hash(rec) == hash(records.replace(rec))
            with pytest.raises(AttributeError):
                rec.size = 9
        else:
            with pytest.raises(TypeError):
                hash(rec)
            rec.size = 9
            assert rec.size == 9
    for kind in (reference, light):
        with pytest.raises(ValueError, match="negative size"):
            kind("d", -1)
        with pytest.raises(TypeError):
            kind()
        with pytest.raises(TypeError):
            kind("e", nope=1)


def test_replace_keeps_the_other_fields_and_rejects_unknown_ones():
    _, light = both(True)
    thing = light("a", 4, ("t",), serial=7)
    other = records.replace(thing, size=5)
    assert (other.name, other.size, other.tags, other.serial) == ("a", 5, ("t",), 7)
    assert thing.size == 4
    with pytest.raises(TypeError):
        records.replace(thing, colour="red")


def test_factories_run_per_instance():
    _, light = both(False)
    assert light("a").serial != light("b").serial
