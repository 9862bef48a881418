"""FreshResponses serves a kept body only while the database's change stamp is the one read
before the body was rendered, renders once per key and stamp, and stays within its budget."""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from batchscore.api.fresh_responses import FreshResponses, accepts_gzip
from batchscore.errors import NotFound

T = TypeVar("T")


class Stamp:
    def __init__(self, value: int | None = 1) -> None:
        self.value = value

    def __call__(self) -> int | None:
        return self.value


class Renders:
    """A render function that counts its calls and answers ``b"<key>@<n>"``."""

    def __init__(self, key: str = "k") -> None:
        self.key = key
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return f"{self.key}@{self.calls}".encode()


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(scenario())`` on a thread of its own: a session-wide fixture of another
    suite (Playwright's sync API) may keep an event loop running on the main thread."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(scenario())).result()


async def plain(cache: FreshResponses, key: str, render: Callable[[], bytes]) -> bytes:
    return (await cache.body(key, render)).plain


def get(cache: FreshResponses, key: str, render: Callable[[], bytes]) -> bytes:
    return run(lambda: plain(cache, key, render))


def test_a_body_is_served_again_while_the_stamp_holds() -> None:
    stamp, render = Stamp(), Renders()
    cache = FreshResponses(stamp)
    assert get(cache, "k", render) == b"k@1"
    assert get(cache, "k", render) == b"k@1"
    assert render.calls == 1
    stamp.value = 2  # a commit anywhere
    assert get(cache, "k", render) == b"k@2"
    assert get(cache, "k", render) == b"k@2"
    assert render.calls == 2


def test_keys_are_kept_apart() -> None:
    cache = FreshResponses(Stamp())
    a, b = Renders("a"), Renders("b")
    assert get(cache, "a", a) == b"a@1"
    assert get(cache, "b", b) == b"b@1"
    assert (get(cache, "a", a), get(cache, "b", b)) == (b"a@1", b"b@1")


def test_without_a_stamp_every_request_renders_and_nothing_is_kept() -> None:
    cache, render = FreshResponses(Stamp(None)), Renders()
    assert [get(cache, "k", render) for _ in range(3)] == [b"k@1", b"k@2", b"k@3"]
    assert cache.size_bytes == 0


def at_once(
    render: Callable[[], bytes],
    requests: int,
    release: threading.Event,
    started: Callable[[], bool],
) -> list[bytes | BaseException]:
    """``requests`` concurrent requests for one key: ``render`` blocks on ``release``, which is
    set once the first request's render has ``started`` and the others wait for it."""

    async def scenario() -> list[bytes | BaseException]:
        cache = FreshResponses(Stamp())
        tasks = [asyncio.create_task(plain(cache, "k", render)) for _ in range(requests)]
        while not started():  # the first request's render has started in a worker thread
            await asyncio.sleep(0)
        await asyncio.sleep(0)  # the others reach the shared render and wait
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    return run(scenario)


def test_concurrent_requests_share_one_render() -> None:
    release = threading.Event()
    calls = 0

    def slow() -> bytes:
        nonlocal calls
        calls += 1
        assert release.wait(10)
        return b"body"

    assert at_once(slow, 10, release, lambda: calls > 0) == [b"body"] * 10
    assert calls == 1


def test_a_failed_render_is_not_shared_and_not_kept() -> None:
    release = threading.Event()
    calls = 0

    def flaky() -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:
            assert release.wait(10)
            raise NotFound("gone")
        return b"after"

    first, *waiters = at_once(flaky, 3, release, lambda: calls > 0)
    assert isinstance(first, NotFound)
    assert waiters == [b"after", b"after"]  # each rendered for itself


def test_a_body_rendered_before_a_newer_one_was_kept_is_dropped() -> None:
    stamp = Stamp(1)
    release = threading.Event()

    def old() -> bytes:
        assert release.wait(10)
        return b"old"

    async def scenario(cache: FreshResponses) -> bytes:
        slow = asyncio.create_task(plain(cache, "a", old))  # reads stamp 1, renders slowly
        await asyncio.sleep(0)
        stamp.value = 2
        assert await plain(cache, "b", lambda: b"new") == b"new"  # kept at stamp 2
        release.set()
        assert await slow == b"old"  # answered, but not kept: stamp 1 is stale
        return await plain(cache, "a", lambda: b"fresh")

    cache = FreshResponses(stamp)
    assert run(lambda: scenario(cache)) == b"fresh"
    assert get(cache, "b", lambda: b"unused") == b"new"


@pytest.mark.parametrize("size", [10, 40])
def test_the_budget_bounds_what_is_kept(size: int) -> None:
    cache = FreshResponses(Stamp(), budget_bytes=160)
    for key in "abcdefghijklmnopqrst":
        get(cache, key, lambda: b"x" * size)
    assert cache.size_bytes <= 160
    if size == 10:  # kept, least recently used first out
        assert get(cache, "t", lambda: b"other") == b"x" * size
        assert get(cache, "a", lambda: b"other") == b"other"
    else:  # larger than a sixteenth of the budget: never kept
        assert cache.size_bytes == 0


def test_large_bodies_are_also_kept_compressed() -> None:
    document = b"[" + b",".join(b'{"jobId":%d,"jobName":"job"}' % i for i in range(500)) + b"]"
    cache = FreshResponses(Stamp())
    body = run(lambda: cache.body("big", lambda: document))
    assert body.plain == document
    assert body.gzipped is not None
    assert gzip.decompress(body.gzipped) == document
    assert len(body.gzipped) < len(document) / 5
    assert cache.size_bytes == len(document) + len(body.gzipped)
    small = run(lambda: cache.body("small", lambda: b"[]"))
    assert small.gzipped is None
    unkept = FreshResponses(Stamp(None))  # PostgreSQL: compressed only when asked for
    assert run(lambda: unkept.body("big", lambda: document, compress=False)).gzipped is None
    assert run(lambda: unkept.body("big", lambda: document)).gzipped is not None


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, GZIP;q=0.5", True),
        ("deflate", False),
        ("gzip;q=0", False),
        ("gzip;q=0.000, *", False),
        ("*", True),
        ("*;q=0", False),
        ("identity", False),
        ("gzip;q=junk", True),
    ],
)
def test_accept_encoding(header: str | None, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted
