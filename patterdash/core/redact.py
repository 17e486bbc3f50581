"""Keep secrets and phone numbers out of logs."""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "redact_phone", "redact_text"]

_TOKEN_PARAM = re.compile(r"((?:^|[?&;])token=)[^&;\s\"]*", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
# The call-list search (?q=) holds numbers and transcript text: never worth a log line.
_SEARCH_PARAM = re.compile(r"((?:^|[?&;])q=)[^&;\s\"]*")
# E.164-style numbers as carriers send them (+15551234567, +44 20 7946 0958).
_PHONE = re.compile(r"(?:\+|%2[bB])\d[\d\s()-]{5,}\d")  # also URL-encoded (%2B...)


def redact_phone(number: str) -> str:
    """A phone number as logs show it: only the last 4 digits."""
    digits = re.sub(r"\D", "", number.removeprefix("%2B").removeprefix("%2b"))
    return "***" + digits[-4:] if len(digits) > 4 else "***"


def redact_text(text: str) -> str:
    """Redact ``token=`` and ``q=`` query values, bearer tokens and phone numbers in a log line."""
    text = _TOKEN_PARAM.sub(r"\1REDACTED", text)
    text = _BEARER.sub(r"\1REDACTED", text)
    text = _SEARCH_PARAM.sub(r"\1REDACTED", text)
    return _PHONE.sub(lambda m: redact_phone(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """A logging filter that applies ``redact_text`` to every record's final message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # aiohttp's "Error handling request" traceback quotes the malformed request line or
            # header (Authorization: Bearer ...); formatters reuse exc_text, so redact it here
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True
