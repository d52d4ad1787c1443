"""Contract every recognizer in ``detectors.RECOGNIZERS`` must keep (B7 RecognizerContract)."""

from __future__ import annotations

import re

import pytest
import regex
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpArtifacts

import detectors
from detectors import RECOGNIZERS
from detectors.base import KeyedPattern, LogRecognizer, field_name_key

# ~100 tokens of a typical service line with several kinds of personal data (synthetic).
MIXED_TEXT = (
    '2024-05-01T12:00:00.123Z INFO order-service trace_id=4bf92f3577b34da6a3ce929d0e0e4736 '
    "login=bob mail bob.smith@example.com phone +86 138 0013 8000 from 203.0.113.9:443 "
    "card 4111 1111 1111 1111 exp 12/27 imei=490154203237518 imsi=460001234567890 "
    "mac=00:1a:2b:3c:4d:5e idfa=6d92078a-8246-4ba4-ae5b-76104861e7dc nickname=bobby "
    "gender=M dob=1990-03-07 address=\"1 Main St, Springfield\" lat=31.2304&lng=121.4737 "
    "id_card=110105199003071239 password=hunter2 ua=\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
    'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36" sn=C02XL0GZJGH5 '
    "alipay_account=bob@example.com user_id=88231 real_name=\"Zhang San\" "
    "iccid=89860012345678901238 passport_no=E12345678 ssid=Lucy-Home "
    "meid=AF0123450ABCDEC took 35 ms pid=4312 status=200 bytes=5321 version=6.1.1.0 "
    "block blk_-1608999687919862906 build TP1A.220624.014 order ORD20240501123456 "
    "epoch 1700000000000 port :8080 face_feature=AAECAwQFBgcICQoLDA0ODxAREhM= "
    "payload=eyJ1aWQiOiI0ODIxMyJ9 "
    "avatar=data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
)
BENIGN_TEXT = (
    "2024-05-01T12:00:00.123Z INFO order-service GET /api/v1/orders/12345/items 200 5321 "
    "35ms pid=4312 version 6.1.1.0 build TP1A.220624.014 order ORD20240501123456 "
    "epoch 1700000000000 block blk_-1608999687919862906 Chrome/120.0.0.0 port :8080"
)


def _snake(entity: str) -> str:
    return entity.lower()


def _camel(entity: str) -> str:
    return "".join(part.capitalize() for part in entity.split("_"))


@pytest.fixture(params=RECOGNIZERS, ids=lambda cls: cls.__name__)
def recognizer(request: pytest.FixtureRequest) -> LogRecognizer:
    return request.param()


class TestRecognizerContract:
    def test_name_matches_class_and_entity(self, recognizer: LogRecognizer) -> None:
        cls = type(recognizer)
        assert recognizer.name == cls.__name__
        assert cls.__name__ == f"{_camel(cls.ENTITY)}Recognizer"
        assert cls.__module__ == f"detectors.{_snake(cls.ENTITY)}_recognizer"
        assert recognizer.supported_entities == [cls.ENTITY]
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", cls.ENTITY)

    def test_emits_only_its_entity(self, recognizer: LogRecognizer) -> None:
        results = recognizer.analyze(MIXED_TEXT, [recognizer.ENTITY])
        assert {r.entity_type for r in results} <= {recognizer.ENTITY}

    def test_finds_its_entity_in_mixed_text(self, recognizer: LogRecognizer) -> None:
        results = recognizer.analyze(MIXED_TEXT, [recognizer.ENTITY])
        assert results, "the mixed text holds one example of every entity"

    def test_benign_text_gives_no_confident_result(self, recognizer: LogRecognizer) -> None:
        results = recognizer.analyze(BENIGN_TEXT, [recognizer.ENTITY])
        assert [BENIGN_TEXT[r.start : r.end] for r in results if r.score >= 0.5] == []

    def test_patterns_compile_with_presidio_regex_engine(
        self, recognizer: LogRecognizer
    ) -> None:
        for pattern in recognizer.patterns:
            regex.compile(pattern.regex, recognizer.global_regex_flags)

    def test_field_names_are_normalized(self, recognizer: LogRecognizer) -> None:
        for name in type(recognizer).FIELD_NAMES:
            assert name == field_name_key(name) or not name.isascii(), name

    def test_shape_anchors_compile(self, recognizer: LogRecognizer) -> None:
        for anchor in type(recognizer).SHAPE_ANCHORS:
            assert isinstance(anchor, bytes)
            re.compile(anchor)

    def test_keyed_patterns_report_the_value_only(self, recognizer: LogRecognizer) -> None:
        for pattern in recognizer.patterns:
            if isinstance(pattern, KeyedPattern):
                assert "(?P<value>" in pattern.regex
                assert pattern.keys

    def test_normalize_is_idempotent_on_results(self, recognizer: LogRecognizer) -> None:
        for result in recognizer.analyze(MIXED_TEXT, [recognizer.ENTITY]):
            once = recognizer.normalize(MIXED_TEXT[result.start : result.end])
            assert recognizer.normalize(once) == once


def test_registry_is_explicit_and_complete() -> None:
    assert len(set(RECOGNIZERS)) == len(RECOGNIZERS)
    assert len({cls.ENTITY for cls in RECOGNIZERS}) == len(RECOGNIZERS)
    exported = {name for name in detectors.__all__ if name.endswith("Recognizer")}
    assert exported - {"LogRecognizer"} == {cls.__name__ for cls in RECOGNIZERS}


def test_recognizers_register_in_a_presidio_analyzer() -> None:
    registry = RecognizerRegistry(supported_languages=["en"])
    for cls in RECOGNIZERS:
        registry.add_recognizer(cls())

    class _NoNlp:
        """Presidio NLP engine stand-in: pattern recognizers need no NLP."""

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            return NlpArtifacts([], [], [], [], None, language)

        def is_loaded(self) -> bool:
            return True

        def get_supported_languages(self) -> list[str]:
            return ["en"]

        def get_supported_entities(self) -> list[str]:
            return []

    engine = AnalyzerEngine(registry=registry, nlp_engine=_NoNlp(), supported_languages=["en"])
    results = engine.analyze("mail bob@example.com from 203.0.113.9", language="en")
    assert {r.entity_type for r in results} >= {"EMAIL_ADDRESS", "IP_ADDRESS"}
