"""Alert rules from a TOML file: parsed and validated with errors that name file, rule and field."""

from __future__ import annotations

import hashlib
import math
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError, model_validator

__all__ = [
    "FAILED_STATUSES",
    "FILTER_KEYS",
    "METRICS",
    "Rule",
    "RuleSet",
    "RulesError",
    "Target",
    "load_rules",
    "parse_duration",
]

# The metrics a rule can watch; pNN(turn_latency_ms) are the percentiles of turn latency.
METRICS = (
    "p50(turn_latency_ms)",
    "p90(turn_latency_ms)",
    "p95(turn_latency_ms)",
    "p99(turn_latency_ms)",
    "failure_rate",
    "cost_per_hour",
    "active_calls",
    "calls",
)
# Ended calls that count as failures in failure_rate (over all ended calls).
FAILED_STATUSES = frozenset({"failed", "no-answer", "busy", "lost"})
# What a filter can match: the call's identity, and its providers once its call_end told them.
FILTER_KEYS = frozenset(
    {
        "direction",
        "caller",
        "callee",
        "provider_mode",
        "stt_provider",
        "tts_provider",
        "llm_provider",
        "telephony_provider",
        "stt_model",
        "tts_model",
        "llm_model",
    }
)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as ``"90s"``, ``"5m"``, ``"2h"``, ``"250ms"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 2h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError("expected a duration such as 30s, 5m or 2h")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("a duration must be a finite number of seconds >= 0")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Target(BaseModel):
    """Where notifications go: a Standard Webhooks endpoint, or a Slack-compatible incoming webhook."""

    model_config = _STRICT
    name: str = ""
    url: Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2000)]
    format: Literal["standard", "slack"] = "standard"
    secret: SecretStr | None = None  # whsec_<base64>, or any string (its UTF-8 bytes are the key)
    secret_env: str | None = None  # read the secret from this environment variable instead
    timeout: Duration = 10.0
    max_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    backoff: Duration = 1.0  # first retry delay; doubles each attempt
    max_backoff: Duration = 300.0
    max_retry_after: Duration = 3600.0  # a Retry-After longer than this is cut to it

    @model_validator(mode="after")
    def _one_secret(self) -> Target:
        if self.secret is not None and self.secret_env:
            raise ValueError("give secret or secret_env, not both")
        if self.secret_env and not os.environ.get(self.secret_env):
            raise ValueError(f"environment variable {self.secret_env} is not set")
        return self

    @property
    def ref(self) -> str:
        """A short digest of the URL: names the endpoint in logs without revealing it (Slack URLs are secrets)."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]

    def signing_key(self) -> str | None:
        """The secret used to sign deliveries, if any."""
        if self.secret_env:
            return os.environ.get(self.secret_env)
        return self.secret.get_secret_value() if self.secret else None


class Rule(BaseModel):
    """A metric over a sliding window compared to a threshold, with for/keep_firing_for/min_samples."""

    model_config = _STRICT
    name: Annotated[str, Field(pattern=_NAME)]
    metric: Literal[METRICS]  # type: ignore[valid-type]
    op: Literal[">", ">=", "<", "<="]
    threshold: Annotated[float, Field(allow_inf_nan=False)]
    window: Duration = 300.0
    for_: Annotated[Duration, Field(alias="for")] = 0.0
    keep_firing_for: Duration = 0.0
    min_samples: Annotated[int, Field(ge=1)] | None = None
    filter: dict[str, str | list[str]] = Field(default_factory=dict)
    notify: list[str] = Field(default_factory=list)
    severity: str = "warning"
    description: str = ""

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        unknown = sorted(set(self.filter) - FILTER_KEYS)
        if unknown:
            raise ValueError(f"unknown filter key(s) {', '.join(unknown)}; known: {', '.join(sorted(FILTER_KEYS))}")
        if self.min_samples is not None and self.metric in ("calls", "active_calls"):
            raise ValueError(f"min_samples does not apply to {self.metric} (its value is a count)")
        if self.window <= 0 and self.metric != "active_calls":
            raise ValueError("window must be longer than 0 s")
        return self

    def matches(self, attrs: dict[str, str]) -> bool:
        """Whether a call with these attributes passes the rule's filter."""
        for key, wanted in self.filter.items():
            have = attrs.get(key, "")
            if have != wanted if isinstance(wanted, str) else have not in wanted:
                return False
        return True

    def describe(self) -> str:
        """``p95(turn_latency_ms) > 1500 over 5m``."""
        return f"{self.metric} {self.op} {self.threshold:g} over {_human(self.window)}"


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class RuleSet:
    """Every rule and target of one alerts file."""

    path: Path
    rules: dict[str, Rule]
    targets: dict[str, Target]

    def max_window(self) -> float:
        """The longest look-back any rule needs (window plus its ``for``)."""
        return max((r.window + r.for_ for r in self.rules.values()), default=0.0)


class RulesError(ValueError):
    """The alerts file cannot be used; the message names file, rule and field of each problem."""


def _loc(prefix: str, err: Any) -> str:
    parts = [str(p) for p in err["loc"]]
    field = ".".join(parts) if parts else ""
    where = f"{prefix}, field {field!r}" if field else prefix
    return f"{where}: {err['msg']}"


def _parse(path: Path, raw: dict[str, Any]) -> tuple[RuleSet, list[str]]:
    problems: list[str] = []
    extra = sorted(set(raw) - {"rule", "target"})
    if extra:
        problems.append(f"unknown top-level key(s) {', '.join(extra)} (expected [[rule]] and [target.NAME])")
    targets: dict[str, Target] = {}
    raw_targets = raw.get("target", {})
    if not isinstance(raw_targets, dict):
        problems.append("target must be a table of [target.NAME] tables")
        raw_targets = {}
    for name, body in raw_targets.items():
        try:
            targets[name] = Target.model_validate({**body, "name": name} if isinstance(body, dict) else body)
        except ValidationError as e:
            problems += [_loc(f"target {name!r}", err) for err in e.errors(include_url=False, include_input=False)]
    rules: dict[str, Rule] = {}
    raw_rules = raw.get("rule", [])
    if not isinstance(raw_rules, list):
        problems.append("rule must be an array of [[rule]] tables")
        raw_rules = []
    for i, body in enumerate(raw_rules, start=1):
        label = f"rule {body.get('name')!r}" if isinstance(body, dict) and body.get("name") else f"rule #{i}"
        try:
            rule = Rule.model_validate(body)
        except ValidationError as e:
            problems += [_loc(label, err) for err in e.errors(include_url=False, include_input=False)]
            continue
        if rule.name in rules:
            problems.append(f"{label}: a rule of that name is already defined")
        missing = [t for t in rule.notify if t not in targets and t not in raw_targets]
        if missing:
            problems.append(f"{label}, field 'notify': unknown target(s) {', '.join(missing)}")
        rules[rule.name] = rule
    return RuleSet(path=path, rules=rules, targets=targets), problems


def load_rules(path: Path) -> RuleSet:
    """Read and validate an alerts file; RulesError lists every problem, one per line."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise RulesError(f"{path}: no such alerts file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise RulesError(f"{path}: cannot read: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise RulesError(f"{path}: not valid TOML: {e}") from e
    ruleset, problems = _parse(path, raw)
    if problems:
        raise RulesError("; ".join(f"{path}: {p}" for p in problems))
    return ruleset
