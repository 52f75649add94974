"""What an uploaded photo or document may be: checked by its first bytes, not its name.

Pure: the services pass the first bytes and the size; no Django here.
"""

from __future__ import annotations

__all__ = ["MAX_UPLOAD_BYTES", "sniff_content_type"]

MAX_UPLOAD_BYTES = 10 * 1024 * 1024

_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


def sniff_content_type(head: bytes) -> str | None:
    """The content type the file's first bytes say, if it is one we accept; else None."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None
