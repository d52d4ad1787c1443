"""Leak/damage and span-score arithmetic on tiny hand-made examples."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from pipeline.tools.corpus import Label, LabelledLine, generate_labelled
from pipeline.tools.evaluation import (
    IGNORE,
    Span,
    SpanExample,
    count_tokens,
    f2_score,
    leak_damage,
    load_presidio_research,
    span_scores,
)

SHARED_PRESIDIO = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "presidio_research"
    / "generated_large.json"
)


def _line(line: str, pii=(), keep=(), kind: str = "text") -> LabelledLine:
    return LabelledLine(
        line,
        tuple(Label(v, e) for v, e in pii),
        tuple(Label(v, "KEEP:" + k) for v, k in keep),
        kind,
    )


# -- count_tokens ----------------------------------------------------------------------------

count_cases = [  # testcase, text, value, expected
    ("exact", "10.1.2.3", "10.1.2.3", 1),
    ("longer ip is another ip", "10.1.2.30", "10.1.2.3", 0),
    ("glued on the left", "x13812345678", "13812345678", 0),
    ("punctuation is a boundary", "ip=10.1.2.3,port", "10.1.2.3", 1),
    ("twice", "a@example.com b a@example.com", "a@example.com", 2),
    ("non-alnum edge needs no boundary", "x(+86)138", "(+86)", 1),
    ("empty value", "abc", "", 0),
    ("cjk neighbour counts as a letter", "张伟伟", "张伟", 0),
]


@pytest.mark.parametrize(
    ("case", "text", "value", "expected"), count_cases, ids=[c[0] for c in count_cases]
)
def test_count_tokens(case, text, value, expected):
    assert count_tokens(text, value) == expected


# -- leak / damage ---------------------------------------------------------------------------


def test_when_pii_survives_then_leak_is_counted():
    item = _line("login phone=13812345678 ok", pii=[("13812345678", "PHONE_NUMBER")])
    report = leak_damage([item], lambda s: s)
    assert (report.pii.total, report.pii.failed) == (1, 1)
    assert report.by_entity["PHONE_NUMBER"].rate == 1.0
    assert leak_damage([item], lambda s: s.replace("13812345678", "<PHONE>")).pii.failed == 0


def test_when_keep_value_removed_then_damage_is_counted():
    item = _line(
        "trace=4bf92f3577b34da6a3ce929d0e0e4736 phone=13812345678",
        pii=[("13812345678", "PHONE_NUMBER")],
        keep=[("4bf92f3577b34da6a3ce929d0e0e4736", "trace_id")],
    )
    report = leak_damage([item], lambda s: "trace=<HEX> phone=<PHONE>")
    assert (report.keep.total, report.keep.failed) == (1, 1)
    assert report.by_keep_kind["trace_id"].failed == 1
    assert report.pii.failed == 0
    assert leak_damage([item], lambda s: s.replace("13812345678", "x")).keep.failed == 0


def test_when_line_dropped_then_no_leak_and_full_damage():
    item = _line(
        "GET /api/v1/orders 200 user=a@example.com",
        pii=[("a@example.com", "EMAIL_ADDRESS")],
        keep=[("/api/v1/orders", "path"), ("200", "status")],
    )
    report = leak_damage([item], lambda s: None)
    assert report.dropped == 1
    assert report.pii.failed == 0
    assert (report.keep.total, report.keep.failed) == (2, 2)
    assert report.by_line_kind["text"].dropped == 1


def test_when_value_survives_inside_another_keep_token_then_the_lost_occurrence_still_counts():
    # The port 8080 is also inside the thread name; removing the port field is still damage.
    line = '{"port":"8080","thread":"http-nio-8080-exec-7"}'
    item = _line(line, keep=[("8080", "port"), ("http-nio-8080-exec-7", "thread")], kind="json")
    report = leak_damage([item], lambda s: '{"thread":"http-nio-8080-exec-7"}')
    assert report.by_keep_kind["port"].failed == 1
    assert report.by_keep_kind["thread"].failed == 0


def test_when_same_value_labelled_twice_and_one_survives_then_one_leak():
    line = "from 203.0.113.7 to 203.0.113.7"
    item = _line(line, pii=[("203.0.113.7", "IP_ADDRESS"), ("203.0.113.7", "IP_ADDRESS")])
    report = leak_damage([item], lambda s: s.replace("203.0.113.7", "<IP>", 1))
    assert (report.pii.total, report.pii.failed) == (2, 1)


def test_when_only_country_code_removed_then_partial_phone_leak_counts():
    item = _line("tel +86 138 1234 5678", pii=[("+86 138 1234 5678", "PHONE_NUMBER")])

    def scrub(s: str) -> str:
        return s.replace("+86 ", "")

    assert leak_damage([item], scrub).pii.failed == 1
    assert leak_damage([item], scrub, partial_forms=False).pii.failed == 0


@pytest.mark.parametrize(
    ("value", "entity", "output"),
    [
        ("Emily Johnson", "PERSON", "name=<PERSON> Johnson"),
        ("::ffff:203.0.113.9", "IP_ADDRESS", "from ::ffff:<x> real 203.0.113.9"),
        ("li.wei%40example.com", "EMAIL_ADDRESS", "email=li.wei@example.com"),
    ],
)
def test_partial_forms_count_as_leaks(value, entity, output):
    item = _line(f"v={value}", pii=[(value, entity)])
    assert leak_damage([item], lambda s: output).pii.failed == 1


def test_when_partial_form_also_stands_elsewhere_in_line_then_only_extra_ones_leak():
    # `Sun` is the surname of `Sun Wei` and the weekday of the timestamp.
    line = "Sun, 28 Apr 2024 04:48:09 GMT name=Sun Wei"
    item = _line(line, pii=[("Sun Wei", "PERSON")])
    assert leak_damage([item], lambda s: s.replace("Sun Wei", "<PERSON>")).pii.failed == 0
    assert leak_damage([item], lambda s: s.replace("Sun Wei", "Sun <x>")).pii.failed == 1


def test_when_json_output_is_reescaped_then_content_still_counts():
    doc = {"address": "上海市浦东新区世纪大道100号", "ts": "2024-03-15T08:21:07.123Z"}
    line = orjson.dumps(doc).decode()
    item = _line(
        line, pii=[(doc["address"], "POSTAL_ADDRESS")], keep=[(doc["ts"], "timestamp")], kind="json"
    )
    report = leak_damage(
        [item], lambda s: json.dumps(json.loads(s), indent=2)
    )  # ensure_ascii escapes
    assert report.pii.failed == 1
    assert report.keep.failed == 0


def test_report_rates_tables_and_worst_cases_carry_no_values():
    items = [
        _line("imei=868123456789012 ok", pii=[("868123456789012", "IMEI")], kind="logcat"),
        _line("imei=868123456789020 ok", pii=[("868123456789020", "IMEI")], kind="logcat"),
        _line(
            "mail a@example.com at 2024-03-15",
            pii=[("a@example.com", "EMAIL_ADDRESS")],
            keep=[("2024-03-15", "timestamp")],
        ),
    ]

    def scrub(s: str) -> str:
        return s.replace("a@example.com", "<EMAIL>").replace("2024-03-15", "2024-03")

    report = leak_damage(items, scrub)
    assert report.lines == 3
    assert report.leak_rate == pytest.approx(2 / 3)
    assert report.damage_rate == 1.0
    assert [str(w) for w in report.worst_leaks] == ["IMEI in logcat (2 of 2)"]
    assert [str(w) for w in report.worst_damage] == ["timestamp in text (1 of 1)"]
    as_json = orjson.dumps(report.to_dict()).decode()
    table = report.to_table()
    for secret in ("868123456789012", "a@example.com", "2024-03-15"):
        assert secret not in as_json
        assert secret not in table
    assert "IMEI" in table and "EMAIL_ADDRESS" in table and "timestamp" in table
    assert report.to_dict()["by_entity"]["IMEI"] == {"total": 2, "failed": 2, "rate": 1.0}


def test_on_the_generated_corpus_identity_leaks_everything_and_drop_damages_everything():
    items = list(generate_labelled(400, seed=1, density=0.5))
    ident = leak_damage(items, lambda s: s)
    assert ident.leak_rate == 1.0 and ident.damage_rate == 0.0
    dropped = leak_damage(items, lambda s: None)
    assert dropped.leak_rate == 0.0 and dropped.damage_rate == 1.0
    assert dropped.dropped == 400


# -- span scores -------------------------------------------------------------------------------


def test_f2_formula():
    assert f2_score(0.5, 1.0) == pytest.approx(5 * 0.5 * 1.0 / (4 * 0.5 + 1.0))
    assert f2_score(1.0, 0.5) == pytest.approx(2.5 / 4.5)
    assert f2_score(0.0, 0.0) == 0.0
    assert f2_score(1.0, 1.0) == 1.0


def _detector(preds: dict[str, list[tuple[int, int, str]]]):
    return lambda text: preds[text]


def test_span_overlap_matching_rules():
    text = "John Smith called 555-0100 from Paris"
    #       0    5    10        19  23  27   32
    ex = SpanExample(
        text,
        (
            Span(0, 4, "PERSON"),
            Span(5, 10, "PERSON"),
            Span(18, 26, "PHONE_NUMBER"),
            Span(32, 37, "LOCATION"),
        ),
    )
    preds = [
        (0, 10, "PERSON"),  # one prediction covers two gold names: both recovered
        (20, 24, "PHONE_NUMBER"),  # partial overlap counts
        (32, 37, "ORGANIZATION"),  # right place, wrong type: FP for ORG, FN for LOCATION
        (11, 17, "PERSON"),  # overlaps nothing: FP
    ]
    scores = span_scores([ex], _detector({text: preds}))
    assert scores["PERSON"] == {
        "tp": 2,
        "fp": 1,
        "fn": 0,
        "pred_tp": 1,
        "precision": 0.5,
        "recall": 1.0,
        "f2": pytest.approx(f2_score(0.5, 1.0)),
    }
    assert (scores["PHONE_NUMBER"]["tp"], scores["PHONE_NUMBER"]["fp"]) == (1, 0)
    assert (scores["LOCATION"]["fn"], scores["ORGANIZATION"]["fp"]) == (1, 1)
    micro = scores["micro"]
    assert (micro["tp"], micro["fn"], micro["fp"], micro["pred_tp"]) == (3, 1, 2, 2)
    assert micro["precision"] == pytest.approx(2 / 4) and micro["recall"] == pytest.approx(3 / 4)
    # Type-agnostic: the ORGANIZATION prediction does cover the place name.
    assert (scores["any_type"]["tp"], scores["any_type"]["fn"], scores["any_type"]["fp"]) == (
        4,
        0,
        1,
    )


def test_two_half_predictions_on_one_gold_span_are_not_false_positives():
    text = "Mary Jones"
    ex = SpanExample(text, (Span(0, 10, "PERSON"),))
    s = span_scores([ex], _detector({text: [(0, 4, "PERSON"), (5, 10, "PERSON")]}))["PERSON"]
    assert (s["tp"], s["fp"], s["fn"], s["precision"], s["recall"]) == (1, 0, 0, 1.0, 1.0)


def test_entity_map_renames_and_ignores_types():
    text = "card 4111 1111 1111 1111 on 2024-01-01"
    ex = SpanExample(text, (Span(5, 24, "CREDIT_CARD"), Span(28, 38, "DATE_TIME")))
    preds = [(5, 24, "CN_BANK_CARD"), (28, 38, "DATE_TIME")]
    mapping = {"CN_BANK_CARD": "CREDIT_CARD", "DATE_TIME": IGNORE}
    scores = span_scores([ex], _detector({text: preds}), mapping)
    assert "DATE_TIME" not in scores
    assert scores["CREDIT_CARD"]["tp"] == 1 and scores["micro"]["fp"] == 0


def test_when_detector_returns_invalid_span_then_value_error():
    ex = SpanExample("abc", ())
    with pytest.raises(ValueError):
        span_scores([ex], lambda t: [(2, 9, "X")])


def test_load_presidio_research_format(tmp_path):
    records = [
        {
            "full_text": "Call Judy at 212-555-0100",
            "masked": "",
            "template_id": 1,
            "metadata": None,
            "spans": [
                {
                    "entity_type": "PERSON",
                    "entity_value": "Judy",
                    "start_position": 5,
                    "end_position": 9,
                },
                {
                    "entity_type": "PHONE_NUMBER",
                    "entity_value": "212-555-0100",
                    "start_position": 13,
                    "end_position": 25,
                },
            ],
        },
        {"full_text": "nothing here", "spans": []},
    ]
    path = tmp_path / "gen.json"
    path.write_text(json.dumps(records))
    examples = load_presidio_research(path)
    assert len(examples) == 2
    assert examples[0].spans[0] == Span(5, 9, "PERSON")
    assert examples[0].text[13:25] == "212-555-0100"
    assert examples[1].spans == ()


def test_when_presidio_research_span_out_of_range_then_value_error_without_text(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            [
                {
                    "full_text": "secret text",
                    "spans": [{"entity_type": "PERSON", "start_position": 3, "end_position": 99}],
                }
            ]
        )
    )
    with pytest.raises(ValueError, match="record 0") as info:
        load_presidio_research(path)
    assert "secret" not in str(info.value)


@pytest.mark.skipif(
    not SHARED_PRESIDIO.exists(),
    reason="../shared/data/presidio_research not present (optional data)",
)
def test_shared_presidio_research_file_loads_and_a_perfect_detector_scores_one():
    examples = load_presidio_research(SHARED_PRESIDIO)
    assert len(examples) > 2000
    # span_scores calls the detector once per example, in order.
    gold = iter([[(s.start, s.end, s.entity) for s in ex.spans] for ex in examples])
    scores = span_scores(examples, lambda t: next(gold))
    assert scores["micro"]["f2"] == 1.0


def test_when_conll_is_character_level_then_tokens_join_without_spaces(tmp_path) -> None:
    from pipeline.tools.evaluation import load_conll

    path = tmp_path / "weibo.dev"
    path.write_text(
        "我0\tO\n叫0\tO\n张0\tB-PER.NAM\n伟1\tI-PER.NAM\n\n在0\tO\n北0\tB-GPE.NAM\n京1\tI-GPE.NAM\n",
        encoding="utf-8",
    )
    examples = load_conll(path)
    assert [e.text for e in examples] == ["我叫张伟", "在北京"]
    assert examples[0].spans == (Span(2, 4, "PER.NAM"),)
    assert examples[1].spans == (Span(1, 3, "GPE.NAM"),)


def test_when_conll_has_words_then_they_join_with_spaces(tmp_path) -> None:
    from pipeline.tools.evaluation import load_conll, outside_changed

    path = tmp_path / "en.conll"
    path.write_text("Mary B-PER\nLopez I-PER\nleft O\nParis B-LOC\n", encoding="utf-8")
    (ex,) = load_conll(path)
    assert ex.text == "Mary Lopez left Paris"
    assert ex.spans == (Span(0, 10, "PER"), Span(16, 21, "LOC"))
    changed, total = outside_changed([ex], lambda t: [(0, 15, "PERSON")], "PER", han_only=False)
    assert (changed, total) == (4, 9)
