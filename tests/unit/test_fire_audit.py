"""audit_fires: each kind of bad fire is counted, and a perfect run has no problems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from batchscore.testing import audit_fires

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PERIOD = 10
INSTANTS = [T0 + timedelta(seconds=PERIOD * k) for k in range(1, 4)]


def rows(fires: dict[int, list[datetime]]) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(job_id=job, number=n, scheduled_at=at)
        for job, times in fires.items()
        for n, at in enumerate(times, start=1)
    ]


def test_a_perfect_run_with_edge_fires() -> None:
    fires = {1: [T0, *INSTANTS], 2: [*INSTANTS, INSTANTS[-1] + timedelta(seconds=PERIOD)]}
    audit = audit_fires(rows(fires), {1: 4, 2: 4}, INSTANTS, PERIOD)
    assert audit.problems() == []
    assert (audit.jobs, audit.seen, audit.bad_jobs) == (2, 6, ())


def test_each_defect_is_counted_against_its_job() -> None:
    fires = {
        1: INSTANTS[:2],  # missed the third
        2: [INSTANTS[0], INSTANTS[0], INSTANTS[1], INSTANTS[2]],  # doubled
        3: [*INSTANTS[:2], INSTANTS[2] + timedelta(seconds=3)],  # off grid: a gap, a miss
        4: [INSTANTS[1], INSTANTS[0], INSTANTS[2]],  # out of order by number
        5: list(INSTANTS),  # fine, but its count disagrees
        6: list(INSTANTS),  # fine
    }
    counts = {job: len(times) for job, times in fires.items()} | {5: 4}
    audit = audit_fires(rows(fires), counts, INSTANTS, PERIOD)
    assert (audit.missed, audit.doubled, audit.off_grid, audit.numbering) == (2, 1, 1, 1)
    assert audit.gaps == 1 + 1 + 2  # the double's 0 s step, the off-grid step, 4's two steps
    assert audit.bad_jobs == (1, 2, 3, 4, 5)
    assert len(audit.problems()) == 5
