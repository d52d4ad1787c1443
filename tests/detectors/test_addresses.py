"""Street addresses in free text (pipeline.detection.addresses): prose and address blocks."""

from __future__ import annotations

import pytest

from pipeline.detection.addresses import find_addresses
from pipeline.detection.scanner import Scanner


def _found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in find_addresses(text)]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "please ship to 994 Pine Lane, Fairview, TX 80773 asap",
            "994 Pine Lane, Fairview, TX 80773",
        ),
        (
            "send it to 22 Amsinckstrasse 9\n Suite 776\n Arnsdorf\n Malta 38302",
            "22 Amsinckstrasse 9\n Suite 776\n Arnsdorf\n Malta 38302",
        ),
        (
            "We'll meet at Obere Bahnhofstrasse 9, Bassersdorf",
            "Obere Bahnhofstrasse 9, Bassersdorf",
        ),
        ("my address is 14 Via Roma 12\nMilano, MI 20121", "14 Via Roma 12\nMilano, MI 20121"),
        (
            "The address of Acme is PSC 1083, Box 3672\nAPO AP 10176",
            "PSC 1083, Box 3672\nAPO AP 10176",
        ),
        ("mail it to P.O. Box 41, Springfield", "P.O. Box 41, Springfield"),
        (
            "The letter arrived at 4589 40th Street Suite 603 Calgary AB last night.",
            "4589 40th Street Suite 603 Calgary AB",
        ),
        (
            "customer moved to 10 Downing Street, London SW1A 2AA",
            "10 Downing Street, London SW1A 2AA",
        ),
    ],
)
def test_when_an_address_is_written_in_prose_then_it_is_found(text: str, address: str) -> None:
    assert _found(text) == [address]


@pytest.mark.parametrize(
    "text",
    [
        "retried 3 times in 5 seconds",
        "processed 1200 records in 34 ms",
        "They're not answering at 785 8949",
        "Dr. Fields is a 50 year old man",
        "upgraded to version 3 build 12",
        "GET /api/v1/orders/12345 took 12 ms",
        "Order ORD2024 state PAID -> SHIPPED in 34135us",
        "worker 7 of 12 started on port 8080",
        "no digits here at all",
    ],
)
def test_when_numbers_stand_in_log_prose_then_no_address_is_found(text: str) -> None:
    assert _found(text) == []


def test_when_scanning_free_text_then_addresses_need_ner_mode() -> None:
    scanner = Scanner()
    text = "please ship to 994 Pine Lane, Fairview, TX 80773"
    found = {f.entity for f in scanner.scan(text, "note", ner=True)}
    assert "ADDRESS" in found


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "要求改收货地址为上海市浦东新区世纪大道100号，联系人张先生",
            "上海市浦东新区世纪大道100号",
        ),
        ("订单备注：请送到北京市海淀区中关村大街27号，谢谢", "北京市海淀区中关村大街27号"),
        ("住在江苏省南京市鼓楼区建国路812号6栋3101室", "江苏省南京市鼓楼区建国路812号6栋3101室"),
        ("shipped to 江苏省南京市鼓楼区建国路812号", "江苏省南京市鼓楼区建国路812号"),
    ],
)
def test_when_a_chinese_address_stands_inside_a_sentence_then_only_the_address_is_found(
    text: str, address: str
) -> None:
    scanner = Scanner()
    found = [text[f.start : f.end] for f in scanner.scan(text, "remark") if f.entity == "ADDRESS"]
    assert found == [address]


@pytest.mark.parametrize(
    "text", ["服务已部署到北京市数据中心", "地铁7号线故障", "已转到3号窗口办理"]
)
def test_when_a_place_has_no_street_and_number_then_it_is_no_chinese_address(text: str) -> None:
    assert all(f.entity != "ADDRESS" for f in Scanner().scan(text, "remark", ner=True))
