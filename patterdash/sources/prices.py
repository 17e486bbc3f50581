"""A price table for cost where the agent reports usage but no money: OTLP and LiveKit calls.

The table is a JSON file (``PATTERDASH_PRICE_TABLE``), keyed by ``provider/model`` or by
``provider`` alone (any model)::

    {"llm": {"openai/gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.6}},
     "stt": {"deepgram": {"per_minute": 0.0043}},
     "tts": {"cartesia/sonic-2": {"per_million_characters": 30.0}}}

No table, or no line for a provider/model, means the cost stays unknown (absent), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = ["PriceTable", "TurnUsage", "load_prices"]

_UNITS = {
    "llm": ("input_per_million", "output_per_million", "cached_input_per_million"),
    "stt": ("per_minute",),
    "tts": ("per_million_characters",),
}


@dataclass(frozen=True)
class TurnUsage:
    """What one turn used, as the spans tell it."""

    stt: tuple[str, str] = ("", "")  # (provider, model)
    llm: tuple[str, str] = ("", "")
    tts: tuple[str, str] = ("", "")
    stt_seconds: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    tts_characters: int = 0


@dataclass(frozen=True)
class PriceTable:
    """USD prices per unit for each (kind, provider/model)."""

    lines: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def _line(self, kind: str, provider: str, model: str) -> dict[str, float] | None:
        table = self.lines.get(kind, {})
        provider, model = provider.lower(), model.lower()
        if not provider:
            return None
        return table.get(f"{provider}/{model}") or table.get(provider)

    def cost(self, usage: TurnUsage) -> dict[str, float] | None:
        """``{stt, llm, tts, total}`` in USD for a turn, or None when no line of the table applies."""
        out: dict[str, float] = {}
        if (line := self._line("stt", *usage.stt)) is not None:
            out["stt"] = usage.stt_seconds / 60 * line.get("per_minute", 0.0)
        if (line := self._line("llm", *usage.llm)) is not None:
            fresh = max(0, usage.input_tokens - usage.cached_tokens)
            cached_price = line.get("cached_input_per_million", line.get("input_per_million", 0.0))
            out["llm"] = (
                fresh * line.get("input_per_million", 0.0)
                + usage.cached_tokens * cached_price
                + usage.output_tokens * line.get("output_per_million", 0.0)
            ) / 1e6
        if (line := self._line("tts", *usage.tts)) is not None:
            out["tts"] = usage.tts_characters * line.get("per_million_characters", 0.0) / 1e6
        if not out:
            return None
        cost = {key: round(out.get(key, 0.0), 9) for key in ("stt", "llm", "tts")}
        cost["total"] = round(sum(cost.values()), 9)
        return cost


def _validated(doc: Any) -> dict[str, dict[str, dict[str, float]]]:
    if not isinstance(doc, dict):
        raise ValueError("a price table is a JSON object with llm / stt / tts sections")
    lines: dict[str, dict[str, dict[str, float]]] = {}
    for kind, section in doc.items():
        if kind not in _UNITS or not isinstance(section, dict):
            raise ValueError(f"unknown price section {kind!r}: use llm, stt or tts")
        lines[kind] = {}
        for key, prices in section.items():
            if not isinstance(prices, dict) or not all(
                unit in _UNITS[kind] and isinstance(v, int | float) and v >= 0 for unit, v in prices.items()
            ):
                raise ValueError(f"{kind}.{key}: prices are non-negative numbers in {', '.join(_UNITS[kind])}")
            lines[kind][key.lower()] = {unit: float(v) for unit, v in prices.items()}
    return lines


def load_prices(path: Path | None) -> PriceTable:
    """The table in ``path`` (empty when None); ValueError with a one-line reason when it is malformed."""
    if path is None:
        return PriceTable()
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as e:
        raise ValueError(f"cannot read price table {path}: {e.strerror}") from e
    except orjson.JSONDecodeError as e:
        raise ValueError(f"price table {path} is not JSON: {e}") from e
    return PriceTable(_validated(doc))
