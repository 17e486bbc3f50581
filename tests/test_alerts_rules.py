"""Alert rules: parsing and validation (errors name file, rule and field), and the pure evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from patterdash.core.events import LoggedEvent
from patterdash.ops.evaluate import AlertState, restore, step, transition_event
from patterdash.ops.rules import Rule, RulesError, load_rules, parse_duration
from patterdash.ops.window import CallTracker, Window, measure
from tests.factories import latency, metrics

GOOD = """
[[rule]]
name = "slow-turns"
metric = "p95(turn_latency_ms)"
op = ">"
threshold = 1500
window = "5m"
for = "1m"
keep_firing_for = "2m"
min_samples = 20
filter = { direction = "inbound" }
notify = ["ops"]

[[rule]]
name = "dead-man"
metric = "calls"
op = "<"
threshold = 1
window = "30m"

[target.ops]
url = "http://127.0.0.1:9/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    return path


def test_a_good_file_loads_with_durations_in_seconds(tmp_path: Path) -> None:
    ruleset = load_rules(_write(tmp_path, GOOD))
    slow = ruleset.rules["slow-turns"]
    assert (slow.window, slow.for_, slow.keep_firing_for, slow.min_samples) == (300.0, 60.0, 120.0, 20)
    assert ruleset.rules["dead-man"].window == 1800.0
    assert ruleset.targets["ops"].signing_key() == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert "whsec" not in repr(ruleset.targets["ops"])  # secrets stay out of reprs and logs
    assert ruleset.max_window() == 1800.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[rule]]\nname = "a"\nmetric = "p97(turn_latency_ms)"\nop = ">"\nthreshold = 1', "rule 'a', field 'metric'"),
        ('[[rule]]\nname = "a"\nmetric = "calls"\nop = "=="\nthreshold = 1', "rule 'a', field 'op'"),
        ('[[rule]]\nname = "a"\nmetric = "calls"\nop = "<"\nthreshold = 1\nwindow = "5 weeks"', "field 'window'"),
        ('[[rule]]\nname = "a"\nmetric = "calls"\nop = "<"\nthreshold = 1\nmin_samples = 3', "min_samples does not"),
        ('[[rule]]\nname = "a"\nmetric = "calls"\nop = "<"\nthreshold = 1\nnotify = ["no"]', "unknown target(s) no"),
        ('[[rule]]\nname = "a"\nmetric = "calls"\nop = "<"\nthreshold = 1\nfilter = {agent = "x"}', "unknown filter"),
        ('[[rule]]\nmetric = "calls"\nop = "<"\nthreshold = 1', "rule #1, field 'name'"),
        ('[target.t]\nurl = "ftp://x"', "target 't', field 'url'"),
        ('[target.t]\nurl = "http://x"\nsecret_env = "PATTERDASH_TEST_UNSET_SECRET"', "is not set"),
        ("[[rule]\n", "not valid TOML"),
        ("[rules]\nx = 1", "unknown top-level key(s) rules"),
    ],
)
def test_a_bad_file_names_file_rule_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert expected in message, message
    assert "\n" not in message


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no such alerts file"):
        load_rules(tmp_path / "absent.toml")


@pytest.mark.parametrize(("text", "seconds"), [("250ms", 0.25), ("90s", 90), ("5m", 300), ("2h", 7200), (3, 3)])
def test_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds


def _rule(**overrides: Any) -> Rule:
    values: dict[str, Any] = {"name": "r", "metric": "p95(turn_latency_ms)", "op": ">", "threshold": 1000}
    return Rule.model_validate({**values, **overrides})


def _walk(rule: Rule, points: list[tuple[float, float | None, int]]) -> list[tuple[str, str | None]]:
    state, out = AlertState(), []
    for now, value, n in points:
        state, transition = step(rule, state, value, n, now)
        out.append((state.phase, transition))
    return out


def test_for_holds_the_alert_pending_until_the_condition_lasted_long_enough() -> None:
    rule = _rule(**{"for": "30s"})
    phases = _walk(rule, [(0, 2000, 5), (10, 2000, 5), (29, 2000, 5), (30, 2000, 5), (31, 2000, 5)])
    assert phases == [("pending", None), ("pending", None), ("pending", None), ("firing", "fired"), ("firing", None)]


def test_a_dip_during_for_starts_it_again() -> None:
    rule = _rule(**{"for": "30s"})
    phases = _walk(rule, [(0, 2000, 5), (20, 500, 5), (40, 2000, 5), (69, 2000, 5), (70, 2000, 5)])
    assert [t for _, t in phases] == [None, None, None, None, "fired"]


def test_keep_firing_for_rides_out_a_short_recovery() -> None:
    rule = _rule(keep_firing_for="60s")
    phases = _walk(rule, [(0, 2000, 5), (10, 500, 5), (50, 2000, 5), (100, 500, 5), (109, 500, 5), (110, 500, 5)])
    assert [t for _, t in phases] == ["fired", None, None, None, None, "resolved"]


def test_min_samples_keeps_three_slow_calls_from_alerting() -> None:
    rule = _rule(min_samples=20)
    assert _walk(rule, [(0, 9000, 3), (1, 9000, 19), (2, 9000, 20)])[-1] == ("firing", "fired")
    assert _walk(rule, [(0, 9000, 3)]) == [("inactive", None)]


def test_no_data_never_fires() -> None:
    assert _walk(_rule(op="<", threshold=5), [(0, None, 0)]) == [("inactive", None)]


def _ev(seq: int, type_: str, call_id: str, data: dict[str, Any], ts: float) -> LoggedEvent:
    return LoggedEvent(seq, f"e{seq}", type_, call_id, ts, data)


def _window(events: list[LoggedEvent], span: float = 600) -> Window:
    tracker, window = CallTracker(), Window(span)
    for ev in events:
        window.add(tracker.samples(ev))
    return window


def test_latency_percentile_over_turns_in_the_window_and_filter() -> None:
    events = [_ev(1, "call_start", "in", {"direction": "inbound"}, 100), _ev(2, "call_start", "out", {}, 100)]
    slow = [{"turn": {"latency": latency(100.0 * i)}} for i in range(1, 21)]
    events += [_ev(10 + i, "turn_complete", "in", data, 100 + i) for i, data in enumerate(slow, start=1)]
    events += [_ev(40, "turn_complete", "out", {"turn": {"latency": latency(99_999.0)}}, 110)]
    window = _window(events)
    assert measure(_rule(filter={"direction": "inbound"}), window, 130) == (1900.0, 20)
    assert measure(_rule(metric="p50(turn_latency_ms)", filter={"direction": "inbound"}), window, 130) == (1000.0, 20)
    assert measure(_rule(window="15s", filter={"direction": "inbound"}), window, 130) == (2000.0, 6)  # ts >= 115


def test_failure_rate_counts_each_ended_call_once_with_its_explicit_status() -> None:
    events = [
        _ev(1, "call_start", "a", {}, 100),
        _ev(2, "call_status", "a", {"status": "busy"}, 101),
        _ev(3, "call_end", "a", {"metrics": metrics("a")}, 102),  # the busy status survives call_end
        _ev(4, "call_end", "b", {"metrics": metrics("b")}, 103),  # a call sent whole
        _ev(5, "call_start", "c", {}, 100),
        _ev(6, "call_status", "c", {"status": "lost"}, 104),
        _ev(7, "call_end", "d", {"status": "no-answer", "metrics": metrics("d")}, 105),
    ]
    window = _window(events)
    assert measure(_rule(metric="failure_rate", op=">", threshold=0.5), window, 110) == (0.75, 4)
    assert measure(_rule(metric="calls", op="<", threshold=1), window, 110) == (4.0, 4)
    value, n = measure(_rule(metric="cost_per_hour", window="10m"), window, 110)
    assert n == 3 and value == pytest.approx(0.15 * 6)  # three call_ends of $0.05 in 10 min
    assert measure(_rule(metric="calls", op="<", threshold=1, window="1m"), window, 1000) == (0.0, 0)


def test_a_call_sent_whole_brings_its_turns_once() -> None:
    window = _window([_ev(1, "call_end", "w", {"metrics": metrics("w", turns=3)}, 100)])
    assert measure(_rule(metric="p99(turn_latency_ms)"), window, 100) == (800.0, 3)
    live = _window(
        [
            _ev(1, "turn_complete", "l", {"turn": {"latency": latency(700.0)}}, 99),
            _ev(2, "call_end", "l", {"metrics": metrics("l", turns=3)}, 100),
        ]
    )
    assert measure(_rule(), live, 100)[1] == 1  # turns already seen live are not counted again


def test_active_calls_filters_the_live_calls() -> None:
    rule = _rule(metric="active_calls", op=">", threshold=1, filter={"direction": ["inbound", "outbound"]})
    active = [{"direction": "inbound"}, {"direction": "outbound"}, {}]
    assert measure(rule, Window(0), 0, active=active) == (2.0, 2)


def test_transition_ids_follow_the_log_and_restore_reads_the_newest_alert_event() -> None:
    rule = _rule()
    state, _ = step(rule, AlertState(last_seq=41), 2000.0, 9, 100.0)
    fired = transition_event(rule, state, "fired", now=100.0)
    assert fired["id"] == "alert:r:fired:after:41"
    assert (fired["type"], fired["call_id"], fired["data"]["value"]) == ("alert_fired", "alert:r", 2000.0)
    logged = _ev(42, "alert_fired", "alert:r", fired["data"], 100.0)
    restored = restore([logged], now=500.0)
    assert (restored.phase, restored.fired_seq, restored.last_true) == ("firing", 42, 500.0)
    resolved = _ev(43, "alert_resolved", "alert:r", {"rule": "r"}, 600.0)
    assert restore([logged, resolved], now=700.0) == AlertState(last_seq=43)


def test_client_event_types_are_exactly_what_event_in_accepts() -> None:
    from typing import get_args

    from patterdash.core.events import CLIENT_EVENT_TYPES, EVENT_TYPES, SERVER_EVENT_TYPES, EventIn

    assert set(get_args(EventIn.model_fields["type"].annotation)) == set(CLIENT_EVENT_TYPES)
    assert set(CLIENT_EVENT_TYPES) | SERVER_EVENT_TYPES == set(EVENT_TYPES)
