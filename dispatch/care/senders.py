"""How outbox messages leave the building: the Sender port and the default logging sender.

A real SMS gateway, mail relay or push service implements :class:`Sender`; the delivery task
only ever sees the port, so swapping providers touches one composition point
(``workers.care_tasks``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

from dispatch.care.models import Channel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    id: uuid.UUID
    channel: Channel
    recipient: str
    subject: str
    body: str


class SendError(Exception):
    """The provider refused or could not be reached; the message is retried with back-off."""


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` or raise :class:`SendError` (any other exception counts as one)."""


class LoggingSender:
    """Writes each message to the log instead of sending it (development and demo default)."""

    def send(self, message: OutgoingMessage) -> None:
        log.info("notification %s via %s to %s: %s | %s", message.id, message.channel.value,
                 message.recipient, message.subject, message.body)
