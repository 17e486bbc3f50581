"""Redaction at the door: numbers cut to their last 4 digits, card numbers, e-mails, SSNs and user
patterns replaced by ``[redacted:kind]``, in an event's data before anything is stored or published.

Pure: a new event dict is returned, the given one is never changed. The same input always gives the
same output, so a re-sent event still matches the stored one (idempotent ids stay idempotent).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from patterdash.core.redact import redact_phone

__all__ = ["Redactor", "compile_patterns", "luhn_valid"]

# 13-19 digits, single spaces or dashes between them (how people say and type card numbers)
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
# a phone number in text: 10-15 digits (a 7-digit local number or a date is left alone), or 7+ after "+"
_NUMBER = re.compile(r"(?<![\w+])(?:\+\d(?:[\s().-]{0,2}\d){6,14}|\(?\d(?:[\s().-]{0,2}\d){9,14})(?!\w)")
_NUMBER_FIELDS = ("caller", "callee")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[redacted:card]" if luhn_valid(digits) else match.group(0)


def compile_patterns(regexes: list[str]) -> list[re.Pattern[str]]:
    """User regexes, compiled; ValueError names the first one that does not compile."""
    out = []
    for text in regexes:
        try:
            out.append(re.compile(text))
        except re.error as e:
            raise ValueError(f"redact regex {text!r}: {e}") from e
    return out


@dataclass(frozen=True)
class Redactor:
    """What to redact: numbers (last 4 digits kept), the built-in patterns, user regexes."""

    numbers: bool = False
    patterns: bool = False
    custom: tuple[re.Pattern[str], ...] = ()

    @property
    def active(self) -> bool:
        """Whether it changes anything at all."""
        return self.numbers or self.patterns or bool(self.custom)

    def text(self, value: str) -> str:
        """Transcript text with every configured kind redacted."""
        if self.patterns:
            value = _CARD.sub(_card, value)
            value = _SSN.sub("[redacted:ssn]", value)
            value = _EMAIL.sub("[redacted:email]", value)
        for pattern in self.custom:
            value = pattern.sub("[redacted:custom]", value)
        if self.numbers:
            value = _NUMBER.sub(lambda m: redact_phone(m.group(0)), value)
        return value

    def event(self, ev: dict[str, Any]) -> dict[str, Any]:
        """The event with its data redacted (a copy where anything changed)."""
        if not self.active or not isinstance(ev.get("data"), dict):
            return ev
        data = dict(ev["data"])
        if self.numbers:
            for key in _NUMBER_FIELDS:
                if isinstance(data.get(key), str) and data[key]:
                    data[key] = redact_phone(data[key])
        _TEXTS.get(ev.get("type", ""), _nothing)(self, data)
        return {**ev, "data": data}


def _nothing(_: Redactor, __: dict[str, Any]) -> None:
    return None


def _line(r: Redactor, data: dict[str, Any]) -> None:
    if isinstance(data.get("text"), str):
        data["text"] = r.text(data["text"])


def _turn(r: Redactor, turn: Any) -> Any:
    if not isinstance(turn, dict):
        return turn
    out = dict(turn)
    for key in ("user_text", "agent_text"):
        if isinstance(out.get(key), str):
            out[key] = r.text(out[key])
    return out


def _turn_complete(r: Redactor, data: dict[str, Any]) -> None:
    data["turn"] = _turn(r, data.get("turn"))


def _call_end(r: Redactor, data: dict[str, Any]) -> None:
    if isinstance(data.get("transcript"), list):
        data["transcript"] = [
            {**line, "text": r.text(line["text"])}
            if isinstance(line, dict) and isinstance(line.get("text"), str)
            else line
            for line in data["transcript"]
        ]
    metrics = data.get("metrics")
    if isinstance(metrics, dict) and isinstance(metrics.get("turns"), list):
        data["metrics"] = {**metrics, "turns": [_turn(r, t) for t in metrics["turns"]]}


def _strings(r: Redactor, value: Any) -> Any:
    """Every string inside a JSON value redacted (ingest bounds the nesting depth)."""
    if isinstance(value, str):
        return r.text(value)
    if isinstance(value, dict):
        return {key: _strings(r, v) for key, v in value.items()}
    if isinstance(value, list):
        return [_strings(r, v) for v in value]
    return value


def _call_event(r: Redactor, data: dict[str, Any]) -> None:
    # tool calls carry what the caller said (arguments) and what the agent looked up (results)
    if isinstance(data.get("detail"), dict):
        data["detail"] = _strings(r, data["detail"])


_TEXTS: dict[str, Callable[[Redactor, dict[str, Any]], None]] = {
    "transcript_line": _line,
    "turn_complete": _turn_complete,
    "call_end": _call_end,
    "call_event": _call_event,
}
