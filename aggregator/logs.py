"""Structured log lines: the message, then every `extra` field as key=value."""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname.lower()} "
        base += f"{record.name} {record.getMessage()}"
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        pairs = " ".join(
            f"{key}={_quote(value)}" for key, value in fields.items() if value is not None
        )
        line = f"{base} {pairs}" if pairs else base
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


# What makes a value need quotes: white space, a quote or an equals sign (a search in C,
# not a Python test a character: a poll logs a line for every source).
_NEEDS_QUOTES = re.compile(r'[\s"=]')


def _quote(value: object) -> str:
    text = str(value)
    return f'"{text}"' if not text or _NEEDS_QUOTES.search(text) else text


class CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is logged, not when logging was set
    up: while a progress bar is drawn on a terminal, rich puts its own stream there and
    prints each line above the bar instead of through it."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass  # always the current sys.stderr


def configure_logging(level: str = "INFO") -> None:
    handler = CurrentStderrHandler()
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger("biowire")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
