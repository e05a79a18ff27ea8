"""The client address behind a request (bot/channels/client_address.py): the peer,
unless the peer is one of TRUSTED_PROXIES; then the right-most address of
X-Forwarded-For that is not a trusted proxy."""
from types import SimpleNamespace

import pytest

from bot.channels.client_address import client_address, forwarded_client, trusted_proxies
from bot.channels.widget import socket_client_address

PROXIES = trusted_proxies({"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7 ::1"})


class Headers(dict):
    def getall(self, name, default):
        return [self[name]] if name in self else default


def request(peer: str, forwarded: str = None):
    return SimpleNamespace(ip=peer, headers=Headers({"x-forwarded-for": forwarded} if forwarded else {}))


def test_the_setting_is_parsed_and_a_bad_entry_named():
    assert [str(network) for network in PROXIES] == ["10.0.0.0/8", "192.0.2.7/32", "::1/128"]
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
    assert forwarded_client(peer, forwarded, PROXIES) == client


def test_without_trusted_proxies_the_header_is_ignored(monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    assert client_address(request("127.0.0.1", "198.51.100.1")) == "127.0.0.1"
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    assert client_address(request("127.0.0.1", "198.51.100.1")) == "198.51.100.1"


def test_a_widget_socket_has_the_address_of_the_request_that_opened_it(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    assert socket_client_address({"sanic.request": request("127.0.0.1", "198.51.100.4")}) == "198.51.100.4"
    assert socket_client_address({}) == ""
