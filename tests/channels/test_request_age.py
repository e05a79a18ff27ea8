"""How long a request waited before its channel had it (bot/channels/request_age.py)."""
from types import SimpleNamespace

import pytest

from bot.channels.request_age import MAX_BELIEVED_SECONDS, stamp_of, waited_seconds

NOW = 1_764_612_345.5
NGINX = {"TRUSTED_PROXIES": "127.0.0.1"}


def request(peer: str, stamp: str = "") -> SimpleNamespace:
    return SimpleNamespace(ip=peer, headers={"x-request-start": stamp} if stamp else {})


@pytest.mark.parametrize("value, stamp", [
    ("t=1764612345.123", 1764612345.123),  # nginx's "t=${msec}"
    ("1764612345.123", 1764612345.123),
    ("", None), ("t=", None), ("t=soon", None), ("t=-5", None), ("t=nan", None), ("t=inf", None),
])
def test_the_stamp_is_read_or_refused(value, stamp):
    assert stamp_of(value) == stamp


def test_a_stamp_from_the_trusted_proxy_gives_the_wait():
    assert waited_seconds(request("127.0.0.1", f"t={NOW - 12.25}"), NOW, NGINX) == pytest.approx(12.25)


@pytest.mark.parametrize("peer, stamp", [
    ("203.0.113.9", f"t={NOW - 30}"),  # a client's own stamp: not believed either way
    ("127.0.0.1", ""),  # no stamp
    ("127.0.0.1", "t=yesterday"),
    ("127.0.0.1", f"t={NOW + 3}"),  # the proxy's clock ahead of ours
    ("127.0.0.1", f"t={NOW - MAX_BELIEVED_SECONDS - 1}"),  # clocks far apart, not a wait
    ("", f"t={NOW - 30}"),
])
def test_anything_else_counts_as_no_wait(peer, stamp):
    assert waited_seconds(request(peer, stamp), NOW, NGINX) == 0.0
