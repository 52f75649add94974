"""Keep phone and ID numbers out of logs, whatever code logs them."""

import logging
import re

# Mainland mobile numbers and 15/18-character resident ID numbers.
_PHONE = re.compile(r"(?<!\d)(\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])|(?<!\d)\d{15}(?!\d)")


def mask_personal_data(text: str) -> str:
    text = _ID_NUMBER.sub("[id]", text)
    return _PHONE.sub("[phone]", text)


class MaskPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
