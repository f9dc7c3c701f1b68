"""Where a webhook may be sent: never to the server's own network (SSRF), unless a setting allows
private targets (tests, an on-premises receiver). Checked when HQ registers a URL and again at
every delivery (the name may resolve elsewhere by then)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from dispatch.errors import ValidationFailed

SCHEMES = ("https", "http")


def _refused(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """The URL, or ValidationFailed("url", why). ``resolve`` looks the host name up (every address
    it resolves to must be public)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValidationFailed("url", "must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise ValidationFailed("url", "must not carry credentials; the signature authenticates dispatch")
    if allow_private:
        return url
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise ValidationFailed("url", "must not point at a private or loopback address") from None
        if not resolve:
            return url
        try:
            addresses = sorted({info[4][0] for info in socket.getaddrinfo(host, parts.port or 443,
                                                                           type=socket.SOCK_STREAM)})
        except (OSError, UnicodeError):
            raise ValidationFailed("url", f"the host {host!r} does not resolve") from None
    if any(_refused(address.split("%")[0]) for address in addresses):
        raise ValidationFailed("url", "must not point at a private or loopback address")
    return url
