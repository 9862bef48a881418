"""Job actions without I/O: parsing and its errors, webhook targets, templates, rule decisions
and the per-device tally of an execution (design §2.9)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from batchscore.domain.actions import (
    Comparison,
    Rule,
    WebhookPolicy,
    check_against_model,
    keep_secrets,
    parse_actions,
    parse_write_back,
    render_template,
    rules_from_stored,
    template_problem,
)
from batchscore.errors import field_of
from batchscore.execution.effects import EffectTally, matching
from batchscore.service.actions_delivery import retry_delay, sign

RULE: dict[str, Any] = {
    "name": "vibration-alarm",
    "when": {"output": "outlier", "equals": True, "atLeast": 3},
    "raise": [
        {"alarm": {"type": "bs_Anomaly", "severity": "MAJOR", "text": "{count} of {deviceName}"}},
        {"webhook": {"url": "https://ops.example/hook", "secret": "k"}},
    ],
    "clearWhenNormal": True,
}


def parse(value: Any, policy: WebhookPolicy | None = None) -> tuple[tuple[Rule, ...], list[str]]:
    errors: list[str] = []
    return parse_actions(value, errors, policy or WebhookPolicy()), errors


def test_a_rule_parses_and_echoes_without_its_secret() -> None:
    (rule,), errors = parse([RULE])
    assert errors == []
    assert (rule.output, rule.test, rule.value, rule.at_least) == (
        "outlier",
        Comparison.EQUALS,
        True,
        3,
    )
    assert rule.public()["raise"][1] == {"webhook": {"url": "https://ops.example/hook"}}
    assert rule.stored()["raise"][1]["webhook"]["secret"] == "k"
    assert rules_from_stored([rule.stored()]) == (rule,)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"when": {"output": "x", "equals": True, "lessThan": 1}}, "exactly one of"),
        ({"when": {"output": "x", "greaterThan": "1"}}, "greaterThan must be a number"),
        ({"when": {"output": "x", "equals": 1, "atLeastShare": 2}}, "from 0 to 1"),
        ({"when": {"output": "x", "equals": 1, "atLeast": 0}}, "positive integer"),
        ({"raise": []}, "array of 1 to"),
        ({"raise": [{"sms": {}}]}, "one of {alarm}"),
        ({"raise": [{"alarm": {"type": "t", "text": "{nope}"}}]}, "unknown template field"),
        ({"raise": [{"alarm": {"type": "t", "text": "{count:>5}"}}]}, "takes no format"),
        ({"raise": [{"alarm": {"type": "t", "severity": "HUGE"}}]}, "severity must be"),
        ({"raise": [{"webhook": {"url": "ftp://x/"}}]}, "http or https"),
        ({"raise": [{"webhook": {"url": "http://127.0.0.1:9/"}}]}, "private network"),
        ({"raise": [{"webhook": {"url": "http://localhost/"}}]}, "loopback"),
        ({"raise": [{"webhook": {"url": "http://192.168.1.5/"}}]}, "private network"),
        ({"raise": [{"webhook": {"url": "http://[::1]/"}}]}, "private network"),
        ({"raise": [{"webhook": {"url": "https://u:p@ops.example/"}}]}, "credentials"),
        ({"clearWhenNormal": "yes"}, "true or false"),
    ],
)
def test_each_problem_is_named_on_the_actions_field(change: dict[str, Any], needle: str) -> None:
    _, errors = parse([{**RULE, **change}])
    assert any(needle in e for e in errors), errors
    assert {field_of(e)[0] for e in errors} == {"actions"}


def test_allowed_hosts_open_private_targets() -> None:
    policy = WebhookPolicy.from_text("127.0.0.1, hooks.internal:8080")
    assert policy.refusal("http://127.0.0.1:9999/x") is None
    assert policy.refusal("http://hooks.internal:8080/x") is None
    assert policy.refusal("http://10.0.0.1/x") is not None


def test_repeated_rule_names_and_non_arrays_are_refused() -> None:
    _, errors = parse([RULE, RULE])
    assert any("repeats" in e for e in errors)
    _, errors = parse({"name": "x"})
    assert errors == ["actions must be an array of rules."]


def test_write_back_form_and_model_checks() -> None:
    errors: list[str] = []
    write_back = parse_write_back({"fragment": "bs_A", "outputs": {"score": "s"}}, errors)
    assert errors == []
    assert write_back is not None
    assert write_back.public() == {"fragment": "bs_A", "outputs": {"score": "s"}}
    assert parse_write_back({"fragment": "a.b", "outputs": {"x y": "s"}}, errors) is None
    assert len(errors) == 2
    (rule,), _ = parse([RULE])
    found = check_against_model([rule], write_back, {"outlier": "double", "s": "string"}, ["bs_A"])
    assert any("wrong type" in e for e in found)  # equals true on a double
    assert any("not numeric" in e for e in found)
    assert any("never reads its own write-back" in e for e in found)
    assert check_against_model([rule], None, {"outlier": "boolean"}, []) == []


def test_templates() -> None:
    assert template_problem("{count} of {deviceName} in {jobName}") is None
    assert template_problem("{") is not None
    assert render_template("{count} at {firstTime}", {"count": 3}) == "3 at "
    assert render_template("{{literal}} {share}", {"share": 0.5}) == "{literal} 0.5"


def test_rule_decisions() -> None:
    rule = Rule("r", "score", Comparison.GREATER_THAN, 0.5, at_least=2)
    column = np.array([0.1, 0.6, np.nan, 0.9])
    assert matching(rule, column).tolist() == [False, True, False, True]
    assert rule.met(2, 4)
    assert not rule.met(1, 4)
    share = Rule("r", "score", Comparison.LESS_THAN, 0.5, at_least_share=0.5)
    assert share.met(2, 4)
    assert not share.met(1, 4)
    assert not share.met(0, 0)
    flag = Rule("r", "outlier", Comparison.EQUALS, True)
    objects = np.array([True, None, False, "true"], dtype=object)
    assert matching(flag, objects).tolist() == [True, False, False, True]


def test_tally_raises_for_abnormal_devices_and_clears_normal_ones() -> None:
    (rule,), _ = parse([RULE])
    write_back = parse_write_back({"fragment": "bs_A", "outputs": {"flag": "outlier"}}, [])
    tally = EffectTally((rule,), write_back)
    times = np.array([1, 2, 3, 4], dtype=np.int64) * 10**9
    tally.add(7, times, {"outlier": np.array([True, True, False, True])})
    tally.add(8, times, {"outlier": np.array([False, False, False, True])})
    effects = tally.effects(job_id=1, job_name="j", number=2, window_from=None, window_to=None)
    kinds = [(e.device, e.kind) for e in effects]
    assert kinds == [
        (7, "alarm"), (7, "webhook"), (7, "measurements"), (8, "clear"), (8, "measurements")
    ]  # fmt: skip
    alarm = effects[0].payload
    assert alarm["fields"]["count"] == 3
    assert alarm["fields"]["firstTime"] == "1970-01-01T00:00:01.000Z"
    assert alarm["fields"]["lastTime"] == "1970-01-01T00:00:04.000Z"
    assert effects[1].payload["secret"] == "k"
    assert effects[2].payload == {
        "fragment": "bs_A",
        "outputs": [["flag", "outlier"]],
        "rows": [0, 4],
    }
    assert effects[4].payload["rows"] == [4, 8]


def test_signature_and_backoff() -> None:
    # the HMAC-SHA256 of "{}" with key "k", as any HMAC library computes it
    digest = "add853b103fbcc936a194f9eb15e29c4ff08af6e47d5d1bca4f20218e31e4fff"
    assert sign("k", b"{}") == f"sha256={digest}"
    assert [retry_delay(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert retry_delay(30) == 3600.0


def test_a_replaced_job_keeps_the_secrets_it_was_not_sent() -> None:
    (before,), _ = parse([RULE])
    echoed = before.public()  # what GET shows: no secret
    (after,), _ = parse([echoed])
    assert after.targets[1].secret == ""
    (kept,) = keep_secrets((after,), (before,))
    assert kept.targets[1].secret == "k"
    moved = {**echoed, "raise": [{"webhook": {"url": "https://other.example/"}}]}
    (elsewhere,), _ = parse([moved])
    assert keep_secrets((elsewhere,), (before,))[0].targets[0].secret == ""
