"""Log lines an operator and a log collector can read: text by default, JSON lines with LOG_FORMAT=json.

Every process (the API, the worker, the command line) calls `configure()` once. Our loggers are
under `kongchuo.`; a line's extra fields (request id, operation, job, outcome, seconds) go into
the JSON object as keys, and at the end of a text line as key=value.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from config import settings

# LogRecord's own attributes: anything else on a record came in through `extra=` and is a field of the line.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_SECRET = re.compile(r"(?<=://)([^:/@\s]*):([^@/\s]*)@")


def redact(url: str | None) -> str:
    """A connection URL without its password: postgres://user:***@host/db."""
    return _SECRET.sub(r"\1:***@", url or "")


def fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class Text(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        shown = getattr(record, "_in_message", ())  # fields the message already says
        extra = {k: v for k, v in fields(record).items() if k not in shown and v is not None}
        if not extra:
            return text
        head, newline, rest = text.partition("\n")  # key=value on the message line, before any traceback
        pairs = " ".join(f"{k}={v}" for k, v in extra.items())
        return f"{head} [{pairs}]{newline}{rest}"


def configure() -> None:
    """Our lines (and arq's warnings) at INFO on stderr, in the format LOG_FORMAT asks for; once per process."""
    ours = logging.getLogger("kongchuo")
    if getattr(ours, "_configured", False):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if settings().log_format == "json" else Text())
    for name, level in (("kongchuo", logging.INFO), ("arq", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
    ours._configured = True  # type: ignore[attr-defined]
