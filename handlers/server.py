"""Serving: waitress for HTTP, background loops for the outbox worker and the scheduler."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask
from waitress import create_server

from bot.errors import SettingsError
from handlers.edge import LARGEST_BODY
from handlers.outage import OUTAGE
from infra.db import database_unavailable

log = logging.getLogger(__name__)


class BackgroundLoop:
    """Runs `tick` every `interval` seconds in a daemon thread until stopped.

    `tick` returns True when it did work, in which case it runs again at once (draining
    a backlog without waiting a whole interval). Errors are logged, never fatal. `on_stop`
    runs once the loop has stopped (the outbox worker finishes what it is sending).
    """

    def __init__(self, name: str, tick: Callable[[], bool], interval: float, on_stop: Callable[[], None] | None = None):
        self.name = name
        self._tick = tick
        self._interval = interval
        self._on_stop = on_stop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._on_stop is not None:
            self._on_stop()
            self._on_stop = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self._tick()
            except Exception as exc:
                if database_unavailable(exc):
                    OUTAGE.failed(exc)  # one line per outage, not one per tick
                else:
                    log.exception("%s failed; retrying in %ss", self.name, self._interval)
                busy = False
            if not busy:
                self._stop.wait(self._interval)


class HttpServer:
    """A threaded production WSGI server (waitress) that can also run in a test's thread.

    Connections cannot starve it: waitress takes up to `connection_limit` at once, closes any
    that sat idle (or half-sent) for `channel_timeout` seconds, and refuses a body larger than
    the largest any route takes before reading it (413).

    Stopping sets a flag the serving loop checks between polls; the loop then drains
    waitress's worker threads and closes every connection itself, so no socket is
    closed under a thread still using it.
    """

    POLL_SECONDS = 0.2
    CONNECTION_LIMIT = 1000  # well above any honest load; each idle one costs a socket
    CHANNEL_TIMEOUT = 15  # seconds a connection may sit idle or half-sent
    CLEANUP_INTERVAL = 2  # seconds between sweeps for such connections

    def __init__(
        self,
        web: Flask,
        host: str,
        port: int,
        threads: int = 16,
        *,
        channel_timeout: int = CHANNEL_TIMEOUT,
        cleanup_interval: int = CLEANUP_INTERVAL,
    ):
        try:
            self._server = create_server(
                web,
                host=host,
                port=port,
                threads=threads,
                ident="dibs",
                clear_untrusted_proxy_headers=True,
                connection_limit=self.CONNECTION_LIMIT,
                channel_timeout=channel_timeout,
                cleanup_interval=cleanup_interval,
                max_request_body_size=LARGEST_BODY + 1,  # waitress refuses a body of this size or more
                inbuf_overflow=LARGEST_BODY,
                asyncore_use_poll=True,  # select() fails past 1024 descriptors
            )
        except (OSError, ValueError) as exc:  # waitress turns an unknown host into a ValueError
            cause = exc if isinstance(exc, OSError) else exc.__context__
            reason = getattr(cause, "strerror", None) or str(exc)
            raise SettingsError(
                f"cannot listen on {host}:{port} ({reason}): set HOST and PORT to a free local address"
            ) from None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def serve_forever(self) -> None:
        """Serve on this thread until `stop()` (or Ctrl-C)."""
        server = self._server
        try:
            while not self._stopping.is_set():
                server.asyncore.loop(
                    timeout=self.POLL_SECONDS,
                    map=server._map,
                    use_poll=server.adj.asyncore_use_poll,
                    count=1,
                )
        finally:
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
            for channel in list(server._map.values()):
                channel.close()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
