"""Phone numbers and ID numbers: normalise, validate, mask (pure functions)."""

import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

DEFAULT_REGION = "CN"
MAINLAND_CODE = 86
# SMS goes to these; a landline is not a customer's number. (Some countries' plans cannot tell
# a mobile from a landline: FIXED_LINE_OR_MOBILE.)
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
# What people write around the digits. Anything else (letters above all, which phonenumbers
# would read as a keypad's 2 = ABC) makes the input not a phone number.
_WRITTEN_PHONE = re.compile(r"[0-9+\s\-‐‑‒–—−.()/]*")
_NOT_DIGITS = re.compile(r"[^0-9+]")


def _ascii(raw: str) -> str:
    """Any Unicode decimal digit as its ASCII digit: full-width ８ (NFKC turns it and ＋, －, the
    ideographic space into ASCII) and Arabic-Indic ٨ (NFKC leaves those: unicodedata.decimal).
    Python's \\d matches all of them, so they must be turned into ASCII before any regex."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def parse_phone(raw: str) -> str | None:
    """The stored form of a mobile number written any usual way, or None if it is not one.

    Stored forms (unchanged, so existing rows, masks and lookups keep working): a mainland
    mobile as its 11 ASCII digits ('13800138000'), any other number as E.164 ('+85291234567').
    '+86 138-0013-8000', '0086 13800138000', '13８００１３８０００', '١٣٨٠٠١٣٨٠٠٠' all give
    '13800138000'. Numbers without a country code are read as mainland ones.
    """
    text = _ascii(raw or "").strip()
    if not text or not _WRITTEN_PHONE.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except NumberParseException:
        return None
    if (
        number.extension
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        return None
    if number.country_code == MAINLAND_CODE:
        return str(number.national_number)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def normalise_phone(raw: str) -> str:
    """The stored form of a valid number ('+86 138-0013-8000' -> '13800138000').

    Anything else gives its ASCII digits (and +), e.g. a number still being typed; that is
    never a valid stored form (is_valid_phone says no), but still finds a customer stored
    before numbers were checked this strictly. Input with letters gives ''.
    """
    parsed = parse_phone(raw)
    if parsed is not None:
        return parsed
    text = _ascii(raw or "")
    if not _WRITTEN_PHONE.fullmatch(text):
        return ""
    cleaned = _NOT_DIGITS.sub("", text)
    for prefix in ("+86", "0086"):
        if cleaned.startswith(prefix):
            return cleaned[len(prefix) :]
    return cleaned


def is_valid_phone(phone: str) -> bool:
    """Whether `phone` is a valid number in its stored form (as normalise_phone gives it)."""
    return bool(phone) and parse_phone(phone) == phone


def mask_phone(phone: str) -> str:
    """138****8000: enough for the customer to recognise, not enough to misuse."""
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id_number(id_number: str) -> str:
    if not id_number:
        return ""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return f"{id_number[:4]}{'*' * (len(id_number) - 8)}{id_number[-4:]}"
