"""Whether gridgov may call a URL someone configured: no internal addresses by default.

A webhook URL a user gives (and a neighbour's Open311 endpoint) is fetched by
the server, so it could point at the server's own network: loopback, private
ranges, link-local (cloud metadata at 169.254.169.254), multicast, reserved.
:func:`check_url` resolves the host and refuses the URL when any address it
resolves to is internal, unless ``GRIDGOV_NOTIFY_ALLOW_INTERNAL_URLS`` is set
(a closed network, or tests with local counterparts). It is checked when the
URL is configured (a clear 422) and again right before each request (the
name may resolve elsewhere by then).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from gis_core.errors import InvalidInput


class InternalAddress(InvalidInput):
    """A URL that points at an internal address (422 ``internal_address``)."""

    code = "internal_address"


def is_internal(address: str) -> bool:
    """Whether an IP address is loopback, private, link-local, multicast or reserved.

    Examples
    --------
    >>> [is_internal(a) for a in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::1",
    ...                           "8.8.8.8", "::ffff:192.168.0.1")]
    [True, True, True, True, False, True]
    """
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str, *, allow_internal: bool, field: str = "url") -> None:
    """Refuse ``url`` unless it is http(s) to a host that resolves only to public addresses.

    Raises
    ------
    InternalAddress
        (``internal_address``) when the host is or resolves to an internal address
        and ``allow_internal`` is false, or cannot be resolved.

    Examples
    --------
    >>> check_url("http://127.0.0.1:8080/hook", allow_internal=True)
    >>> check_url("http://127.0.0.1:8080/hook", allow_internal=False)
    Traceback (most recent call last):
    ...
    api.egress.guard.InternalAddress: field 'url': http://127.0.0.1:8080/hook points at an ...
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InternalAddress(f"field {field!r}: {url!r} is not an http(s) URL",
                              code="invalid_address")
    if allow_internal:
        return
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (socket.gaierror, UnicodeError) as exc:
        raise InternalAddress(f"field {field!r}: the host of {url} cannot be resolved ({exc})",
                              code="internal_address") from exc
    internal = sorted(a for a in found if is_internal(a))
    if internal:
        raise InternalAddress(
            f"field {field!r}: {url} points at an internal address ({', '.join(internal)}); "
            "set GRIDGOV_NOTIFY_ALLOW_INTERNAL_URLS=true to allow it", code="internal_address")
