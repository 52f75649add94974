"""Phone numbers and ID numbers: normalise, validate, mask (pure functions)."""

import re

_NON_DIGITS = re.compile(r"[^\d+]")
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_phone(raw: str) -> str:
    """'+86 138-0013-8000' -> '13800138000'. Other numbers keep their digits and a leading +."""
    cleaned = _NON_DIGITS.sub("", raw or "")
    if cleaned.startswith("+86"):
        cleaned = cleaned[3:]
    elif cleaned.startswith("0086"):
        cleaned = cleaned[4:]
    return cleaned


def is_valid_phone(phone: str) -> bool:
    return bool(_MAINLAND_MOBILE.match(phone)) or (
        phone.startswith("+") and 8 <= len(phone) <= 16 and phone[1:].isdigit()
    )


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
