"""logscrub's Presidio recognizers for personal data in service logs.

``RECOGNIZERS`` is the explicit registry of the pack: the fast scanner
(``pipeline/detection/scanner.py``) compiles them, and each is a Presidio
``PatternRecognizer`` that a ``RecognizerRegistry`` accepts as it is. Other packages add
recognizers through the ``logscrub.detectors`` entry-point group (a ``LogRecognizer``
subclass per entry point) instead of editing this tuple: :func:`all_recognizers`.
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from detectors.address_recognizer import AddressRecognizer
from detectors.base import LogRecognizer
from detectors.biometric_recognizer import BiometricRecognizer
from detectors.birthday_recognizer import BirthdayRecognizer
from detectors.card_expiry_recognizer import CardExpiryRecognizer
from detectors.cn_resident_id_recognizer import CnResidentIdRecognizer
from detectors.credit_card_recognizer import CreditCardRecognizer
from detectors.device_id_recognizer import DeviceIdRecognizer
from detectors.email_address_recognizer import EmailAddressRecognizer
from detectors.encoded_text_recognizer import EncodedTextRecognizer
from detectors.gender_recognizer import GenderRecognizer
from detectors.gps_coordinates_recognizer import GpsCoordinatesRecognizer
from detectors.iccid_recognizer import IccidRecognizer
from detectors.imei_recognizer import ImeiRecognizer
from detectors.imsi_recognizer import ImsiRecognizer
from detectors.ip_address_recognizer import IpAddressRecognizer
from detectors.mac_address_recognizer import MacAddressRecognizer
from detectors.meid_recognizer import MeidRecognizer
from detectors.national_id_recognizer import NationalIdRecognizer
from detectors.nickname_recognizer import NicknameRecognizer
from detectors.payment_account_recognizer import PaymentAccountRecognizer
from detectors.person_recognizer import PersonRecognizer
from detectors.phone_number_recognizer import PhoneNumberRecognizer
from detectors.photo_recognizer import PhotoRecognizer
from detectors.secret_recognizer import SecretRecognizer
from detectors.serial_number_recognizer import SerialNumberRecognizer
from detectors.user_agent_recognizer import UserAgentRecognizer
from detectors.user_id_recognizer import UserIdRecognizer
from detectors.username_recognizer import UsernameRecognizer
from detectors.wifi_ssid_recognizer import WifiSsidRecognizer

#: Every recognizer of the pack, in priority order for ties in ``field_entity`` lookups
#: (specific identifiers first, generic keyed ones last).
RECOGNIZERS: tuple[type[LogRecognizer], ...] = (
    EmailAddressRecognizer,
    IpAddressRecognizer,
    MacAddressRecognizer,
    PhoneNumberRecognizer,
    CreditCardRecognizer,
    CardExpiryRecognizer,
    ImeiRecognizer,
    MeidRecognizer,
    ImsiRecognizer,
    IccidRecognizer,
    CnResidentIdRecognizer,
    NationalIdRecognizer,
    DeviceIdRecognizer,
    SerialNumberRecognizer,
    GpsCoordinatesRecognizer,
    WifiSsidRecognizer,
    UserAgentRecognizer,
    SecretRecognizer,
    PaymentAccountRecognizer,
    NicknameRecognizer,
    UsernameRecognizer,
    PersonRecognizer,
    BirthdayRecognizer,
    GenderRecognizer,
    AddressRecognizer,
    UserIdRecognizer,
    BiometricRecognizer,
    PhotoRecognizer,
    # Last: a locator for the engine (it decodes and cleans the blob), never a field's
    # entity by name.
    EncodedTextRecognizer,
)

ENTRY_POINT_GROUP = "logscrub.detectors"


@functools.cache
def all_recognizers() -> tuple[type[LogRecognizer], ...]:
    """``RECOGNIZERS`` and then the classes installed packages register in the
    ``logscrub.detectors`` entry-point group (read once per process).

    Raises:
        ConfigError: an entry point that does not load, is not a ``LogRecognizer``
            subclass, or has no ``ENTITY``: one issue per entry point, naming it.
    """
    from pipeline.exceptions import ConfigError, ConfigIssue

    found: list[type[LogRecognizer]] = []
    issues = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        where = f"entry point {ep.name} = {ep.value} ({ENTRY_POINT_GROUP})"
        try:
            cls = ep.load()
        except Exception as exc:  # noqa: BLE001 — any import error of a plugin is reported
            issues.append(ConfigIssue(where, None, "", f"does not load ({type(exc).__name__})"))
            continue
        if not (isinstance(cls, type) and issubclass(cls, LogRecognizer)):
            issues.append(ConfigIssue(where, None, "", "is not a LogRecognizer subclass"))
        elif not isinstance(getattr(cls, "ENTITY", None), str) or not cls.ENTITY:
            issues.append(ConfigIssue(where, None, "", "has no ENTITY"))
        elif cls not in RECOGNIZERS and cls not in found:
            found.append(cls)
    if issues:
        raise ConfigError(issues)
    return (*RECOGNIZERS, *found)


__all__ = [
    "ENTRY_POINT_GROUP",
    "RECOGNIZERS",
    "AddressRecognizer",
    "BiometricRecognizer",
    "BirthdayRecognizer",
    "CardExpiryRecognizer",
    "CnResidentIdRecognizer",
    "CreditCardRecognizer",
    "DeviceIdRecognizer",
    "EmailAddressRecognizer",
    "EncodedTextRecognizer",
    "GenderRecognizer",
    "GpsCoordinatesRecognizer",
    "IccidRecognizer",
    "ImeiRecognizer",
    "ImsiRecognizer",
    "IpAddressRecognizer",
    "LogRecognizer",
    "MacAddressRecognizer",
    "MeidRecognizer",
    "NationalIdRecognizer",
    "NicknameRecognizer",
    "PaymentAccountRecognizer",
    "PersonRecognizer",
    "PhoneNumberRecognizer",
    "PhotoRecognizer",
    "SecretRecognizer",
    "SerialNumberRecognizer",
    "UserAgentRecognizer",
    "UserIdRecognizer",
    "WifiSsidRecognizer",
    "UsernameRecognizer",
    "all_recognizers",
]
