"""A small keep-alive HTTP/1.1 client for the load generators (stdlib http.client only).

The load generator runs on the same 2 CPUs as the server it measures, so its own cost is taken
from the server: httpx spent ~0.8 ms of CPU per request here (a quarter of a core at 300
requests/s), this ~0.15 ms. It does only what the benches need: one connection per client,
cookies by name, JSON or form bodies, and the subset of httpx's interface they use
(`post`, `get`, `cookies`, `headers`, `status_code`, `json()`, `text`).
"""

from __future__ import annotations

import base64
import http.client
import json as jsonlib
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

# What a failed exchange raises; the benches count these as errors.
HTTP_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)


class Response:
    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: http.client.HTTPMessage, content: bytes):
        self.status_code = status_code
        self.headers = headers  # case-insensitive .get(), as httpx's
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return jsonlib.loads(self.content)


class LeanClient:
    """One keep-alive connection, its cookies and default headers; not thread-safe (one per
    virtual user, as the benches use httpx.Client)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 15,
        auth: tuple[str, str] | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self.source_address = source_address
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        if auth is not None:
            raw = f"{auth[0]}:{auth[1]}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        self._conn: http.client.HTTPConnection | None = None

    # httpx.Client-compatible bits the benches use -------------------------------------------

    def post(
        self,
        url: str,
        *,
        json: object = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        body: bytes | None = None
        extra = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json).encode()
            extra.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = urlencode(data).encode()
            extra.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return self.request("POST", url, body=body, headers=extra)

    def get(self, url: str, *, params: Mapping[str, object] | None = None) -> Response:
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        return self.request("GET", url)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ---------------------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout, source_address=self.source_address
            )
        return self._conn

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        all_headers = {**self.headers, **(headers or {})}
        if self.cookies and "Cookie" not in all_headers:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is None and method == "POST":
            all_headers.setdefault("Content-Length", "0")
        # A kept connection the server closed meanwhile fails on first use: retry once on a new
        # one (only then; a failure on a fresh connection is an error).
        for attempt in (1, 2):
            reused = self._conn is not None
            conn = self._connection()
            try:
                conn.request(method, url, body=body, headers=all_headers)
                raw = conn.getresponse()
                content = raw.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused and attempt == 1:
                    continue
                raise
            except BaseException:
                self.close()
                raise
            if raw.will_close:
                self.close()
            for value in raw.headers.get_all("Set-Cookie") or ():
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0].strip().strip('"')
            return Response(raw.status, raw.headers, content)
        raise AssertionError("unreachable")
