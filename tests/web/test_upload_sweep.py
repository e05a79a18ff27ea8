"""The Rasa server's sweep of unattached photos (bot/web/account.py): the
account channel's blueprint on a small Sanic app, on the ``services``
fixture with a clock the test moves.  Photos no review or appeal uses
UPLOAD_UNATTACHED_HOURS after their upload are deleted at start-up (and
hourly after).  The request size bound: tests/security/test_bounded_input.py."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot import config
from bot.web.account import AccountWebInput
from tests.accounts.factories import photo
from tests.servers import free_port, serving_blueprint


class MovableClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 10, 0, 0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


async def on_new_message(_message) -> None:
    raise AssertionError("the account channel hands nothing to Rasa")


@pytest.mark.asyncio
async def test_the_server_deletes_unattached_photos_a_day_old_when_it_starts(services, clock):
    old = services.accounts.save_upload("widget:" + "a" * 32, photo(), "front.jpg")
    clock.now += timedelta(hours=config.get_int("UPLOAD_UNATTACHED_HOURS")) - timedelta(minutes=1)
    recent = services.accounts.save_upload("widget:" + "b" * 32, photo(), "front.jpg")
    clock.now += timedelta(minutes=2)  # the first photo is a day old, the second is not
    blueprint = AccountWebInput().blueprint(on_new_message)
    async with serving_blueprint(blueprint, "/webhooks/account", "account_sweep", free_port()):
        for _ in range(100):
            if not services.accounts.uploads.path_of(old).exists():
                break
            await asyncio.sleep(0.05)
    assert not services.accounts.uploads.path_of(old).exists()
    assert services.accounts.uploads.path_of(recent).exists()
    assert services.accounts.stored_photos([old.id]) is None
    assert services.accounts.stored_photos([recent.id]) is not None

