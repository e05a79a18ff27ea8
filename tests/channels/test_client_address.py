"""The client's address behind TRUSTED_PROXIES (bot/channels/client_address.py):
X-Forwarded-For is believed only from a trusted peer, and then only its
right-most entry that is not a trusted proxy; what the client wrote to the
left of it never counts."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.channels.client_address import address_behind, client_address, forwarded_client, parse_trusted_proxies, trusted_proxies
from bot.channels.widget import socket_client_address

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


SETTING_PROXIES = trusted_proxies({"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7 ::1"})


class Headers(dict):
    def getall(self, name, default):
        return [self[name]] if name in self else default


def request(peer: str, forwarded: str = None):
    return SimpleNamespace(ip=peer, headers=Headers({"x-forwarded-for": forwarded} if forwarded else {}))


def test_the_setting_is_parsed_and_a_bad_entry_named():
    assert [str(network) for network in SETTING_PROXIES] == ["10.0.0.0/8", "192.0.2.7/32", "::1/128"]
    assert trusted_proxies({}) == []
    with pytest.raises(ValueError, match="'proxy.example'"):
        trusted_proxies({"TRUSTED_PROXIES": "10.0.0.1,proxy.example"})


@pytest.mark.parametrize("peer, forwarded, client", [
    ("203.0.113.5", None, "203.0.113.5"),
    ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # not from a trusted proxy: the header is the client's word
    ("10.1.2.3", "198.51.100.1", "198.51.100.1"),
    ("10.1.2.3", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client wrote the left part: not believed
    ("10.1.2.3", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"),  # a chain of trusted proxies
    ("10.1.2.3", "10.4.4.4, 10.9.9.9", "10.4.4.4"),  # only proxies: the left-most
    ("10.1.2.3", "198.51.100.1, garbage", "10.1.2.3"),  # garbage passed on: the proxy is all we know
    ("192.0.2.7", "2001:db8::5", "2001:db8::5"),
    ("::ffff:10.1.2.3", "198.51.100.1", "198.51.100.1"),  # an IPv4 peer seen through an IPv6 socket
    ("::1", "198.51.100.1", "198.51.100.1"),
])
def test_the_right_most_untrusted_address_is_the_client(peer, forwarded, client):
    assert forwarded_client(peer, forwarded, SETTING_PROXIES) == client


def test_without_trusted_proxies_a_requests_header_is_ignored(monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    assert client_address(request("127.0.0.1", "198.51.100.1")) == "127.0.0.1"
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    assert client_address(request("127.0.0.1", "198.51.100.1")) == "198.51.100.1"


def test_a_widget_socket_has_the_address_of_the_request_that_opened_it(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    assert socket_client_address({"sanic.request": request("127.0.0.1", "198.51.100.4")}) == "198.51.100.4"
    assert socket_client_address({}) == ""
