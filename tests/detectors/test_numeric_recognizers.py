"""CREDIT_CARD, CARD_EXPIRY, IMEI, MEID, IMSI, ICCID, CN_RESIDENT_ID: checksums and traps.

Test numbers are synthetic: standard test PANs and numbers completed with a computed
check digit (python-stdnum ``luhn.calc_check_digit`` / ``cn.ric.calc_check_digit``).
"""

from __future__ import annotations

import pytest

from tests.detectors.conftest import Found

# The numeric false-positive shapes analytics needs intact.
ANALYTICS_VALUES = [
    ("epoch millis", "ts 1700000000000 ok"),
    ("epoch micros", "ts 1700000000000000 ok"),
    ("hdfs block", "Receiving block blk_-1608999687919862906 of size 91178"),
    ("hdfs block positive", "blk_1608999687919862906"),
    ("order id", "order ORD20240501123456 paid"),
    ("bare order id", "order_no=20240501123456"),
    ("trace id", "trace 4bf92f3577b34da6a3ce929d0e0e4736"),
    ("span id", "span 00f067aa0ba902b7"),
    ("build id", "build TP1A.220624.014"),
    ("pid and port", "pid 4312 listening on :8080"),
    ("byte count", "sent 1048576 bytes in 35 ms"),
]


@pytest.mark.parametrize(("case", "text"), ANALYTICS_VALUES, ids=[c[0] for c in ANALYTICS_VALUES])
def test_analytics_values_are_left_alone(found: Found, case: str, text: str) -> None:
    assert found(text) == []


CARD_CASES = [
    ("visa bare", "pan 4111111111111111 ok", "4111111111111111"),
    ("visa spaced", "card 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("visa dashed", "4111-1111-1111-1111 charged", "4111-1111-1111-1111"),
    ("mastercard", "mc 5555555555554444", "5555555555554444"),
    ("amex grouped", "amex 3782 822463 10005", "3782 822463 10005"),
    ("unionpay 16", "unionpay 6222021234567894", "6222021234567894"),
    ("unionpay 19 spaced", "6228 4800 1234 5678 903", "6228 4800 1234 5678 903"),
    ("jcb", "jcb 3530111333300000", "3530111333300000"),
    ("json", '{"cardNo":"6011000990139424"}', "6011000990139424"),
]


@pytest.mark.parametrize(("case", "text", "value"), CARD_CASES, ids=[c[0] for c in CARD_CASES])
def test_card_positive(found: Found, case: str, text: str, value: str) -> None:
    assert ("CREDIT_CARD", value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # Luhn fails
        "20240501123456",  # Luhn-valid? no; and no brand of length 14 starting 20
        "1748503543012",  # epoch-like, Presidio's own negative
        "0000 0000 0000 0000",
    ],
)
def test_card_negative(found: Found, text: str) -> None:
    assert [f for f in found(text) if f[0] == "CREDIT_CARD"] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("card 4111111111111111 exp 12/27", "12/27"),
        ("expiry=09/2028", "09/2028"),
        ('"exp_date": "11/26"', "11/26"),
        ("VALID THRU 01/29", "01/29"),
    ],
)
def test_card_expiry_positive(found: Found, text: str, value: str) -> None:
    assert ("CARD_EXPIRY", value) in found(text)


@pytest.mark.parametrize(
    "text", ["exp=1700000000", '"expires": "2024-05-01T12:00:00Z"', "12/27 jobs"]
)
def test_card_expiry_negative(found: Found, text: str) -> None:
    assert [f for f in found(text) if f[0] == "CARD_EXPIRY"] == []


@pytest.mark.parametrize(
    ("text", "value", "entity"),
    [
        ("imei 490154203237518", "490154203237518", "IMEI"),
        ("IMEI: 35-209900-176148-1", "35-209900-176148-1", "IMEI"),
        ("imei=861234567890127", "861234567890127", "IMEI"),
        ("imeisv=3520990017614823", "3520990017614823", "IMEI"),  # no checksum: key needed
        ("imsi=460001234567890", "460001234567890", "IMSI"),
        ("sub 460011234567890 attached", "460011234567890", "IMSI"),  # Chinese MCC stands alone
        ("imsi: 310150123456789", "310150123456789", "IMSI"),
        ("iccid 89860012345678901238", "89860012345678901238", "ICCID"),
        ("sim 8986 0012 3456 7890 1238", "8986 0012 3456 7890 1238", "ICCID"),
        ("meid=AF0123450ABCDE", "AF0123450ABCDE", "MEID"),
        ("esn AF0123450ABCDEC", "AF0123450ABCDEC", "MEID"),
        ("id 110105199003071239 ok", "110105199003071239", "CN_RESIDENT_ID"),
        ("ref 44030419851111234X", None, None),  # wrong check char, no key: nothing
        # Wrong check char right after its own key: the producer says what it is.
        ('"id_card":"44030419851111234X"', "44030419851111234X", "CN_RESIDENT_ID"),
        ("imei=355302046283920 model=X", "355302046283920", "IMEI"),
        ("card_no=4111111111111112 ok", "4111111111111112", "CREDIT_CARD"),
        ("sfz=440304198511112347", "440304198511112347", "CN_RESIDENT_ID"),
    ],
)
def test_device_and_id_numbers(
    found: Found, text: str, value: str | None, entity: str | None
) -> None:
    results = found(text)
    if value is None:
        assert [r for r in results if r[0] == "CN_RESIDENT_ID"] == []
    else:
        assert (entity, value) in results


@pytest.mark.parametrize(
    "text",
    [
        "count 352099001761482",  # IMEI with a wrong check digit
        "seq 123451234567890",  # 15 digits, no operator
        "id 999991234567890",  # test network
        "block 890123456789012345",  # 18 digits, no context
        "ric 110105199013071239",  # month 13
    ],
)
def test_device_number_negatives(found: Found, text: str) -> None:
    assert found(text) == []


def test_card_digits_normalize(scanner) -> None:  # noqa: ANN001
    assert scanner.normalize("CREDIT_CARD", "4111 1111 1111 1111") == "4111111111111111"
    assert scanner.normalize("IMEI", "35-209900-176148-1") == "352099001761481"
    assert scanner.normalize("MAC_ADDRESS", "00-1A-2B-3C-4D-5E") == "00:1a:2b:3c:4d:5e"
    assert scanner.normalize("EMAIL_ADDRESS", "Bob@Example.COM") == "bob@example.com"
    assert scanner.normalize("CN_RESIDENT_ID", "44030419851111234x") == "44030419851111234X"


def test_imsi_verdicts_remembered_per_operator_prefix_are_stdnums_own():
    """The IMSI check is remembered per MCC+MNC prefix (python-stdnum's lookup walks its
    table in Python each time); the verdicts equal a fresh lookup of each number."""
    import random

    from detectors import imsi_recognizer
    from detectors.imsi_recognizer import ImsiRecognizer

    assert imsi_recognizer._deciding_digits() is not None  # noqa: SLF001 — the fast path is on
    recognizer = ImsiRecognizer()
    rng = random.Random(5)
    mccs = ["460", "310", "311", "234", "262", "404", "405", "001", "999", "123", "722", "302"]
    numbers = [
        rng.choice(mccs + [f"{rng.randint(0, 999):03d}"]) + "".join(rng.choices("0123456789", k=12))
        for _ in range(4000)
    ]
    verdicts = {True: 0, None: 0, False: 0}
    for number in numbers:
        got = recognizer.validate_result(number)
        assert got == imsi_recognizer._verdict(number), number  # noqa: SLF001
        verdicts[got] += 1
    assert all(verdicts.values()), verdicts  # each kind of verdict was exercised


def test_patterns_marked_never_confirmed_are_never_confirmed():
    """`NEVER_CONFIRMED` lets the scanner's native sets require context for a pattern
    below the threshold: it must hold that the validator never returns True for it."""
    import random

    from detectors import RECOGNIZERS

    rng = random.Random(9)
    checked = 0
    for cls in RECOGNIZERS:
        recognizer = cls()
        for name in getattr(cls, "NEVER_CONFIRMED", ()):
            pattern = next(p for p in recognizer.patterns if p.name == name)
            assert pattern.score < 0.5
            for _ in range(3000):
                value = str(rng.randint(10**17, 10**18 - 1))  # meid (decimal): 18 digits
                assert recognizer.validate_result(value) is not True, (name, value)
                checked += 1
    assert checked
