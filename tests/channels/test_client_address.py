"""The client's address behind TRUSTED_PROXIES (bot/channels/client_address.py):
X-Forwarded-For is believed only from a trusted peer, and then only its
right-most entry that is not a trusted proxy; what the client wrote to the
left of it never counts."""
from __future__ import annotations

import pytest

from bot.channels.client_address import address_behind, parse_trusted_proxies

PROXIES = parse_trusted_proxies("127.0.0.1, 10.0.0.0/8 ::1")


@pytest.mark.parametrize("peer, forwarded, expected", [
    ("203.0.113.5", "", "203.0.113.5"),  # no proxy
    ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # an untrusted peer's header is its own claim
    ("127.0.0.1", "198.51.100.1", "198.51.100.1"),
    ("127.0.0.1", "1.1.1.1, 198.51.100.1", "198.51.100.1"),  # the left entry is the client's invention
    ("127.0.0.1", "1.1.1.1, 198.51.100.1, 10.2.3.4", "198.51.100.1"),  # through two trusted proxies
    ("127.0.0.1", "10.0.0.9, 10.2.3.4", "10.0.0.9"),  # all trusted: the left-most
    ("127.0.0.1", "", "127.0.0.1"),  # the proxy itself
    ("127.0.0.1", "198.51.100.1:5678", "198.51.100.1"),  # with a port
    ("::1", "[2001:db8::7]:443", "2001:db8::7"),
    ("::ffff:127.0.0.1", "198.51.100.1", "198.51.100.1"),  # IPv4 mapped into IPv6
    ("127.0.0.1", "not-an-address", "127.0.0.1"),  # a malformed entry never becomes an address
    ("127.0.0.1", "198.51.100.1, garbage", "127.0.0.1"),
])
def test_the_client_is_the_right_most_untrusted_entry(peer, forwarded, expected):
    assert address_behind(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_ignored():
    assert address_behind("127.0.0.1", "198.51.100.1", parse_trusted_proxies("")) == "127.0.0.1"


def test_a_wrong_setting_is_named():
    with pytest.raises(ValueError, match="TRUSTED_PROXIES: 'proxy.local'"):
        parse_trusted_proxies("10.0.0.1, proxy.local")
