"""Request-body parsers for the API (DEFAULT_PARSER_CLASSES): a size cap and a JSON nesting cap,
checked before anything is decoded, so a hostile body is a 4xx, never a 500.

Kept apart from accounts/api.py: DRF reads DEFAULT_PARSER_CLASSES while defining APIView, so
this module must not import rest_framework.views.
"""

import re
from typing import Any

from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.utils import json

# The largest body the API takes: its biggest input is a 1,000-character survey comment.
MAX_BODY_BYTES = 64 * 1024
# Real bodies are flat objects; deeper nesting is an attack on the recursive JSON decoder.
MAX_JSON_DEPTH = 32

# A JSON string (skipped whole, escapes included) or one bracket.
_JSON_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "payload_too_large"


def json_nesting_exceeds(text: str, limit: int) -> bool:
    """Whether `text` opens more than `limit` arrays/objects inside each other, counted
    without recursing, so that a 50,000-deep body is refused before the decoder sees it."""
    depth = 0
    for match in _JSON_STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


def _read_bounded(stream: Any, parser_context: dict | None) -> bytes:
    """The body, refused with 413 above MAX_BODY_BYTES (by its declared length when it has
    one, so nothing is read)."""
    request = (parser_context or {}).get("request")
    if request is not None:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > MAX_BODY_BYTES:
            raise PayloadTooLarge()
    body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    return body


def _encoding(parser_context: dict | None) -> str:
    return (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)


class BoundedJSONParser(JSONParser):
    """JSON with a size cap and a nesting cap checked before decoding (400, never a
    RecursionError)."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = _read_bounded(stream, parser_context)
        try:
            # bytes.decode takes text codecs only (no decompressing "bz2_codec" bodies).
            text = body.decode(_encoding(parser_context))
        except (LookupError, UnicodeDecodeError) as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from exc
        if json_nesting_exceeds(text, MAX_JSON_DEPTH):
            raise ParseError(
                _("JSON nested deeper than %(limit)d levels.") % {"limit": MAX_JSON_DEPTH}
            )
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from exc


class BoundedFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return QueryDict(_read_bounded(stream, parser_context), encoding=_encoding(parser_context))


class BoundedMultiPartParser(MultiPartParser):
    """Multipart bodies stream through Django's parser; their declared length is capped."""

    def parse(self, stream, media_type=None, parser_context=None):
        _read_bounded(None, parser_context)
        return super().parse(stream, media_type, parser_context)
