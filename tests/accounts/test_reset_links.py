"""Password-reset links: only the token's hash stored, the password rules,
one use, 15 minutes, audited."""
import hashlib
import re

import pytest

from bot.accounts.checks import InvalidInput
from bot.accounts.models import Account
from bot.accounts.service import LinkRefused
from bot.store.passwords import check_password
from tests.accounts.factories import OLD_PASSWORD, add_account, rows

NEW_PASSWORD = "New-Passw0rd"


@pytest.fixture
def account_id(database):
    return add_account(database, "zhangsan", phone="13800138000")


def token_of(url: str) -> str:
    match = re.search(r"/webhooks/account/reset\?token=([A-Za-z0-9_\-]+)$", url)
    assert match, url
    return match.group(1)


def password_hash(database, account_id: int) -> str:
    with database.session() as session:
        return session.get(Account, account_id).password_hash


def test_link_carries_a_long_random_token(service, account_id):
    first = token_of(service.create_reset_link(account_id, "assistant"))
    second = token_of(service.create_reset_link(account_id, "assistant"))
    assert len(first) >= 40
    assert first != second


def test_only_the_hash_of_the_token_is_stored(service, database, account_id):
    token = token_of(service.create_reset_link(account_id, "assistant"))
    [row] = rows(database, "reset_tokens")
    assert not any(token in str(value) for value in row)
    assert hashlib.sha256(token.encode()).hexdigest() in row


def test_link_shows_the_login_name_masked(service, account_id):
    token = token_of(service.create_reset_link(account_id, "assistant"))
    assert service.reset_link_login(token) == "zha***an"


def test_repeated_password_must_match(service, database, account_id):
    token = token_of(service.create_reset_link(account_id, "assistant"))
    before = password_hash(database, account_id)
    with pytest.raises(InvalidInput, match="不一致"):
        service.reset_password(token, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert password_hash(database, account_id) == before
    service.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)  # the link was not spent


@pytest.mark.parametrize("weak, rule", [
    ("Ab1!xyz", "至少 8 位"),
    ("abcdefgh1", "至少 3 种"),
    ("ABCDEFGHIJ", "至少 3 种"),
    ("Ab1!" * 17, "不超过 64 位"),
])
def test_weak_password_is_refused_with_the_rule(service, database, account_id, weak, rule):
    token = token_of(service.create_reset_link(account_id, "assistant"))
    before = password_hash(database, account_id)
    with pytest.raises(InvalidInput, match=rule):
        service.reset_password(token, weak, weak)
    assert password_hash(database, account_id) == before
    service.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)  # the link was not spent


def test_reset_sets_the_new_password(service, database, account_id):
    token = token_of(service.create_reset_link(account_id, "assistant"))
    before = password_hash(database, account_id)
    assert service.reset_password(token, NEW_PASSWORD, NEW_PASSWORD) == "zha***an"
    after = password_hash(database, account_id)
    assert after != before
    assert NEW_PASSWORD not in after
    assert check_password(NEW_PASSWORD, after)
    assert not check_password(OLD_PASSWORD, after)


def test_link_works_only_once(service, database, account_id):
    token = token_of(service.create_reset_link(account_id, "assistant"))
    service.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)
    with pytest.raises(LinkRefused, match="用过"):
        service.reset_password(token, "Other-Passw0rd", "Other-Passw0rd")
    with pytest.raises(LinkRefused, match="用过"):
        service.reset_link_login(token)
    assert check_password(NEW_PASSWORD, password_hash(database, account_id))


def test_link_is_valid_for_15_minutes(service, clock, account_id):
    token = token_of(service.create_reset_link(account_id, "assistant"))
    clock.advance(minutes=14, seconds=59)
    service.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)


def test_link_expires_after_15_minutes(service, database, clock, account_id):
    token = token_of(service.create_reset_link(account_id, "assistant"))
    before = password_hash(database, account_id)
    clock.advance(minutes=15, seconds=1)
    with pytest.raises(LinkRefused, match="过期"):
        service.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)
    with pytest.raises(LinkRefused, match="过期"):
        service.reset_link_login(token)
    assert password_hash(database, account_id) == before


@pytest.mark.parametrize("token", ["not-a-token", "", None])
def test_unknown_token_is_refused(service, account_id, token):
    service.create_reset_link(account_id, "assistant")
    with pytest.raises(LinkRefused, match="无效"):
        service.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)


def test_token_of_one_account_resets_only_that_account(service, database, account_id):
    other_id = add_account(database, "lisi_2024")
    token = token_of(service.create_reset_link(account_id, "assistant"))
    before = password_hash(database, other_id)
    service.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)
    assert password_hash(database, other_id) == before


def test_link_and_reset_are_audited(service, account_id):
    token = token_of(service.create_reset_link(account_id, "assistant"))
    service.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)
    entries = service.audit_log(account_id)
    assert [(entry.actor, entry.action) for entry in entries] == [
        ("assistant", "reset_link_created"), ("reset_page", "password_reset")]
    assert all(NEW_PASSWORD not in (entry.detail or "") for entry in entries)
