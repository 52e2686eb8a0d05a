"""The request's id and its access line: the outermost WSGI layer of `dibs serve`.

Each request gets an id (the load balancer's `X-Request-Id` when it sent a sane one), returned
as the `X-Request-Id` response header and carried by every log line of the request, which ends
with one line giving the method, path, status and duration.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from infra.logs import scope

log = logging.getLogger("dibs.http")

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}  # probes and scrapes: every few seconds, logged at DEBUG

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestLog:
    """Wraps a WSGI app: the request id in and out, the context scope, the access line."""

    def __init__(self, app: WsgiApp):
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if _SANE_ID.fullmatch(offered) else secrets.token_hex(8)
        started = time.monotonic()
        status = ["500"]

        def respond(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = status_line.split(" ", 1)[0]
            headers = [(k, v) for k, v in headers if k.lower() != REQUEST_ID_HEADER.lower()]
            return start_response(status_line, [*headers, (REQUEST_ID_HEADER, request_id)], exc_info)

        path = environ.get("PATH_INFO", "")
        with scope(request_id=request_id):
            try:
                result = self._app(environ, respond)
                try:  # read here, so the access line has the whole request's duration
                    return list(result)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
            finally:
                log.log(
                    logging.DEBUG if path in _QUIET_PATHS else logging.INFO,
                    "%s %s %s",
                    environ.get("REQUEST_METHOD", ""),
                    path,
                    status[0],
                    extra={"status": int(status[0]), "duration_ms": round((time.monotonic() - started) * 1000, 1)},
                )
