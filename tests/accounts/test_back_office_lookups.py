"""The account service's lookups for the back office (``python -m bot``): one
account with everything shown of it, login names by id, accounts by login
name, the count of accounts outside a list, and where review photos are."""
from __future__ import annotations

import pytest

from bot.accounts.models import AccountKind, Decision, RealnameState
from bot.accounts.account_import import import_accounts, load_yaml
from bot.cli.db import DEMO_FILE
from tests.accounts.factories import add_account, photo


@pytest.fixture
def demo(database):
    data = load_yaml(DEMO_FILE)
    import_accounts(database, data, "test")
    return [entry["login_name"] for entry in data["accounts"]]


def test_account_details_load_everything_shown_outside_the_session(service, demo):
    legal = service.account_details("BJMM_KEJI")  # any letter case
    assert legal is not None and legal.login_name == "bjmm_keji"
    # Read after the session closed: every relation must already be loaded.
    unit = legal.unit
    assert unit.main_agent.login_name == "zhangwei_01"
    assert [former.name for former in unit.former_names] == ["北京某某信息技术有限公司"]
    assert {row.system for row in unit.systems} and unit.grants
    assert {grant.account.login_name for grant in unit.grants} >= {"zhangwei_01", "zhoumin_hg", "wugang_exp"}
    assert legal.realname_events is not None and legal.reviews == []

    person = service.account_details("zhangwei_01")
    assert person is not None and person.unit is None
    assert {grant.unit.name for grant in person.grants} == {unit.name}

    reviewed = service.account_details("liuyang_rv")
    assert reviewed is not None and [Decision(review.state) for review in reviewed.reviews] == [Decision.PENDING]


def test_account_details_of_an_unknown_login_is_none(service, demo):
    assert service.account_details("nobody") is None


def test_logins_by_id_leave_out_none_and_unknown_ids(service, database):
    first = add_account(database, "first_one")
    second = add_account(database, "Second_Two")
    assert service.logins([second, None, first, first, 999_999]) == {first: "first_one", second: "Second_Two"}
    assert service.logins([]) == {} and service.logins([None]) == {}


def test_accounts_by_login_match_exact_names(service, database):
    add_account(database, "alpha_1", state=RealnameState.VERIFIED_ONLINE)
    add_account(database, "beta_2", kind=AccountKind.LEGAL)
    found = service.accounts_by_login(["alpha_1", "beta_2", "gamma_3"])
    assert set(found) == {"alpha_1", "beta_2"}
    assert RealnameState(found["alpha_1"].realname_state) == RealnameState.VERIFIED_ONLINE
    assert AccountKind(found["beta_2"].kind) == AccountKind.LEGAL
    assert service.accounts_by_login([]) == {}


def test_count_accounts_except_ignores_letter_case(service, database):
    for login in ("demo_a", "Demo_B", "real_user"):
        add_account(database, login)
    assert service.count_accounts_except(["DEMO_A", "demo_b"]) == 1
    assert service.count_accounts_except(["demo_a", "demo_b", "real_user"]) == 0
    assert service.count_accounts_except([]) == 3


def test_stored_photos_are_paths_in_order(service):
    front = service.save_upload("web:1", photo(), "front.jpg")
    back = service.save_upload("web:1", photo(), "back.jpg")
    paths = service.stored_photos([front.id, back.id])
    assert paths == [service.uploads.path_of(front), service.uploads.path_of(back)]
    assert all(path.exists() for path in paths)


def test_stored_photos_of_imported_or_missing_uploads_are_none(service, demo):
    review = next(review for review in service.list_reviews() if review.account.login_name == "liuyang_rv")
    assert service.stored_photos([review.front_upload_id, review.back_upload_id]) is None  # imported: no files
    front = service.save_upload("web:1", photo(), "front.jpg")
    assert service.stored_photos([front.id, "0" * 32]) is None
