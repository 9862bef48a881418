"""Pure parts of the console: messages placed by field and in words, the jobs list's filters,
order and pages, and the one way instants are shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from batchscore.domain.inventory import ManagedObject
from batchscore.domain.jobs import Execution, ExecutionStatus, Job
from batchscore.errors import FieldMessage, Invalid
from batchscore.service.job_requests import parse_job_request
from batchscore.service.job_views import JobOverview, ModelState
from batchscore.web.job_form import in_words, place_errors
from batchscore.web.job_list import job_rows, list_page
from batchscore.web.templating import format_when, span

NOW = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)


def test_the_api_text_is_unchanged_and_the_field_comes_with_it() -> None:
    with pytest.raises(Invalid) as caught:
        parse_job_request(
            {
                "jobName": "",
                "associatedModel": "m",
                "associatedGroupOrDeviceId": 1,
                "modelToDeviceMappings": {"x": "not-a-path"},
                "jobSchedule": {
                    "frequency": "periodic",
                    "cronExpression": "0 0 25 ? * *",
                    "timeZone": "Mars/Base",
                    "dataFromPreviousNSeconds": 60,
                },
            }
        )
    messages = caught.value.messages
    assert messages == (
        "jobName must not be empty.",
        "modelToDeviceMappings: 'not-a-path' is not a measurement path of the form "
        "fragment.series.value.",
        "cronExpression: hours value 25 is out of range 0-23.",
        "timeZone 'Mars/Base' is not a known IANA time zone.",
    )
    assert [(m.field, m.item) for m in messages if isinstance(m, FieldMessage)] == [
        ("jobName", None),
        ("modelToDeviceMappings", "x"),
        ("cronExpression", None),
        ("timeZone", None),
    ]


def test_messages_land_on_their_fields_and_rows_in_words() -> None:
    errors = place_errors(
        [
            FieldMessage("jobName", "jobName must not be empty."),
            FieldMessage("cronExpression", "cronExpression: hours value 25 is out of range 0-23."),
            FieldMessage("dataTo", "dataFrom must be before dataTo."),
            FieldMessage(
                "modelToDeviceMappings",
                "modelToDeviceMappings: the model input 'gyroX' is required but not mapped.",
                "gyroX",
            ),
            "The request body is invalid.",
        ],
        mapped_inputs=["gyroX"],
    )
    assert errors.fields == {
        "jobName": ["Name must not be empty."],
        "cronExpression": ["Hours value 25 is out of range 0-23."],
        "dataTo": ["Data from must be before data to."],
    }
    assert errors.rows == {"gyroX": ["The model input 'gyroX' is required but not mapped."]}
    assert errors.general == ["The request body is invalid."]
    assert errors.first_field() == "jobName"
    assert [label for _, label in errors.labelled()] == [
        "Name",
        "Mapping",
        "Cron expression",
        "Data to",
    ]


def test_a_message_without_a_period_gets_one() -> None:
    text = "Device or group with id 5 does not exist or it is invalid"
    assert in_words(text, "associatedGroupOrDeviceId") == text + "."


def _job(job_id: int, name: str, zone: str, next_fire: datetime | None, status: str | None) -> Job:
    return Job(
        id=job_id,
        tenant="t",
        created_at=NOW,
        name=name,
        description="",
        model_name="m",
        target_id=1,
        mappings={},
        mappings_sent={},
        schedule={"frequency": "periodic", "cronExpression": "0 * * ? * *", "timeZone": zone},
        next_fire_at=next_fire,
        last_status=ExecutionStatus(status) if status else None,
        last_duration_ms=None,
    )


def _view(job: Job, running: bool = False) -> JobOverview:
    latest = Execution(
        id=job.id,
        job_id=job.id,
        number=1,
        scheduled_at=NOW,
        is_group=False,
        status=ExecutionStatus.RUNNING if running else ExecutionStatus.SUCCESS,
        messages=(),
        started_at=NOW,
        ended_at=None,
        duration_ms=None,
    )
    target = ManagedObject(1, "t", "line", None, None, False, True, {}, NOW, NOW)
    return JobOverview(job, target, latest, (), ModelState.ACTIVE)


def test_next_fire_sorts_by_the_instant_whatever_the_jobs_zone() -> None:
    # 23:00 in Kiritimati (UTC+14) comes before 10:00 in UTC on the same date.
    kiritimati = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)
    utc = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
    rows = job_rows(
        [
            _view(_job(1, "utc", "UTC", utc, "Success")),
            _view(_job(2, "kiritimati", "Pacific/Kiritimati", kiritimati, "Success")),
            _view(_job(3, "once, done", "UTC", None, "Failure")),
        ]
    )
    listed = list_page(rows, "", "", "next", False, 1)
    assert [r.job.name for r in listed.rows] == ["kiritimati", "utc", "once, done"]


def test_status_filter_counts_and_pages() -> None:
    views = [
        _view(_job(i, f"job {i:02d}", "UTC", NOW, "Failure" if i % 3 else "Success"))
        for i in range(1, 46)
    ]
    views.append(_view(_job(46, "busy", "UTC", NOW, None), running=True))
    rows = job_rows(views)
    first = list_page(rows, "", "", "name", False, 1)
    assert (len(first.rows), first.pages, first.matching, first.total) == (25, 2, 46, 46)
    assert (first.first, first.last) == (1, 25)
    last = list_page(rows, "", "", "name", False, 99)
    assert (last.page, len(last.rows), last.first) == (2, 21, 26)
    failing = list_page(rows, "", "Failure", "name", False, 1)
    assert failing.matching == 30
    assert failing.counts == {
        "Success": 15,
        "Warning": 0,
        "Failure": 30,
        "Pending": 1,
        "Running": 1,
    }
    assert [r.job.name for r in list_page(rows, "", "Running", "name", False, 1).rows] == ["busy"]
    texted = list_page(rows, "job 0", "Success", "name", True, 1)
    assert [r.job.name for r in texted.rows] == ["job 09", "job 06", "job 03"]


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("UTC", "2026-01-14 12:00:00 UTC"),
        ("Asia/Kolkata", "2026-01-14 17:30:00 IST"),
        ("America/New_York", "2026-01-14 07:00:00 EST"),
        ("Not/AZone", "2026-01-14 12:00:00 UTC"),
    ],
)
def test_instants_are_shown_one_way_in_the_zone_given(zone: str, shown: str) -> None:
    assert format_when(NOW, zone) == shown


def test_milliseconds_show_only_when_there_are_some() -> None:
    assert format_when(NOW + timedelta(milliseconds=250), "UTC") == "2026-01-14 12:00:00.250 UTC"
    assert format_when(None, "UTC") == ""


@pytest.mark.parametrize(
    ("seconds", "text"), [(45, "45 s"), (300, "5 min"), (7200, "2 h"), (90, "90 s"), (86400, "1 d")]
)
def test_spans_in_the_largest_whole_unit(seconds: int, text: str) -> None:
    assert span(seconds) == text
