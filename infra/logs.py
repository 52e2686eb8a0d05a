"""Logging for a log pipeline: `LOG_FORMAT=json` writes one JSON object per line, `text` a line
for people; both carry the request's context and both pass through the redaction filter.

The context (request id, Slack user, team, lead and dispute refs) lives in a contextvar: the
request's door sets it (handlers/request_log.py), the pipeline and routes add to it as they
learn who and what the request is about, and every line logged meanwhile carries it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["json", "text"]
CONTEXT_FIELDS = ("request_id", "user", "team", "lead", "dispute")
REDACTED = "[redacted]"

_context: ContextVar[dict[str, str]] = ContextVar("dibs_log_context", default={})  # noqa: B039 (never mutated)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def bind(**fields: object) -> None:
    """Add fields to the current context (None values are left out)."""
    _context.set(_context.get() | {k: str(v) for k, v in fields.items() if v is not None})


def begin(**fields: object) -> None:
    """A fresh context for work with no scope around it (a Socket Mode event on a reused thread)."""
    _context.set({k: str(v) for k, v in fields.items() if v is not None})


@contextmanager
def scope(**fields: object) -> Iterator[None]:
    """A fresh context for one request or job; the previous one comes back after."""
    token = _context.set({k: str(v) for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, str]:
    return dict(_context.get())


class Redactor:
    """Takes secrets and contact details out of text: Slack tokens, bearer tokens, e-mail
    addresses, phone numbers, and every literal secret registered at start (signing secret,
    intake tokens, the database password)."""

    _RULES = (
        (re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+"), REDACTED),  # Slack tokens
        (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"), rf"\1 {REDACTED}"),  # Authorization values
        (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), REDACTED),  # e-mail addresses
        (re.compile(r"(?<![\w-])(?:\+\d[\d ().-]{5,}\d|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?![\w-])"), REDACTED),  # phones
        (re.compile(r"(://[^:/@\s]+):[^@/\s]+@"), rf"\1:{REDACTED}@"),  # passwords in URLs
    )

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def register(self, secret: str | None) -> None:
        """Never log this value (at least 6 characters, so no common word is taken out)."""
        if secret and len(secret) >= 6:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        for pattern, replacement in self._RULES:
            text = pattern.sub(replacement, text)
        return text


REDACT = Redactor()


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, event, logger, the context, extras, the error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": REDACT(record.getMessage()),
            "logger": record.name,
        }
        line |= current()
        for key, value in _extras(record).items():
            line[key] = REDACT(value) if isinstance(value, str) else value
        if record.exc_info:
            line["error"] = REDACT(self.formatException(record.exc_info))
        return json.dumps(line, default=lambda v: REDACT(str(v)), ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value...` with the context and extras, redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        fields = current() | _extras(record)
        line = super().format(record)
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return REDACT(line)


def configure_logging(log_format: LogFormat = "text", level: int = logging.INFO) -> None:
    """Send every log line to stderr in `log_format`; as `logging.basicConfig`, a logging set
    up before (a test runner, an embedding program) is left alone."""
    root = logging.getLogger()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
