"""The address of the client behind a request, for the limits kept per client address.

Contract:

* ``TRUSTED_PROXIES`` (bot/config.py) lists the reverse proxies in front of
  the assistant, as IP addresses or CIDR ranges, comma- or space-separated;
  empty by default.  ``trusted_proxies`` parses it (``ValueError`` names a
  bad entry).
* ``client_address(request)`` is the request's peer address, unless the peer
  is a trusted proxy: then ``X-Forwarded-For`` is read from the right, and the
  first address that is not a trusted proxy is the client (a client can write
  anything to the left of what its first proxy appends, so nothing further left
  is believed).  A header that names only trusted proxies gives its left-most
  address; a malformed entry stops the walk at the proxy that passed it on.
* ``CLIENT_ADDRESS_METADATA`` is the message-metadata key under which the
  channels hand the address on to the actions.  A channel always overwrites it,
  so a client cannot choose its own address by sending that key.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, List, Mapping, Optional, Union

from bot import config

CLIENT_ADDRESS_METADATA = "client_address"

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def trusted_proxies(environ: Optional[Mapping[str, str]] = None) -> List[Network]:
    """The networks of ``TRUSTED_PROXIES``; a single address is a network of one."""
    networks = []
    for entry in re.split(r"[\s,]+", config.get("TRUSTED_PROXIES", environ).strip()):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR range") from None
    return networks


def _address(text: str) -> Optional[Address]:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def _trusted(address: Optional[Address], proxies: List[Network]) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in proxies)


def forwarded_client(peer: str, forwarded_for: Optional[str], proxies: List[Network]) -> str:
    """The client address, given the peer, its X-Forwarded-For header and the trusted proxies."""
    peer_address = _address(peer)
    if not forwarded_for or not _trusted(peer_address, proxies):
        return str(peer_address) if peer_address else peer
    client = str(peer_address)
    for entry in reversed(forwarded_for.split(",")):
        hop = _address(entry)
        if hop is None:
            break  # a trusted proxy passed on garbage: believe the proxy, nothing beyond it
        client = str(hop)
        if not _trusted(hop, proxies):
            break
    return client


def client_address(request: Any, environ: Optional[Mapping[str, str]] = None) -> str:
    """The client of a Sanic request: the peer address, or (from a trusted proxy) the right-most
    untrusted address of X-Forwarded-For."""
    headers = request.headers
    # Several X-Forwarded-For lines are one list, in order.
    forwarded = ",".join(headers.getall("x-forwarded-for", [])) if hasattr(headers, "getall") else None
    return forwarded_client(request.ip or "", forwarded or headers.get("x-forwarded-for"), trusted_proxies(environ))
