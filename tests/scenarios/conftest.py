"""Fixtures of the scenario suite: a clock that walks forward through the days."""

from __future__ import annotations

import pytest

from tests.dates import SUITE_NOW
from tests.scenarios.steps import Walk


@pytest.fixture
def walk(api):
    """The suite's clock, from the suite's "now" forward (back to it after the test)."""
    walk = Walk(api, SUITE_NOW)
    yield walk
    walk.close()
