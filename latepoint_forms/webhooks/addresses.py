"""Where a webhook may be sent: the guard against server-side request forgery (SPEC section 10).

An endpoint URL is refused unless it is ``https`` (``http`` too outside production), has a
host and no credentials, and every address its host resolves to is a public one. Loopback,
private, link-local, shared, reserved, multicast and unspecified addresses are refused unless
``WEBHOOKS_ALLOW_PRIVATE=1`` (development and tests; even then multicast and unspecified ones
stay refused). The check runs when the endpoint is added and again at every delivery, on the
addresses the delivery then connects to (webhooks/delivery.py pins the connection to them), so
a name that later resolves elsewhere (DNS rebinding) is refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from ..models.webhook import WEBHOOK_URL_MAX_LENGTH

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The URL or an address it resolves to may not receive webhooks; ``str()`` says why."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``addresses``, all allowed) and what to ask for."""

    scheme: str
    host: str  # as written (the TLS server name and the Host header)
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _split(url: str, *, https_only: bool) -> SplitResult:
    if not isinstance(url, str) or not url or len(url) > WEBHOOK_URL_MAX_LENGTH:
        raise AddressRefused(f"the URL must be 1 to {WEBHOOK_URL_MAX_LENGTH} characters")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise AddressRefused("the URL may not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise AddressRefused(f"the URL is malformed ({exc})") from exc
    if parts.port == 0:
        raise AddressRefused("the URL's port must be 1 to 65535")
    allowed = ("https",) if https_only else ("https", "http")
    if parts.scheme not in allowed:
        raise AddressRefused("the URL must use " + " or ".join(allowed))
    if not parts.hostname:
        raise AddressRefused("the URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("the URL may not carry a user name or password")
    if parts.fragment:
        raise AddressRefused("the URL may not have a #fragment")
    return parts


# IPv6 ranges that carry, or once carried, an IPv4 address or a site's own network: NAT64
# (RFC 6052, 8215) reaches internal IPv4 through a translator, 6to4 (RFC 3056) embeds one,
# IPv4-compatible and -translated forms (RFC 4291, 2765), deprecated site-local (RFC 3879).
_IPV6_EMBEDDING = tuple(
    ipaddress.IPv6Network(net)
    for net in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "::/96", "::ffff:0:0:0/96")
)
_IPV6_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


def refused_because(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and not allow_private:
        if any(address in net for net in _IPV6_EMBEDDING) and not address.is_unspecified:
            return f"{address} embeds an IPv4 address (translation or tunnel)"
        if address in _IPV6_SITE_LOCAL:
            return f"{address} is a site-local address"
    if address.is_unspecified or address.is_multicast:
        return f"{address} is not an address a webhook can be sent to"
    if allow_private:
        return None
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_private or not address.is_global:
        return f"{address} is a private or reserved address"
    return None


def resolve(host: str, port: int) -> tuple[str, ...]:
    """The addresses ``host`` resolves to (an address literal resolves to itself)."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"{host} does not resolve ({exc})") from exc
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]).split("%", 1)[0], None)
    if not seen:
        raise AddressRefused(f"{host} does not resolve")
    return tuple(seen)


def check_url(url: str, *, https_only: bool, allow_private: bool) -> Target:
    """The URL checked and resolved now; ``AddressRefused`` when it may not receive webhooks.
    Every address the host resolves to must be allowed (a name with one private address
    among public ones is refused: a connection could reach either)."""
    parts = _split(url, https_only=https_only)
    host = parts.hostname or ""
    try:  # an international name is looked up, sent and checked as its xn-- form
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise AddressRefused(f"{host} is not a valid host name") from exc
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(host, port)
    for address in addresses:
        reason = refused_because(ipaddress.ip_address(address), allow_private=allow_private)
        if reason is not None:
            raise AddressRefused(reason)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(parts.scheme, host, port, path, addresses)
