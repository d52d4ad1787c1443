"""Batched NER (issue 13, item 4): many records' free text through one spaCy ``nlp.pipe``.

``Engine.apply_many`` (file mode) and ``RouteProcessor.take_batch`` (both stream runners)
prime the name detector with the free text of a batch of records; the records are then
cleaned one by one and must come out exactly as :meth:`Engine.apply` makes them alone.
Needs the spaCy model (integration tier: ``-m nlp``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipeline.cli.parallel import clean_lines
from pipeline.core.engine import Engine, Outcome
from pipeline.core.policy import load_policy, parse_policy
from pipeline.detection.ner import NerDetector
from pipeline.keys import KeyRing
from pipeline.stream.metrics import StreamMetrics
from pipeline.stream.processor import RouteProcessor
from pipeline.stream.routes import Route
from pipeline.tools.corpus import generate_lines

pytestmark = pytest.mark.nlp

ROOT = Path(__file__).resolve().parents[2]


def _ner_engine(keys: KeyRing, policy_text: str | None = None) -> Engine:
    if not NerDetector().available():
        pytest.skip("spaCy model is not installed")
    policy = load_policy() if policy_text is None else parse_policy(policy_text)
    engine = Engine(policy, keys=keys)
    detector = engine.scanner._ner  # noqa: SLF001
    assert detector is not None and detector.load()
    return engine


@pytest.fixture(scope="module")
def per_record(keys: KeyRing) -> Engine:
    return _ner_engine(keys)


@pytest.fixture(scope="module")
def batched(keys: KeyRing) -> Engine:
    return _ner_engine(keys)


def _same(a: Outcome, b: Outcome) -> tuple[object, ...]:
    return (a.value, a.kind, a.issue, a.dropped, a.entities, a.operators) == (
        b.value,
        b.kind,
        b.issue,
        b.dropped,
        b.entities,
        b.operators,
    )


def _counts(engine: Engine) -> tuple[int, int]:
    ner = engine.scanner._ner  # noqa: SLF001
    return ner.primed_hits, ner.single_calls


@pytest.mark.parametrize(("seed", "density"), [(11, 0.3), (12, 1.0)])
def test_apply_many_gives_what_apply_gives_and_batches_every_ner_call(
    per_record: Engine, batched: Engine, seed: int, density: float
) -> None:
    lines = [line.encode() for line in generate_lines(300, seed=seed, density=density)]
    alone = [per_record.apply(line) for line in lines]
    hits0, single0 = _counts(batched)
    together: list[Outcome] = []
    for i in range(0, len(lines), 64):
        together += batched.apply_many(lines[i : i + 64])
    hits, single = _counts(batched)
    assert len(together) == len(lines)
    differ = [i for i, (a, b) in enumerate(zip(alone, together, strict=True)) if not _same(a, b)]
    assert differ == []
    assert sum(len(o.entities) for o in alone) > 0  # the corpus has findings to compare
    # The walk foresaw every text NER was asked about: no model call on a single text.
    assert hits - hits0 > 20
    assert single - single0 == 0


def test_apply_many_takes_keys_and_headers(per_record: Engine, batched: Engine) -> None:
    values = [
        b'{"message":"Refund approved by John Smith for customer Maria Garcia"}',
        b'{"msg":"GET /api/v1/orders/12345 returned 200 in 35 ms"}',
    ]
    keys = [b"user-li.wei@example.com", None]
    headers = [[("x-user-email", b"li.wei@example.com")], None]
    together = batched.apply_many(values, keys, headers)
    for i, out in enumerate(together):
        alone = per_record.apply(values[i], keys[i], headers[i])
        assert _same(alone, out) and (alone.key, alone.headers) == (out.key, out.headers)
    assert b"John Smith" not in together[0].value and b"li.wei" not in (together[0].key or b"")


def test_texts_prepared_like_the_scanner_prepares_them_are_primed(
    per_record: Engine, batched: Engine
) -> None:
    """Percent-escapes, full-width characters and our own tokens change the text NER sees;
    the walk prepares it the same way, so these too are answered from the batch."""
    values = [
        b'{"message":"Ticket escalated by Emily%20Johnson after review"}',
        '{"message":"Call from Ｏｌｉｖｉａ Robinson about order ４２"}'.encode(),
        b'{"message":"user <EMAIL> was helped by Heidi van der Vlist today"}',
        b'{"message":"Contact Olivia Robinson at the desk","level":"INFO"}',
    ]
    hits0, single0 = _counts(batched)
    together = batched.apply_many(values)
    hits, single = _counts(batched)
    assert [_same(per_record.apply(v), o) for v, o in zip(values, together, strict=True)] == [
        True
    ] * len(values)
    assert single == single0 and hits - hits0 >= len(values)


def test_unreadable_records_do_not_stop_the_batch(per_record: Engine, batched: Engine) -> None:
    values = [
        b"\xff\xfe not utf-8 John Smith",
        b'{"message":"cut off by Maria Gar',
        b"[" * 5000 + b"]" * 5000,
        b"",
        b'{"message":"Refund approved by John Smith"}',
    ]
    together = batched.apply_many(values)
    assert [_same(per_record.apply(v), o) for v, o in zip(values, together, strict=True)] == [
        True
    ] * len(values)


def test_a_prime_past_its_deadline_leaves_the_rest_to_single_calls(
    per_record: Engine, batched: Engine
) -> None:
    values = [
        f'{{"message":"Refund approved by John Smith for customer number {i}"}}'.encode()
        for i in range(5)
    ]
    batched.forget_values()
    assert batched.prime_ner(values, deadline=time.monotonic() - 1.0) == 1
    hits0, single0 = _counts(batched)
    outs = [batched.apply(v) for v in values]
    hits, single = _counts(batched)
    assert (hits - hits0, single - single0) == (1, 4)
    assert [_same(per_record.apply(v), o) for v, o in zip(values, outs, strict=True)] == [
        True
    ] * len(values)


def test_text_lines_with_ner_on_are_batched_too(keys: KeyRing) -> None:
    text = (ROOT / "configs/policies/default.yaml").read_text()
    assert "  ner: false          # measured on real system logs" in text
    policy_text = text.replace("  ner: false          # measured", "  ner: true # measured")
    alone_engine = _ner_engine(keys, policy_text)
    engine = _ner_engine(keys, policy_text)
    lines = [
        b"Jan 12 10:01:02 host app[12]: ticket escalated by Emily Johnson",
        b"plain line from Maria Garcia about her refund",
        b'{"message":"Refund approved by John Smith"}',
    ]
    hits0, single0 = _counts(engine)
    together = engine.apply_many(lines)
    hits, single = _counts(engine)
    assert [_same(alone_engine.apply(v), o) for v, o in zip(lines, together, strict=True)] == [
        True
    ] * len(lines)
    assert single == single0 and hits - hits0 >= 3


def test_file_mode_cleans_chunks_through_apply_many(per_record: Engine, batched: Engine) -> None:
    lines = [line.encode() for line in generate_lines(300, seed=21, density=0.3)]
    hits0, single0 = _counts(batched)
    outs = list(clean_lines(batched, iter(lines), jobs=1))
    hits, single = _counts(batched)
    assert [_same(per_record.apply(v), o) for v, o in zip(lines, outs, strict=True)] == [
        True
    ] * len(lines)
    assert hits > hits0 and single == single0


def test_engine_without_ner_does_not_batch(keys: KeyRing, default_engine: Engine) -> None:
    assert not default_engine.batches_ner
    lines = [line.encode() for line in generate_lines(50, seed=3, density=0.3)]
    assert default_engine.prime_ner(lines) == 0
    assert [o.value for o in default_engine.apply_many(lines)] == [
        default_engine.apply(v).value for v in lines
    ]


def test_take_batch_primes_ner_and_gives_what_take_gives(keys: KeyRing) -> None:
    from aiokafka.structs import ConsumerRecord

    route = Route(
        name="service",
        source="logs.raw.service",
        policy="default",
        sink="logs.clean.service",
        quarantine="logs.quarantine.service",
    )
    policy = load_policy()
    one = RouteProcessor(route, policy, _ner_engine(keys), StreamMetrics())
    many = RouteProcessor(route, policy, _ner_engine(keys), StreamMetrics())
    lines = [line.encode() for line in generate_lines(120, seed=31, density=0.3)]
    records = [
        ConsumerRecord("logs.raw.service", 0, i, 1_700_000_000_123, 0, None, v, None, 0, 0, ())
        for i, v in enumerate(lines)
    ]
    alone = [one.take(r, timestamp_unit=1) for r in records]
    together = many.take_batch(records, timestamp_unit=1)
    hits, single = _counts(many.engine)
    assert len(together) == len(records)
    for a, b in zip(alone, together, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert (a.kind, a.value, a.key, a.entities, a.reason) == (
                b.kind,
                b.value,
                b.key,
                b.entities,
                b.reason,
            )
    assert hits > 10 and single == 0


def test_the_model_finds_the_same_spans_in_a_batch_as_alone(batched: Engine) -> None:
    """What makes apply_many safe: spaCy's entity spans for a text are the same whether
    the text goes through ``nlp.pipe`` with others or through ``nlp`` alone."""
    lines = [line.encode() for line in generate_lines(400, seed=41, density=1.0)]
    batched.forget_values()
    assert batched.prime_ner(lines) > 20
    ner = batched.scanner._ner  # noqa: SLF001
    primed = dict(ner._primed)  # noqa: SLF001
    nlp = ner._pipeline()  # noqa: SLF001
    ran = {text: spans for text, spans in primed.items() if spans}
    assert len(ran) > 10  # texts where the model found something
    for text, spans in ran.items():
        assert spans == tuple((e.start_char, e.end_char, e.label_) for e in nlp(text).ents)
