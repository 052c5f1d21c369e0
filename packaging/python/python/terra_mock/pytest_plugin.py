"""The pytest plugin of terra-mock (registered through the ``pytest11`` entry point).

Fixtures:

- ``terra_mock_server``: one server for the session; under pytest-xdist, one per worker
  (each worker is its own process with its own session).
- ``terra_mock``: that server with its state reset (accounts, objects, jobs, faults, the
  request log, the clock back to the system's) before each test.

Options: ``--terra-mock-bin PATH`` (or ``$TERRA_MOCK_BIN``) to use another binary,
``--terra-mock-arg FLAG`` (repeatable) for more ``terra-mock serve`` flags. When a test
that used the server fails, the server's log of that test and its report of refusals and
warnings (why each refused request was refused) are attached to the test's report.
"""
from __future__ import annotations

import time
from typing import Iterator, List, Optional

import pytest

from ._client import TerraMock

_LOG_START = pytest.StashKey[int]()
_SERVER = pytest.StashKey[TerraMock]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("terra-mock")
    group.addoption("--terra-mock-bin", action="store", default=None,
                    help="the terra-mock binary to run (default: $TERRA_MOCK_BIN, else the installed one)")
    group.addoption("--terra-mock-arg", action="append", default=[],
                    help="one more flag of `terra-mock serve` (repeatable)")


@pytest.fixture(scope="session")
def terra_mock_server(request: pytest.FixtureRequest) -> Iterator[TerraMock]:
    """A terra-mock server for the whole session (per xdist worker)."""
    binary: Optional[str] = request.config.getoption("--terra-mock-bin")
    args: List[str] = request.config.getoption("--terra-mock-arg")
    with TerraMock(binary, args=args) as mock:
        yield mock


@pytest.fixture
def terra_mock(terra_mock_server: TerraMock, request: pytest.FixtureRequest) -> Iterator[TerraMock]:
    """The session's server, its state reset for this test."""
    mock = terra_mock_server
    mock.reset()
    mock.set_clock(mode="system")
    mock.set_clock(now_ms=int(time.time() * 1000))
    request.node.stash[_LOG_START] = mock.log_size()
    request.node.stash[_SERVER] = mock
    yield mock


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    mock = item.stash.get(_SERVER, None)
    if mock is not None and report.failed:
        log = mock.log_tail(since=item.stash.get(_LOG_START, 0))
        report.sections.append(("terra-mock log", log or "(empty)"))
        try:
            why = mock.report(text=True)
        except Exception as e:  # the server may be what failed
            why = f"(the report could not be read: {e})"
        report.sections.append(("terra-mock report", why))
