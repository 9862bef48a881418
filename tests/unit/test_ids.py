"""One id parser (``domain.documents.object_id``) for every id a request names: a positive
63-bit integer, as digits or a JSON number; 0 is no id (a job, an execution or a managed object
"0" is not found, a job target "0" is refused)."""

from __future__ import annotations

from typing import Any

import pytest

from batchscore.domain.documents import object_id, whole_number
from batchscore.errors import Invalid
from batchscore.service.job_requests import parse_job_request
from batchscore.service.jobs import parse_int_id
from batchscore.web.pages_executions import Filters
from batchscore.web.rule_form import rule_actions
from tests.unit.test_job_requests import body


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        ("42", 42),
        ("007", 7),
        (42, 42),
        ("922337203685477580", 922337203685477580),  # 18 digits
        (2**63 - 1, 2**63 - 1),
        ("0", None),
        ("000", None),
        (0, None),
        (-3, None),
        ("-3", None),
        (2**63, None),
        ("1234567890123456789", None),  # 19 digits: past the 63-bit range's safe width
        ("", None),
        ("4 2", None),
        ("٤٢", None),  # Arabic-Indic digits are digits to str.isdigit, not to us
    ],
)
def test_object_ids(given: str | int, parsed: int | None) -> None:
    assert object_id(given) == parsed


@pytest.mark.parametrize("target", ["0", 0, "-1", True, 1.5, "x", 2**63])
def test_a_job_target_that_is_no_id_is_refused_with_the_same_text(target: Any) -> None:
    with pytest.raises(Invalid) as raised:
        parse_job_request({**body(), "associatedGroupOrDeviceId": target})
    assert "associatedGroupOrDeviceId must be a positive integer." in raised.value.messages


@pytest.mark.parametrize(("target", "parsed"), [("42", 42), (42, 42), ("007", 7)])
def test_a_job_target_id_as_digits_or_a_number(target: Any, parsed: int) -> None:
    assert parse_job_request({**body(), "associatedGroupOrDeviceId": target}).target_id == parsed


@pytest.mark.parametrize("text", ["0", "00", "-1", "1.0", "", "1234567890123456789"])
def test_job_ids_and_execution_numbers_follow_the_same_rules(text: str) -> None:
    assert parse_int_id(text) is None
    assert parse_int_id("17") == 17


@pytest.mark.parametrize(
    ("given", "digits", "parsed"),
    [
        ("0", 18, 0),
        ("42", 18, 42),
        ("123456", 6, 123456),
        ("1234567", 6, None),
        ("²", 18, None),  # a digit to str.isdigit that int() refuses: the console answered 500
        ("٤٢", 18, None),
        ("", 18, None),
        ("-1", 18, None),
    ],
)
def test_whole_numbers_the_console_reads(given: str, digits: int, parsed: int | None) -> None:
    assert whole_number(given, digits) == parsed


def test_console_forms_read_only_ascii_digits_as_numbers() -> None:
    fields = {"name": "r", "output": "outlier", "test": "equals", "value": "true"}
    fields |= {"atLeast": "²", "alarmType": "t", "severity": "MAJOR", "text": ""}
    rule = rule_actions(fields)
    assert rule is not None
    assert rule[0]["when"]["atLeast"] == "²"  # left as typed, for the API to refuse
    assert Filters.read("²", "", "x").device is None
