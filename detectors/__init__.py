"""logscrub's Presidio recognizers for personal data in service logs.

``RECOGNIZERS`` is the explicit registry: ``pipeline/analyzer.py`` adds each class to a
Presidio ``RecognizerRegistry`` and the fast scanner (``pipeline/detection/scanner.py``) compiles
them. Third-party packages add recognizers through the ``logscrub.detectors`` entry-point
group instead of editing this tuple.
"""

from __future__ import annotations

from detectors.address_recognizer import AddressRecognizer
from detectors.base import LogRecognizer
from detectors.biometric_recognizer import BiometricRecognizer
from detectors.birthday_recognizer import BirthdayRecognizer
from detectors.card_expiry_recognizer import CardExpiryRecognizer
from detectors.cn_resident_id_recognizer import CnResidentIdRecognizer
from detectors.credit_card_recognizer import CreditCardRecognizer
from detectors.device_id_recognizer import DeviceIdRecognizer
from detectors.email_address_recognizer import EmailAddressRecognizer
from detectors.gender_recognizer import GenderRecognizer
from detectors.gps_coordinates_recognizer import GpsCoordinatesRecognizer
from detectors.iccid_recognizer import IccidRecognizer
from detectors.imei_recognizer import ImeiRecognizer
from detectors.imsi_recognizer import ImsiRecognizer
from detectors.ip_address_recognizer import IpAddressRecognizer
from detectors.mac_address_recognizer import MacAddressRecognizer
from detectors.meid_recognizer import MeidRecognizer
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
    DeviceIdRecognizer,
    SerialNumberRecognizer,
    GpsCoordinatesRecognizer,
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
)

__all__ = [
    "RECOGNIZERS",
    "AddressRecognizer",
    "BiometricRecognizer",
    "BirthdayRecognizer",
    "CardExpiryRecognizer",
    "CnResidentIdRecognizer",
    "CreditCardRecognizer",
    "DeviceIdRecognizer",
    "EmailAddressRecognizer",
    "GenderRecognizer",
    "GpsCoordinatesRecognizer",
    "IccidRecognizer",
    "ImeiRecognizer",
    "ImsiRecognizer",
    "IpAddressRecognizer",
    "LogRecognizer",
    "MacAddressRecognizer",
    "MeidRecognizer",
    "NicknameRecognizer",
    "PaymentAccountRecognizer",
    "PersonRecognizer",
    "PhoneNumberRecognizer",
    "PhotoRecognizer",
    "SecretRecognizer",
    "SerialNumberRecognizer",
    "UserAgentRecognizer",
    "UserIdRecognizer",
    "UsernameRecognizer",
]
