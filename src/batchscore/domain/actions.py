"""Job actions and write-back (design §2.9): their validated form, how a rule is decided for one
device, and how alarm, event and webhook texts are rendered. Pure: no I/O.

A job's ``actions`` and ``writeBack`` fields are parsed here into frozen values; the stored form
keeps webhook secrets (they sign deliveries), the echoed form never shows them.
"""

from __future__ import annotations

import enum
import ipaddress
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from batchscore.domain.alarms import Severity
from batchscore.errors import FieldMessage

ACTIONS = "actions"
WRITE_BACK = "writeBack"
MAX_RULES = 50
MAX_TARGETS = 10
MAX_TEXT = 1000
MAX_TYPE = 255
MAX_URL = 2048
MAX_SECRET = 512
TEMPLATE_FIELDS = (
    "count",
    "share",
    "deviceId",
    "deviceName",
    "jobId",
    "jobName",
    "jobExecutionNumber",
    "windowFrom",
    "windowTo",
    "firstTime",
    "lastTime",
)
NUMERIC_TYPES = frozenset({"double", "float", "integer", "DOUBLE", "FLOAT", "INTEGER"})


class Comparison(enum.StrEnum):
    """How a rule compares one output value."""

    EQUALS = "equals"
    GREATER_THAN = "greaterThan"
    LESS_THAN = "lessThan"


class TargetKind(enum.StrEnum):
    ALARM = "alarm"
    EVENT = "event"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class Target:
    """One effect of a rule: an alarm, an event or a webhook call."""

    kind: TargetKind
    type: str = ""  # alarm and event
    text: str = ""  # alarm and event (a template)
    severity: Severity = Severity.MAJOR  # alarm
    url: str = ""  # webhook
    secret: str = ""  # webhook; write-only

    def public(self) -> dict[str, Any]:
        """The target as echoed to clients (without the webhook secret)."""
        if self.kind is TargetKind.WEBHOOK:
            return {"webhook": {"url": self.url}}
        body: dict[str, Any] = {"type": self.type, "text": self.text}
        if self.kind is TargetKind.ALARM:
            body["severity"] = self.severity.value
        return {self.kind.value: body}

    def stored(self) -> dict[str, Any]:
        """The target as stored (the public form plus the webhook secret)."""
        out = self.public()
        if self.kind is TargetKind.WEBHOOK and self.secret:
            out["webhook"]["secret"] = self.secret
        return out


@dataclass(frozen=True, slots=True)
class Rule:
    """One named rule: a test on one output, how many records must meet it, and its effects."""

    name: str
    output: str
    test: Comparison
    value: bool | int | float | str
    at_least: int = 1
    at_least_share: float | None = None
    targets: tuple[Target, ...] = ()
    clear_when_normal: bool = False

    def public(self) -> dict[str, Any]:
        when: dict[str, Any] = {"output": self.output, self.test.value: self.value}
        if self.at_least_share is not None:
            when["atLeastShare"] = self.at_least_share
        else:
            when["atLeast"] = self.at_least
        return {
            "name": self.name,
            "when": when,
            "raise": [t.public() for t in self.targets],
            "clearWhenNormal": self.clear_when_normal,
        }

    def stored(self) -> dict[str, Any]:
        out = self.public()
        out["raise"] = [t.stored() for t in self.targets]
        return out

    def matches(self, value: Any) -> bool:
        """Whether one output value meets the test (a missing value never does)."""
        if value is None:
            return False
        if self.test is Comparison.EQUALS:
            if isinstance(self.value, bool) or isinstance(value, bool):
                return _as_bool(value) is self.value if isinstance(self.value, bool) else False
            return bool(value == self.value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if value != value:  # NaN
            return False
        assert isinstance(self.value, int | float)
        return value > self.value if self.test is Comparison.GREATER_THAN else value < self.value

    def met(self, count: int, total: int) -> bool:
        """Whether ``count`` of a device's ``total`` records meeting the test fire the rule."""
        if total <= 0:
            return False
        if self.at_least_share is not None:
            return count > 0 and count / total >= self.at_least_share
        return count >= self.at_least


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


@dataclass(frozen=True, slots=True)
class WriteBack:
    """Outputs stored as measurements of each device: series name -> model output."""

    fragment: str
    outputs: tuple[tuple[str, str], ...]  # (series, output)

    def public(self) -> dict[str, Any]:
        return {"fragment": self.fragment, "outputs": dict(self.outputs)}


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Which webhook hosts are allowed although they are loopback or private."""

    allowed_hosts: frozenset[str] = frozenset()
    allow_all: bool = False  # for stored jobs, checked when they were created

    @classmethod
    def from_text(cls, text: str) -> WebhookPolicy:
        return cls(frozenset(h.strip().lower() for h in text.split(",") if h.strip()))

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be called, or None when it may."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            port = parts.port
        except ValueError:
            return "is not a valid URL"
        if parts.scheme not in ("http", "https") or not host:
            return "must be an http or https URL with a host"
        if parts.username or parts.password:
            return "must not carry credentials"
        named = {host, f"{host}:{port}"} if port else {host}
        if self.allow_all or named & self.allowed_hosts:
            return None
        if host == "localhost" or host.endswith(".localhost"):
            return "points to loopback; allow it with BATCHSCORE_WEBHOOK_ALLOWED_HOSTS"
        if not is_public_address(host):
            return (
                "points to a loopback or private network; allow it with "
                "BATCHSCORE_WEBHOOK_ALLOWED_HOSTS"
            )
        return None


def is_public_address(host: str) -> bool:
    """False for a literal loopback, private, link-local or otherwise reserved address; True
    for a public one and for any name (names are checked again when they are resolved)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True
    return address.is_global and not address.is_multicast


def parse_actions(value: Any, errors: list[str], policy: WebhookPolicy) -> tuple[Rule, ...]:
    """The ``actions`` field (absent: none); problems go to ``errors``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.append(FieldMessage(ACTIONS, "actions must be an array of rules."))
        return ()
    if len(value) > MAX_RULES:
        errors.append(FieldMessage(ACTIONS, f"actions must have at most {MAX_RULES} rules."))
        return ()
    rules: list[Rule] = []
    names: set[str] = set()
    for index, item in enumerate(value):
        rule = _rule(item, f"actions[{index}]", errors, policy)
        if rule is None:
            continue
        if rule.name in names:
            errors.append(FieldMessage(ACTIONS, f"actions: the rule name '{rule.name}' repeats."))
            continue
        names.add(rule.name)
        rules.append(rule)
    return tuple(rules)


def _rule(item: Any, where: str, errors: list[str], policy: WebhookPolicy) -> Rule | None:
    if not isinstance(item, dict):
        errors.append(FieldMessage(ACTIONS, f"{where} must be an object."))
        return None
    before = len(errors)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TYPE:
        errors.append(FieldMessage(ACTIONS, f"{where}.name must be a non-empty string."))
    when = item.get("when")
    parsed_when = _when(when, f"{where}.when", errors)
    raw_targets = item.get("raise")
    targets: list[Target] = []
    if not isinstance(raw_targets, list) or not raw_targets or len(raw_targets) > MAX_TARGETS:
        errors.append(
            FieldMessage(ACTIONS, f"{where}.raise must be an array of 1 to {MAX_TARGETS} effects.")
        )
    else:
        for t_index, raw in enumerate(raw_targets):
            target = _target(raw, f"{where}.raise[{t_index}]", errors, policy)
            if target is not None:
                targets.append(target)
    clear = item.get("clearWhenNormal", False)
    if not isinstance(clear, bool):
        errors.append(FieldMessage(ACTIONS, f"{where}.clearWhenNormal must be true or false."))
    if len(errors) > before or parsed_when is None or not isinstance(name, str):
        return None
    output, test, wanted, at_least, share = parsed_when
    return Rule(name, output, test, wanted, at_least, share, tuple(targets), bool(clear))


def _when(
    when: Any, where: str, errors: list[str]
) -> tuple[str, Comparison, bool | int | float | str, int, float | None] | None:
    if not isinstance(when, dict):
        errors.append(FieldMessage(ACTIONS, f"{where} must be an object."))
        return None
    output = when.get("output")
    if not isinstance(output, str) or not output:
        errors.append(FieldMessage(ACTIONS, f"{where}.output must name a model output."))
        return None
    tests = [t for t in Comparison if t.value in when]
    if len(tests) != 1:
        errors.append(
            FieldMessage(
                ACTIONS, f"{where} must have exactly one of equals, greaterThan, lessThan."
            )
        )
        return None
    test = tests[0]
    wanted = when[test.value]
    if test is Comparison.EQUALS:
        if not isinstance(wanted, bool | int | float | str) or wanted is None:
            errors.append(
                FieldMessage(ACTIONS, f"{where}.equals must be a boolean, number or string.")
            )
            return None
    elif isinstance(wanted, bool) or not isinstance(wanted, int | float):
        errors.append(FieldMessage(ACTIONS, f"{where}.{test.value} must be a number."))
        return None
    if "atLeast" in when and "atLeastShare" in when:
        errors.append(
            FieldMessage(ACTIONS, f"{where}: atLeast and atLeastShare exclude each other.")
        )
        return None
    at_least = when.get("atLeast", 1)
    if isinstance(at_least, bool) or not isinstance(at_least, int) or not 1 <= at_least < 2**31:
        errors.append(FieldMessage(ACTIONS, f"{where}.atLeast must be a positive integer."))
        return None
    share = when.get("atLeastShare")
    if share is not None and (
        isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1
    ):
        errors.append(FieldMessage(ACTIONS, f"{where}.atLeastShare must be a number from 0 to 1."))
        return None
    return output, test, wanted, at_least, None if share is None else float(share)


def _target(raw: Any, where: str, errors: list[str], policy: WebhookPolicy) -> Target | None:
    if not isinstance(raw, dict) or len(raw) != 1:
        errors.append(
            FieldMessage(ACTIONS, f"{where} must be one of {{alarm}}, {{event}}, {{webhook}}.")
        )
        return None
    (key, body), *_ = raw.items()
    if key not in ("alarm", "event", "webhook") or not isinstance(body, dict):
        errors.append(
            FieldMessage(ACTIONS, f"{where} must be one of {{alarm}}, {{event}}, {{webhook}}.")
        )
        return None
    kind = TargetKind(key)
    if kind is TargetKind.WEBHOOK:
        url, secret = body.get("url"), body.get("secret", "")
        if not isinstance(url, str) or len(url) > MAX_URL:
            errors.append(FieldMessage(ACTIONS, f"{where}.webhook.url must be a URL."))
            return None
        refusal = policy.refusal(url)
        if refusal is not None:
            errors.append(FieldMessage(ACTIONS, f"{where}.webhook.url {refusal}."))
            return None
        if not isinstance(secret, str) or len(secret) > MAX_SECRET:
            errors.append(FieldMessage(ACTIONS, f"{where}.webhook.secret must be a string."))
            return None
        return Target(kind, url=url, secret=secret)
    type_, text = body.get("type"), body.get("text", "")
    if not isinstance(type_, str) or not type_.strip() or len(type_) > MAX_TYPE:
        errors.append(FieldMessage(ACTIONS, f"{where}.{key}.type must be a non-empty string."))
        return None
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        errors.append(
            FieldMessage(ACTIONS, f"{where}.{key}.text must be a string of at most {MAX_TEXT}.")
        )
        return None
    bad = template_problem(text)
    if bad is not None:
        errors.append(FieldMessage(ACTIONS, f"{where}.{key}.text: {bad}"))
        return None
    severity = Severity.MAJOR
    if kind is TargetKind.ALARM:
        raw_severity = body.get("severity", "MAJOR")
        if raw_severity not in {s.value for s in Severity}:
            errors.append(
                FieldMessage(
                    ACTIONS,
                    f"{where}.alarm.severity must be one of CRITICAL, MAJOR, MINOR, WARNING.",
                )
            )
            return None
        severity = Severity(raw_severity)
    return Target(kind, type=type_, text=text, severity=severity)


def template_problem(text: str) -> str | None:
    """Why ``text`` is no valid template (unknown field, format spec, bad braces), or None."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return "unbalanced braces (write {{ and }} for literal ones)."
    for _, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if field_name not in TEMPLATE_FIELDS:
            return f"unknown template field {{{field_name}}}; known: " + ", ".join(
                f"{{{f}}}" for f in TEMPLATE_FIELDS
            )
        if spec or conversion:
            return f"the template field {{{field_name}}} takes no format."
    return None


def render_template(text: str, fields: Mapping[str, Any]) -> str:
    """``text`` with its fields filled in (a template validated by :func:`template_problem`)."""
    return text.format_map({k: "" if fields.get(k) is None else fields[k] for k in TEMPLATE_FIELDS})


def parse_write_back(value: Any, errors: list[str]) -> WriteBack | None:
    """The ``writeBack`` field (absent: None); problems go to ``errors``."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(FieldMessage(WRITE_BACK, "writeBack must be an object."))
        return None
    fragment, outputs = value.get("fragment"), value.get("outputs")
    ok = True
    if not isinstance(fragment, str) or not _name_ok(fragment):
        errors.append(
            FieldMessage(WRITE_BACK, "writeBack.fragment must be a name without '.' or spaces.")
        )
        ok = False
    if not isinstance(outputs, dict) or not outputs or len(outputs) > 100:
        errors.append(
            FieldMessage(WRITE_BACK, "writeBack.outputs must map 1 to 100 series to outputs.")
        )
        return None
    pairs: list[tuple[str, str]] = []
    for series, output in outputs.items():
        if not _name_ok(series) or not isinstance(output, str) or not output:
            errors.append(
                FieldMessage(
                    WRITE_BACK,
                    f"writeBack.outputs: the series '{str(series)[:100]}' must map to an output.",
                    str(series)[:100],
                )
            )
            ok = False
            continue
        pairs.append((series, output))
    return WriteBack(str(fragment), tuple(pairs)) if ok else None


def _name_ok(name: Any) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_TYPE
        and "." not in name
        and name == name.strip()
        and not any(c.isspace() for c in name)
    )


def check_against_model(
    rules: Iterable[Rule],
    write_back: WriteBack | None,
    outputs: Mapping[str, str],
    mapped_fragments: Iterable[str],
) -> list[str]:
    """Problems of rules and write-back against the model's ``outputs`` (name -> data type) and
    the fragments the job reads (a job never reads its own write-back)."""
    errors: list[str] = []
    for rule in rules:
        data_type = outputs.get(rule.output)
        if data_type is None:
            errors.append(
                FieldMessage(
                    ACTIONS,
                    f"actions: '{rule.output}' of the rule '{rule.name}' is not an output of "
                    "the model.",
                    rule.output,
                )
            )
            continue
        numeric = data_type in NUMERIC_TYPES
        if rule.test is not Comparison.EQUALS and not numeric:
            errors.append(
                FieldMessage(
                    ACTIONS,
                    f"actions: the rule '{rule.name}' compares '{rule.output}' ({data_type}) "
                    f"with {rule.test.value}, which needs a numeric output.",
                    rule.output,
                )
            )
        elif rule.test is Comparison.EQUALS and _wrong_equals(rule.value, data_type):
            errors.append(
                FieldMessage(
                    ACTIONS,
                    f"actions: the rule '{rule.name}' compares '{rule.output}' ({data_type}) "
                    f"with a value of the wrong type.",
                    rule.output,
                )
            )
    if write_back is not None:
        for series, output in write_back.outputs:
            if output not in outputs:
                errors.append(
                    FieldMessage(
                        WRITE_BACK,
                        f"writeBack.outputs: '{output}' is not an output of the model.",
                        series,
                    )
                )
            elif outputs[output] not in NUMERIC_TYPES and outputs[output] != "boolean":
                errors.append(
                    FieldMessage(
                        WRITE_BACK,
                        f"writeBack.outputs: '{output}' ({outputs[output]}) is not numeric; "
                        "measurements hold numbers.",
                        series,
                    )
                )
        if write_back.fragment in set(mapped_fragments):
            errors.append(
                FieldMessage(
                    WRITE_BACK,
                    f"writeBack.fragment '{write_back.fragment}' is read by the job's "
                    "modelToDeviceMappings; a job never reads its own write-back.",
                )
            )
    return errors


def _wrong_equals(value: bool | int | float | str, data_type: str) -> bool:
    if data_type == "boolean":
        return not isinstance(value, bool)
    if data_type in NUMERIC_TYPES:
        return isinstance(value, bool | str)
    return False


def keep_secrets(rules: tuple[Rule, ...], before: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """``rules`` of a replaced job (PUT) with each webhook sent without a secret keeping the one
    stored for the same rule name and URL: secrets are never echoed, so a client that sends
    back what it read must not lose them."""
    stored = {
        (rule.name, target.url): target.secret
        for rule in before
        for target in rule.targets
        if target.kind is TargetKind.WEBHOOK and target.secret
    }
    if not stored:
        return rules
    return tuple(
        replace(
            rule,
            targets=tuple(
                replace(target, secret=stored.get((rule.name, target.url), ""))
                if target.kind is TargetKind.WEBHOOK and not target.secret
                else target
                for target in rule.targets
            ),
        )
        for rule in rules
    )


def rules_from_stored(stored: Any) -> tuple[Rule, ...]:
    """Rules from their stored JSON (validated when the job was created)."""
    if not stored:
        return ()
    return parse_actions(stored, [], WebhookPolicy(allow_all=True))


def write_back_from_stored(stored: Any) -> WriteBack | None:
    if not stored:
        return None
    return parse_write_back(stored, [])
