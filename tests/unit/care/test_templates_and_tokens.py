"""Message texts and signed rating links, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch.care import templates, tokens
from dispatch.clock import frozen
from dispatch.errors import Gone, NotFound

SECRET = "unit-test-secret"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_eta_is_rendered_in_local_time():
    text = templates.render(templates.Template.JOB_SCHEDULED, {
        "reference": "J261123-ABCDEF", "job_type": "repair", "product": "RO-500", "technician": "Wang Wei",
        "eta": "2026-11-23T01:30:00+00:00"}, tz=SHANGHAI)
    assert "2026-11-23 09:30" in text.body and "Wang Wei" in text.body


def test_the_completion_message_carries_the_rating_link():
    text = templates.render(templates.Template.JOB_COMPLETED, {"reference": "J1", "job_type": "repair"},
                            tz=SHANGHAI, rating_url="https://x.example/feedback/tok")
    assert text.body.endswith("https://x.example/feedback/tok")
    with pytest.raises(KeyError):
        templates.render(templates.Template.JOB_COMPLETED, {"reference": "J1", "job_type": "repair"}, tz=SHANGHAI)


def test_an_unknown_template_cannot_be_rendered():
    with pytest.raises(KeyError):
        templates.render("no_such_template", {}, tz=SHANGHAI)


class TestRatingTokens:
    job_id = uuid.UUID("8e0f4e53-0d9b-4b52-9f43-b2c6f1f3e001")

    def test_a_token_names_its_job(self):
        assert tokens.read(SECRET, tokens.issue(SECRET, self.job_id)) == self.job_id

    def test_a_tampered_token_is_not_found(self):
        token = tokens.issue(SECRET, self.job_id)
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        with pytest.raises(NotFound):
            tokens.read(SECRET, forged)
        with pytest.raises(NotFound):
            tokens.read("another-secret", token)
        with pytest.raises(NotFound):
            tokens.read(SECRET, "not-a-token")

    def test_a_token_expires_after_its_lifetime(self):
        issued = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        with frozen(issued):
            token = tokens.issue(SECRET, self.job_id)
        with frozen(issued + tokens.FEEDBACK_LINK_TTL - timedelta(seconds=1)):
            assert tokens.read(SECRET, token) == self.job_id
        with frozen(issued + tokens.FEEDBACK_LINK_TTL + timedelta(seconds=1)), pytest.raises(Gone):
            tokens.read(SECRET, token)
