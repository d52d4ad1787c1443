"""Personal data written in prose after the word that names it, and version changes that are
not addresses.

Keys (``birthday=``, ``nickname:``) were covered; these are the sentences log writers
produce instead: ``birthday updated to 1992-02-29``, ``user changed nickname to "x"``,
``ssn 123-45-6789 on file``, ``40.7128 N, 74.0060 W``; and the other way round,
``Upgraded agent to 8.1.34.3`` is a version, not a client's address.
"""

from __future__ import annotations

import pytest

from pipeline.core.engine import Engine
from pipeline.core.policy import load_policy
from pipeline.keys import KeyRing
from pipeline.operators.generalization import date_to


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(
        load_policy(None),
        keys=KeyRing.from_secret("prose-cues-test-secret-0123456789-abcdef", "k1"),
        ner=False,
    )


def scrub(engine: Engine, line: str) -> str:
    out = engine.scrub_line(line)
    assert out is not None
    return out


@pytest.mark.parametrize(
    ("line", "raw", "year"),
    [
        ("user birthday 1988/11/23 saved", "1988/11/23", "1988"),
        ("date of birth 17.05.1990 confirmed", "17.05.1990", "1990"),
        ("customer born 1990-05-17 in Lyon", "1990-05-17", "1990"),
        ("birthday updated to 1992-02-29 for uid 7", "1992-02-29", "1992"),
        ("patient born on May 17, 1990 admitted", "May 17, 1990", "1990"),
        ("dob: 05/17/1990", "05/17/1990", "1990"),
        ("出生日期 1990-05-17", "1990-05-17", "1990"),
        # Two-digit months are tried first: not year 1985, month 1, day 2, then `-01`.
        ("profile saved: birthday=1985-12-01, gender=F", "1985-12-01", "1985"),
    ],
)
def test_birthdays_in_prose_keep_only_their_year(
    engine: Engine, line: str, raw: str, year: str
) -> None:
    out = scrub(engine, line)
    assert raw not in out
    assert year in out


@pytest.mark.parametrize(
    "line",
    [
        "birthday party booked for 2024-05-01",  # not a birth date: no link word
        "reborn 2024-05-01 deploy finished",
        "job born-again 2024-05-01",
    ],
)
def test_dates_that_are_not_birthdays_stay(engine: Engine, line: str) -> None:
    assert scrub(engine, line) == line


@pytest.mark.parametrize(
    ("line", "raws"),
    [
        ('user changed nickname to "SkyWalker99"', ["SkyWalker99"]),
        ("nickname changed from 'oldnick' to 'newnick'", ["oldnick", "newnick"]),
        ("set display name to Foo Bar", ["Foo", "Bar"]),
        ("screen name was updated to lucky_cat_88 by admin", ["lucky_cat_88"]),
    ],
)
def test_nickname_changes_in_prose(engine: Engine, line: str, raws: list[str]) -> None:
    out = scrub(engine, line)
    assert "NICKNAME" in out
    for raw in raws:
        assert raw not in out
    if "by admin" in line:
        assert out.endswith(" by admin")  # an unquoted nick is one token and capitals


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ("ssn 123-45-6789 on file", "123-45-6789"),
        ("social security number 123-45-6789", "123-45-6789"),
        ("Passport no. E12345678 verified", "E12345678"),
        ("passport number: G1234567 expired", "G1234567"),
    ],
)
def test_government_ids_in_prose(engine: Engine, line: str, raw: str) -> None:
    out = scrub(engine, line)
    assert raw not in out and "NATIONAL_ID" in out


@pytest.mark.parametrize(
    "line",
    [
        "ticket 123-45-6789 closed",  # the SSN shape needs a context word
        "passport verified for order 5521",
    ],
)
def test_id_shapes_without_their_word_stay(engine: Engine, line: str) -> None:
    assert scrub(engine, line) == line


@pytest.mark.parametrize(
    ("line", "raws"),
    [
        ("location: 40.7128 N, 74.0060 W", ["40.7128", "74.0060"]),
        ("at N 51.5074 W 0.1278", ["51.5074", "0.1278"]),
        ("loc=N 39°54'15\" E 116°24'27\"", ["39°54'15\"", "116°24'27\""]),
        ("position 39°54'15.2\"N, 116°24'27.5\"E reported", ["39°54'15.2\"", "116°24'27.5\""]),
        ("北纬39.9042, 东经116.4074", ["39.9042", "116.4074"]),
    ],
)
def test_positions_with_hemisphere_letters(engine: Engine, line: str, raws: list[str]) -> None:
    out = scrub(engine, line)
    assert "GPS_COORDINATES" in out
    for raw in raws:
        assert raw not in out


def test_a_version_with_hemisphere_like_letters_stays(engine: Engine) -> None:
    line = "version 5.123 N 2.456 E"
    assert scrub(engine, line) == line


@pytest.mark.parametrize(
    "line",
    [
        "Upgraded agent to 8.1.34.3 (was 6.3.1-rc.3)",
        '{"msg":"Upgraded agent to 10.0.20865.3260 (was 5.8.4.8)"}',
        "Deployed commit d75e6fa as 4.6.143.1",
        "rolled back to 2.0.1.7 after errors",
    ],
)
def test_dotted_quads_in_version_changes_stay(engine: Engine, line: str) -> None:
    assert scrub(engine, line) == line


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ("Accepted password for bob from 8.1.34.3 port 22", "8.1.34.3"),
        ("upgrade requested by client 91.198.174.192", "91.198.174.192"),
        # A clause break ends the version change: this `to` names a host again.
        ("Upgraded agent; connected to 91.198.174.192", "91.198.174.192"),
        ("Upgraded agent, then connected to 91.198.174.192", "91.198.174.192"),
    ],
)
def test_addresses_near_version_words_are_still_addresses(
    engine: Engine, line: str, raw: str
) -> None:
    out = scrub(engine, line)
    assert raw not in out
    assert raw.rsplit(".", 1)[0] + ".0" in out  # generalized to its /24


@pytest.mark.parametrize(
    ("value", "year", "month"),
    [
        ("May 17, 1990", "1990", None),
        ("17th May 1990", "1990", None),
        ("05/17/1990", "1990", None),  # month first: the month is not certain, the year is
        ("17.05.1990", "1990", "1990-05"),
    ],
)
def test_date_to_reads_the_year_of_written_and_ambiguous_dates(
    value: str, year: str, month: str | None
) -> None:
    assert date_to(value, "year") == year
    if month is None:
        with pytest.raises(ValueError):
            date_to(value, "month")
    else:
        assert date_to(value, "month") == month


@pytest.mark.parametrize("value", ["31.02.1990", "13/13/1990", "Foo 17, 1990"])
def test_date_to_refuses_dates_that_do_not_exist(value: str) -> None:
    with pytest.raises(ValueError):
        date_to(value, "year")


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ('{"user":{"weibo":"@xiaoming"}}', "xiaoming"),
        ('{"twitter_handle":"@bob_the_builder"}', "bob_the_builder"),
        ('{"buyerNickname":"lucky_cat_88"}', "lucky_cat_88"),
    ],
)
def test_social_handles_and_nickname_fields(engine: Engine, line: str, raw: str) -> None:
    out = scrub(engine, line)
    assert raw not in out and "NICKNAME" in out


def test_a_social_network_named_as_a_value_or_flag_stays(engine: Engine) -> None:
    line = '{"channel":"weibo","share":{"twitter":true,"weibo":false}}'
    assert scrub(engine, line) == line


@pytest.mark.parametrize(
    ("line", "raw", "entity"),
    [
        ("account jdoe locked after 5 failures", "jdoe", "USERNAME"),
        ("Password reset requested for account: m.rossi", "m.rossi", "USERNAME"),
        ("Authentication failure for jsmith (uid 1001)", "jsmith", "USERNAME"),
        ('bind dn="cn=jdoe,ou=People,dc=example,dc=com"', "jdoe", "USERNAME"),
        ('bind dn="cn=John Smith,ou=People,dc=example,dc=com"', "John Smith", "PERSON"),
        ("AD: CN=Mary Jones,OU=Sales,DC=corp,DC=local modified", "Mary Jones", "PERSON"),
        ("Welcome back, Jennifer!", "Jennifer", "PERSON"),
        ("comment by @techguru99: great product", "techguru99", "NICKNAME"),
        ("cc @lucy_w please review", "lucy_w", "NICKNAME"),
        (
            "Shipping label created for Robert Brown, 742 Evergreen Terrace, Springfield",
            "742 Evergreen Terrace",
            "ADDRESS",
        ),
        ("ship to 1200 Market St, Philadelphia", "1200 Market St", "ADDRESS"),
        ("customer lives at 42 Elm Street since May", "42 Elm Street", "ADDRESS"),
    ],
)
def test_accounts_names_mentions_and_streets_in_prose(
    engine: Engine, line: str, raw: str, entity: str
) -> None:
    out = scrub(engine, line)
    assert raw not in out and entity in out


@pytest.mark.parametrize(
    "line",
    [
        "pam_unix(sshd:session): session opened for user root by (uid=0)",
        "process started as (uid 0)",
        "Welcome Page: loaded",
        "Thanks, Team!",
        "for account settings page",
        "account balance updated",
        "account 12345 locked",
        "queue depth 3 Main Road",
        "AD: CN=Users,DC=corp,DC=local",
    ],
)
def test_look_alikes_of_accounts_names_and_streets_stay(engine: Engine, line: str) -> None:
    out = scrub(engine, line)
    if line.startswith("pam_unix"):
        assert out.endswith(" by (uid=0)") and "root" not in out
    else:
        assert out == line


@pytest.mark.parametrize(
    ("line", "raw", "entity"),
    [
        ("contact: bob [at] example [dot] com", "bob [at] example [dot] com", "EMAIL_ADDRESS"),
        ("reach me: jane.doe(at)gmail.com", "jane.doe(at)gmail.com", "EMAIL_ADDRESS"),
        ("QQ号：123456789", "123456789", "USER_ID"),
        ('{"device_name":"Zhang Wei\'s iPad"}', "Zhang", "DEVICE_ID"),
        ("GET /u/bob.smith/profile 200", "bob.smith", "USERNAME"),
        ("GET /users/jdoe/orders HTTP/1.1", "jdoe", "USERNAME"),
        ("GET /@lucy_w HTTP/1.1", "lucy_w", "USERNAME"),
    ],
)
def test_written_out_emails_qq_keys_owner_names_and_profile_paths(
    engine: Engine, line: str, raw: str, entity: str
) -> None:
    out = scrub(engine, line)
    assert raw not in out and entity in out


@pytest.mark.parametrize(
    "line",
    [
        "meeting (at) noon with team",
        "look [at] this [dot] thing",
        "Connected to the iPhone simulator",
        "GET /users/search?q=x 200",
        "GET /users/me/settings 200",
        "GET /static/users/logo.png 200",
        "GET /u/48213/ 200",  # a number: user_id_recognizer's, not an account name
    ],
)
def test_look_alikes_of_written_out_emails_and_profile_paths_stay(
    engine: Engine, line: str
) -> None:
    out = scrub(engine, line)
    if "/u/48213/" in line:
        assert "USERNAME" not in out
    else:
        assert out == line


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ("token for device 9774d56d682e549c user x", "9774d56d682e549c"),
        ("android id 9774d56d682e549c", "9774d56d682e549c"),
        (
            "IDFA 6D92078A-8246-4BA4-AE5B-76104861E7DC seen",
            "6D92078A-8246-4BA4-AE5B-76104861E7DC",
        ),
    ],
)
def test_device_ids_right_after_their_word(engine: Engine, line: str, raw: str) -> None:
    out = scrub(engine, line)
    assert raw not in out and "DEVICE_ID" in out


@pytest.mark.parametrize(
    "line",
    ["trace 9774d56d682e549c device ok", "span 9774d56d682e549c sampled"],
)
def test_hex_ids_after_other_words_stay(engine: Engine, line: str) -> None:
    assert scrub(engine, line) == line


@pytest.mark.parametrize(
    "line",
    ["身份证 110101 19900307 4514 已验证", "id 110101-19900307-4514", "110101 1990 0307 4514 ok"],
)
def test_grouped_resident_ids_give_the_same_token_as_ungrouped(engine: Engine, line: str) -> None:
    out = scrub(engine, line)
    plain = scrub(engine, "110101199003074514")
    assert "4514" not in out and plain in out


def test_a_grouped_number_with_a_wrong_check_digit_stays(engine: Engine) -> None:
    line = "order 110101 19900307 4515 x"
    assert scrub(engine, line) == line


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ('{"shipping":{"address_line1":"Flat 3, 12 Baker Street"}}', "12 Baker Street"),
        ('{"billing":{"addr1":"12 Baker Street","addr2":"Flat 3"}}', "12 Baker Street"),
        ('{"street2":"Building 5, Unit 1201"}', "Unit 1201"),
    ],
)
def test_numbered_address_line_fields(engine: Engine, line: str, raw: str) -> None:
    out = scrub(engine, line)
    assert raw not in out and "ADDRESS" in out
