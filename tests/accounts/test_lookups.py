"""Finding accounts and units from what the user names, and the working days
a manual review takes."""
from datetime import date

import pytest

from bot.accounts.models import AccountKind, RealnameState
from bot.accounts.service import add_working_days
from tests.accounts.factories import add_account, add_unit

CREDIT_CODE = "91110108MA01ABCD3X"


@pytest.fixture
def people(database):
    """A natural account with document and phone, and a legal account with a unit."""
    natural = add_account(database, "ZhangSan_2020", phone="13800138000",
                          doc_type="居民身份证", doc_number="11010519491231002X")
    legal = add_account(database, "bjkj_2020", kind=AccountKind.LEGAL, phone="13900139000")
    add_unit(database, legal, "北京新名科技有限公司", CREDIT_CODE, former_names=["北京旧名科技有限公司"])
    return natural, legal


def ids(accounts):
    return [account.id for account in accounts]


# -- accounts_for_reference ----------------------------------------------------------

@pytest.mark.parametrize("reference", ["ZhangSan_2020", "zhangsan_2020", "ZHANGSAN_2020", "ｚｈａｎｇｓａｎ_2020"])
def test_account_by_login_name_ignores_case_and_width(service, people, reference):
    assert ids(service.accounts_for_reference(reference)) == [people[0]]


@pytest.mark.parametrize("reference", ["11010519491231002X", "11010519491231002x", "110105 19491231 002X"])
def test_account_by_document_number(service, people, reference):
    assert ids(service.accounts_for_reference(reference)) == [people[0]]


@pytest.mark.parametrize("reference", [CREDIT_CODE, CREDIT_CODE.lower()])
def test_legal_account_by_the_units_credit_code(service, people, reference):
    assert ids(service.accounts_for_reference(reference)) == [people[1]]


def test_account_by_reserved_phone(service, people):
    assert ids(service.accounts_for_reference("13800138000")) == [people[0]]
    assert ids(service.accounts_for_reference("13900139000")) == [people[1]]


def test_all_accounts_of_a_document_are_found(service, database, people):
    second = add_account(database, "zhangsan_new", doc_type="居民身份证", doc_number="11010519491231002X")
    assert ids(service.accounts_for_reference("11010519491231002X")) == [people[0], second]


@pytest.mark.parametrize("reference", ["nobody", "13700137000", "110101199003074514", "", "ZhangSan"])
def test_unknown_reference_finds_nothing(service, people, reference):
    assert service.accounts_for_reference(reference) == []


def test_registration_exists_tells_the_kind(service, people):
    assert service.registration_exists("zhangsan_2020") == AccountKind.NATURAL
    assert service.registration_exists(CREDIT_CODE) == AccountKind.LEGAL
    assert service.registration_exists("nobody") is None


def test_account_by_login_is_case_insensitive(service, people):
    assert service.account_by_login("zhangsan_2020").id == people[0]
    assert service.account_by_login("nobody") is None


# -- find_units -----------------------------------------------------------------

def test_unit_by_current_name_is_not_a_rename(service, people):
    [match] = service.find_units("北京新名科技有限公司")
    assert (match.account_id, match.current_name, match.matched_former_name) == (
        people[1], "北京新名科技有限公司", False)


@pytest.mark.parametrize("code", [CREDIT_CODE, CREDIT_CODE.lower(), " 9111 0108 MA01 ABCD 3X"])
def test_unit_by_credit_code(service, people, code):
    [match] = service.find_units(code)
    assert match.account_id == people[1] and not match.matched_former_name


def test_unit_by_former_name_is_a_rename(service, people):
    [match] = service.find_units("北京旧名科技有限公司")
    assert match.account_id == people[1]
    assert match.current_name == "北京新名科技有限公司"
    assert match.matched_former_name


def test_unit_name_must_match_exactly(service, people):
    assert service.find_units("北京新名科技") == []
    assert service.find_units("新名科技有限公司") == []


# -- document_holders -------------------------------------------------------------

DOC = "110101199003074514"


@pytest.mark.parametrize("verified_state", [RealnameState.VERIFIED_ONLINE, RealnameState.VERIFIED_MANUAL])
def test_verified_holder_comes_first(service, database, verified_state):
    first = add_account(database, "holder_a", doc_number=DOC, state=RealnameState.FAILED)
    second = add_account(database, "holder_b", doc_number=DOC)
    verified = add_account(database, "holder_c", doc_number=DOC, state=verified_state)
    assert ids(service.document_holders(DOC)) == [verified, first, second]


def test_holders_without_a_verified_one_keep_their_order(service, database):
    first = add_account(database, "holder_a", doc_number=DOC, state=RealnameState.IN_REVIEW)
    second = add_account(database, "holder_b", doc_number=DOC)
    add_account(database, "someone_else", doc_number="440102197806012345",
                state=RealnameState.VERIFIED_ONLINE)
    assert ids(service.document_holders(DOC)) == [first, second]


# -- working days -----------------------------------------------------------------

@pytest.mark.parametrize("start, days, expected", [
    (date(2026, 11, 23), 2, date(2026, 11, 25)),  # Monday → Wednesday
    (date(2026, 11, 26), 2, date(2026, 11, 30)),  # Thursday → Monday
    (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Friday → Monday
    (date(2026, 11, 28), 1, date(2026, 11, 30)),  # Saturday → Monday
    (date(2026, 11, 29), 2, date(2026, 12, 1)),  # Sunday → Tuesday
    (date(2026, 11, 23), 5, date(2026, 11, 30)),  # a whole week
    (date(2026, 11, 23), 0, date(2026, 11, 23)),
])
def test_working_days_skip_the_weekend(start, days, expected):
    assert add_working_days(start, days) == expected


def test_login_names_differing_only_in_case_cannot_both_exist(database):
    import sqlalchemy as sa
    from datetime import datetime

    from bot.accounts.models import Account, AccountKind

    def add(login_name):
        with database.session() as session:
            session.add(Account(kind=AccountKind.NATURAL, login_name=login_name, password_hash="x",
                                created_at=datetime(2026, 11, 23)))

    add("Zhang_San")
    with pytest.raises(sa.exc.IntegrityError):
        add("zhang_san")
