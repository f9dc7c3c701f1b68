"""The signatures printed in QR codes: on a unit (over its serial) and on a technician's badge.

The factory prints ``https://.../u/<serial>?sig=<signature>``; the signature is HMAC-SHA256 of the
serial with the factory's key (``Settings.qr_key``), truncated to 96 bits and base32-encoded (20
characters, case-insensitive, QR alphanumeric-friendly). Serials follow a public pattern and could
be guessed; signatures cannot, so a look-up without the right signature learns nothing, not even
whether the serial exists. Badges are signed the same way under another purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_BYTES = 12


def _sign(key: str, purpose: str, value: str) -> str:
    digest = hmac.new(key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()[:_BYTES]
    return base64.b32encode(digest).decode().rstrip("=")


def unit_signature(key: str, serial: str) -> str:
    return _sign(key, "unit", serial.strip().upper())


def badge_signature(key: str, badge: str) -> str:
    return _sign(key, "badge", badge.strip().upper())


def _same(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given.strip().upper().rstrip("="))


def unit_signature_ok(key: str, serial: str, signature: str | None) -> bool:
    return _same(unit_signature(key, serial), signature)


def badge_signature_ok(key: str, badge: str, signature: str | None) -> bool:
    return _same(badge_signature(key, badge), signature)
