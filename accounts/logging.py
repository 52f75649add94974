"""Keep phone and ID numbers out of logs, whatever code logs them, tracebacks included."""

import logging
import re
import unicodedata

# Mainland mobile numbers, also written with spaces or dashes (138-0013-8000, +86 138 0013 8000);
# and 15/18-character resident ID numbers. Matched on ASCII digits (see mask_personal_data).
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d){8}(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])|(?<!\d)\d{15}(?!\d)")


class _AsciiDigits(dict):
    """str.translate table: any script's decimal digit (１, ١ …) to its ASCII digit."""

    def __missing__(self, codepoint: int) -> int | str:
        char = chr(codepoint)
        value = str(unicodedata.decimal(char)) if char.isdecimal() else codepoint
        self[codepoint] = value
        return value


_ASCII_DIGITS = _AsciiDigits()


def mask_personal_data(text: str) -> str:
    """The text with phone and ID numbers replaced. A number typed in full-width or other
    digits is found too (the text then comes back with ASCII digits)."""
    ascii_text = text.translate(_ASCII_DIGITS)
    masked = _PHONE.sub("[phone]", _ID_NUMBER.sub("[id]", ascii_text))
    return text if masked == ascii_text else masked


class MaskingFormatter(logging.Formatter):
    """Masks the whole formatted record: the message, the traceback (a database error quotes
    the row: `Key (phone)=(13800138000)`) and any stack, not the message alone."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal_data(super().format(record))


class MaskPersonalDataFilter(logging.Filter):
    """For handlers with a formatter of their own: masks the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
