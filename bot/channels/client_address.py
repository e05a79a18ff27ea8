"""The address of the client behind a request, as far as it can be trusted.

:func:`client_address` is the peer's address, unless the peer is one of the
``TRUSTED_PROXIES`` (comma- or space-separated IP addresses or CIDR networks;
default empty: no proxy is trusted).  Then ``X-Forwarded-For`` is read from the
right: each trusted proxy appends the address it was reached from, so the
right-most entry that is not a trusted proxy is the client.  Entries to its
left were written by the client itself and are never believed.  When every
entry is a trusted proxy, the left-most is the answer; a malformed entry where
the client should be gives the peer (a proxy that wrote it is misconfigured,
and an address the client chose must not count as theirs).

Used for what is limited or recorded per client (the console's login
throttle and audit entries, the lookup and SMS limits).  A wrong
``TRUSTED_PROXIES`` raises ValueError naming the bad entry.

``CLIENT_ADDRESS_METADATA`` is the message-metadata key under which the
channels hand the address on to the actions.  A channel always overwrites it,
so a client cannot choose its own address by sending that key.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from bot import config

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
UNKNOWN = "unknown"
CLIENT_ADDRESS_METADATA = "client_address"


@lru_cache(maxsize=8)
def parse_trusted_proxies(value: str) -> Tuple[Network, ...]:
    """``TRUSTED_PROXIES`` as networks (a bare address is a network of one)."""
    networks = []
    for entry in value.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"setting TRUSTED_PROXIES: {entry!r} is neither an IP address nor a network (e.g. 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def trusted_proxies(environ: Optional[Mapping[str, str]] = None) -> List[Network]:
    """The networks of ``TRUSTED_PROXIES`` (of ``environ``, default the process's)."""
    return list(parse_trusted_proxies(config.get("TRUSTED_PROXIES", environ)))


def _address(text: str) -> Optional[Address]:
    """An address as proxies write it: bare, with a port (``1.2.3.4:5``) or in brackets (``[::1]:5``)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:  # IPv4 with a port; IPv6 has several colons
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def from_trusted_proxy(peer: str, proxies: Sequence[Network]) -> bool:
    """Whether the peer that sent a request is one of ``proxies`` (its headers may be believed)."""
    address = _address(peer or "")
    return address is not None and _trusted(address, proxies)


def address_behind(peer: str, forwarded_for: str, proxies: Sequence[Network]) -> str:
    """The client's address given the peer and the ``X-Forwarded-For`` header(s), joined by commas."""
    peer_address = _address(peer or "")
    if peer_address is None:
        return (peer or UNKNOWN)[:64]
    if not _trusted(peer_address, proxies):
        return str(peer_address)
    entries = [entry for entry in forwarded_for.split(",") if entry.strip()]
    client = peer_address
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            return str(peer_address)
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)


def forwarded_client(peer: str, forwarded_for: Optional[str], proxies: Sequence[Network]) -> str:
    """:func:`address_behind` for a header that may be missing."""
    return address_behind(peer, forwarded_for or "", proxies)


def client_address(request: Any, environ: Optional[Mapping[str, str]] = None) -> str:
    """The client's address of a Sanic request (see the module's docstring)."""
    peer = request.ip or ""
    forwarded = ",".join(request.headers.getall("x-forwarded-for", []))
    return address_behind(peer, forwarded, trusted_proxies(environ))
