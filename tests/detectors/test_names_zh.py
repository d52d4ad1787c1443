"""Chinese person names in running Han text (pipeline.detection.names_zh).

All sentences are made up here: none comes from the Weibo NER corpus (CC BY-SA 3.0).
"""

from __future__ import annotations

import pytest

from pipeline.detection.names_zh import available, find_names_zh
from pipeline.detection.scanner import Scanner

pytestmark = pytest.mark.skipif(not available(), reason="rjieba is not installed")


def _found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in find_names_zh(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("订单已由张伟签收，请联系客服", "张伟"),
        ("我叫刘建华，来自上海", "刘建华"),
        ("请张先生到前台取件", "张"),
        ("李女士反馈快递延误", "李"),
        ("已回复用户周丽萍的工单", "周丽萍"),
        ("//@孙浩:同意这个方案", "孙浩"),
        ("客户王芳来电投诉退款未到账", "王芳"),
        ("欧阳娜娜老师今天不在", "欧阳娜娜"),
    ],
)
def test_when_a_name_stands_in_chinese_text_then_it_is_found(text: str, name: str) -> None:
    assert name in "".join(_found(text)) or any(name in f for f in _found(text))


@pytest.mark.parametrize(
    "text",
    [
        # Ordinary words that begin with a surname character.
        "余额不足，请充值后重试",
        "任务执行成功，耗时3秒",
        "程序异常退出，正在重启",
        "方法调用超时",
        "高级会员权益已开通",
        "祝福大家新年快乐",
        # Product and place names in system messages.
        "华为手机连接失败，请检查网络",
        "服务已部署到北京市数据中心",
        "江苏南京节点延迟升高",
        "黄金会员到期提醒",
        "数据同步完成，共计1200条",
        # One-character titles and everyday characters that are also surnames.
        "可以提高工作效率",
        "年轻时总爱熬夜",
        "两只手紧紧连着",
        "完成后总有种成就感",
        "",
        "plain ascii text without han",
    ],
)
def test_when_no_person_is_named_then_nothing_is_found(text: str) -> None:
    assert _found(text) == []


def test_when_scanning_free_text_then_the_chinese_pass_runs_only_with_ner() -> None:
    scanner = Scanner()
    text = "订单已由张伟签收"
    assert [text[f.start : f.end] for f in scanner.scan(text, "msg", ner=True)] == ["张伟"]
    assert scanner.scan(text, "msg") == []


def test_when_an_email_address_has_an_at_then_it_is_no_mention() -> None:
    assert _found("联系 zhang@example.com:8080") == []
