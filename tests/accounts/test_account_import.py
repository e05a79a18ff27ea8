"""The accounts importer (bot/accounts/account_import.py) and the demo data set, on
SQLite and PostgreSQL: every demo case present, re-import idempotent, a bad
file rejected as a whole with every problem listed, passwords only hashed."""
from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from sqlalchemy import func, select

from bot.accounts import account_import
from bot.accounts.checks import DOCUMENT_TYPE_BY_NAME, parse_credit_code, parse_mainland_id
from bot.accounts.diagnosis import missing_fields
from bot.accounts.models import (
    Account,
    AccountKind,
    Decision,
    Grant,
    ManualReview,
    RealnameState,
    Unit,
)
from bot.accounts.account_import import EMPTY_SHA256, InvalidAccountsFile, import_accounts, load_yaml
from bot.cli.db import DEMO_FILE, DEMO_PASSWORD
from bot.store import AuditEntry, Base, passwords
from tests.accounts.factories import rows

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "test:sync"
BJMM = "91110108MA01ABCD2X"
HDYJS = "12110108MB0123456X"
ONLINE, FAILED = RealnameState.VERIFIED_ONLINE, RealnameState.FAILED

# login name → (reserved phone, real-name state) of every natural demo account
NATURAL_CASES = {
    "zhangwei_01": ("13800138000", ONLINE),
    "lina_2020": ("13900139001", FAILED),
    "wangfang88": ("13700137002", FAILED),
    "john_smith": ("13600136003", FAILED),
    "liuyang_rv": ("13500135004", RealnameState.IN_REVIEW),
    "chenjing_9": ("13400134005", FAILED),
    "zhaolei_old": ("13300133006", ONLINE),
    "zhaolei_new": ("13300133007", FAILED),
    "sunli_nophone": (None, ONLINE),
    "zhoumin_hg": ("13200132008", ONLINE),
    "wugang_exp": ("13100131009", ONLINE),
    "zhenghao_ng": ("15000150010", ONLINE),
    "qianyu_unv": ("15100151011", RealnameState.UNVERIFIED),
    "heping_ot": ("15200152012", ONLINE),
    "xuli_fe": ("15300153013", ONLINE),
    "13511112222": ("13511112222", ONLINE),
    "13533334444": ("13533334444", ONLINE),
    "HJ_13522223333": ("13522223333", ONLINE),
    "91110107MA04TRCH3T": ("13811114444", RealnameState.UNVERIFIED),
}
# login name → (unit name, credit code, reserved phone, real-name state)
LEGAL_CASES = {
    "bjmm_keji": ("北京某某科技有限公司", BJMM, "13312345678", ONLINE),
    "hdyjs_unit": ("海淀某某研究所", HDYJS, "13312345679", FAILED),
    "szkj_legal": ("深圳某某科技有限公司", None, "13312345680", ONLINE),
    "91110105MA02TRCH1Q": ("北京火炬示范科技有限公司", "91110105MA02TRCH1Q", "13811112222", ONLINE),
    "HJ_91110106MA03TRCH2R": ("北京某某火炬创新有限公司", "91110106MA03TRCH2R", "13811113333", ONLINE),
}
TORCH_CASES = {  # login name → (case, key)
    "13511112222": (1, "13511112222"),
    "13533334444": (2, "13533334444"),
    "HJ_13522223333": (3, "13522223333"),
    "91110107MA04TRCH3T": (4, "91110107MA04TRCH3T"),
    "91110105MA02TRCH1Q": (1, "91110105MA02TRCH1Q"),
    "HJ_91110106MA03TRCH2R": (3, "91110106MA03TRCH2R"),
}


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch):
    """Few PBKDF2 rounds (the stored hash names its rounds, check_password follows)."""
    monkeypatch.setattr(account_import, "hash_password", lambda password: passwords.hash_password(password, 1000))


@pytest.fixture(scope="module")
def demo_data() -> Dict[str, Any]:
    return load_yaml(DEMO_FILE)


@pytest.fixture
def demo(demo_data) -> Dict[str, Any]:
    return copy.deepcopy(demo_data)


@pytest.fixture
def seeded(database, demo, clock) -> account_import.ImportReport:
    return import_accounts(database, demo, ACTOR, clock)


def account(session, login_name: str) -> Account:
    return session.execute(select(Account).where(Account.login_name == login_name)).scalar_one()


def snapshot(database) -> Dict[str, List[tuple]]:
    """Every row of every table, for "nothing changed" checks."""
    return {table.name: sorted(rows(database, table.name), key=repr) for table in Base.metadata.sorted_tables}


def problems_of(database, data: Dict[str, Any]) -> List[str]:
    with pytest.raises(InvalidAccountsFile) as raised:
        import_accounts(database, data, ACTOR)
    return raised.value.problems


def has_problem(problems: List[str], position: str, *words: str) -> bool:
    return any(problem.startswith(position) and all(word in problem for word in words)
               for problem in problems)


# -- the demo file ---------------------------------------------------------------


def test_demo_identity_numbers_and_credit_codes_are_well_formed(demo):
    for entry in demo["accounts"]:
        document = entry.get("document")
        if document and document["type"] == "居民身份证":
            assert parse_mainland_id(document["number"]) == document["number"], entry["login_name"]
        if "unit" in entry:
            code = entry["unit"]["credit_code"]
            assert parse_credit_code(code) == code
    assert {entry["login_name"] for entry in demo["accounts"]} == set(NATURAL_CASES) | set(LEGAL_CASES)


def test_demo_imports_every_account(seeded):
    assert sorted(seeded.created) == sorted(set(NATURAL_CASES) | set(LEGAL_CASES))
    assert seeded.updated == seeded.unchanged == []
    assert seeded.grants["created"] == 4 and seeded.reviews["created"] == 2


def test_demo_natural_cases(seeded, database):
    with database.session() as session:
        for login_name, (phone, state) in NATURAL_CASES.items():
            row = account(session, login_name)
            assert (row.kind, row.phone, row.state) == (AccountKind.NATURAL, phone, state), login_name
        assert account(session, "zhangwei_01").doc_valid_from == date(2015, 3, 1)
        assert missing_fields(account(session, "lina_2020")) == ["身份证有效起始日期"]
        assert missing_fields(account(session, "wangfang88")) == []
        john = account(session, "john_smith")
        assert (john.doc_type, john.doc_number) == ("境外护照", "E12345678")
        assert not DOCUMENT_TYPE_BY_NAME[john.doc_type].online
        old, new = account(session, "zhaolei_old"), account(session, "zhaolei_new")
        assert old.doc_number == new.doc_number and old.state.is_verified and not new.state.is_verified
        assert account(session, "heping_ot").overseas_training_registered is False
        assert account(session, "qianyu_unv").doc_number is None


def test_demo_document_of_zhaolei_is_held_by_the_old_account(seeded, service):
    [first, second] = service.document_holders("110101198703060354")
    assert (first.login_name, second.login_name) == ("zhaolei_old", "zhaolei_new")


def test_demo_reviews(seeded, database):
    with database.session() as session:
        [pending] = account(session, "liuyang_rv").reviews
        assert (pending.state, pending.created_at) == (Decision.PENDING, datetime(2026, 11, 21, 10, 0))
        [rejected] = account(session, "chenjing_9").reviews
        assert (rejected.state, rejected.reason) == (Decision.REJECTED, "证件照片模糊，无法辨认")
        assert account(session, "chenjing_9").realname_events[-1].note == "人工审核未通过：证件照片模糊，无法辨认"


def grants_of(session, login_name: str) -> List[tuple]:
    return [(grant.unit.credit_code, grant.system, grant.role, grant.expires_on)
            for grant in account(session, login_name).grants]


def test_demo_grants(seeded, database, clock):
    with database.session() as session:
        assert grants_of(session, "zhangwei_01") == [(BJMM, "human_genetic", "事项办理员", date(2027, 6, 30))]
        assert grants_of(session, "zhoumin_hg") == [(BJMM, "human_genetic", "事项管理员", date(2027, 12, 31))]
        [(_, _, role, expires)] = grants_of(session, "wugang_exp")
        assert role == "事项办理员" and expires == date(2026, 10, 31) < clock().date()
        assert grants_of(session, "xuli_fe") == [(HDYJS, "foreign_expert", "事项办理员", date(2027, 12, 31))]
        zhenghao = account(session, "zhenghao_ng")
        assert zhenghao.grants == []
        assert session.execute(select(Unit).where(Unit.main_agent_account_id == zhenghao.id)).first() is None
        assert grants_of(session, "qianyu_unv") == []


def test_demo_units(seeded, database):
    with database.session() as session:
        for login_name, (name, code, phone, state) in LEGAL_CASES.items():
            row = account(session, login_name)
            assert (row.kind, row.name, row.unit.name, row.phone, row.state) == \
                (AccountKind.LEGAL, name, name, phone, state), login_name
            assert code is None or row.unit.credit_code == code
        bjmm = account(session, "bjmm_keji").unit
        assert (bjmm.legal_type, bjmm.region, bjmm.other_info_complete) == ("企业法人", "境内", True)
        assert [former.name for former in bjmm.former_names] == ["北京某某信息技术有限公司"]
        assert {row.system for row in bjmm.systems} == {"human_genetic", "high_tech", "tech_contract"}
        assert bjmm.main_agent.login_name == "zhangwei_01"
        hdyjs = account(session, "hdyjs_unit")
        assert (hdyjs.unit.legal_type, hdyjs.unit.legal_rep_type, hdyjs.unit.other_info_complete) == \
            ("事业单位法人", None, False)
        assert any("法定代表人类型" in field for field in missing_fields(hdyjs))
        [(system, approved)] = [(row.system, row.supervisor_approved) for row in hdyjs.unit.systems]
        assert (system, approved) == ("foreign_expert", False)
        szkj = account(session, "szkj_legal").unit
        assert (szkj.systems, szkj.other_info_complete) == ([], False)


def test_demo_unit_is_found_by_its_former_name(seeded, service):
    [match] = service.find_units("北京某某信息技术有限公司")
    assert match.current_name == "北京某某科技有限公司" and match.matched_former_name


def test_demo_torch_accounts(seeded, database, service):
    with database.session() as session:
        for login_name, (case, key) in TORCH_CASES.items():
            row = account(session, login_name)
            assert (row.torch_case, row.torch_key) == (case, key), login_name
        assert account(session, "91110107MA04TRCH3T").kind == AccountKind.NATURAL
    assert [row.login_name for row in service.torch_accounts("91110106MA03TRCH2R")] == ["HJ_91110106MA03TRCH2R"]


def test_every_demo_account_has_the_demo_password(seeded, database):
    with database.session() as session:
        hashes = session.execute(select(Account.login_name, Account.password_hash)).all()
    assert len(hashes) == len(NATURAL_CASES) + len(LEGAL_CASES)
    assert all(passwords.check_password(DEMO_PASSWORD, stored) for _, stored in hashes)
    assert len({stored for _, stored in hashes}) == len(hashes)  # a salt of its own each


def test_imported_reviews_get_placeholder_uploads(seeded, database):
    uploads = rows(database, "uploads", "sender_id, stored_name, content_type, size, sha256")
    assert uploads == [("import", "", "image/jpeg", 0, EMPTY_SHA256)] * 4


def test_import_is_audited_with_the_actor(seeded, database):
    entries = rows(database, "audit_log", "actor, action, detail")
    assert {actor for actor, _, _ in entries} == {ACTOR}
    actions = [action for _, action, _ in entries]
    assert actions.count("account_created") == len(NATURAL_CASES) + len(LEGAL_CASES)
    assert actions.count("grant_imported") == 4 and actions.count("review_imported") == 2
    assert not any("13800138000" in (detail or "") for _, _, detail in entries)


# -- re-import and updates ---------------------------------------------------------


def test_reimport_changes_nothing(seeded, database, demo_data, clock):
    before = snapshot(database)
    clock.advance(days=1)
    report = import_accounts(database, copy.deepcopy(demo_data), ACTOR, clock)
    assert report.created == report.updated == []
    assert len(report.unchanged) == len(NATURAL_CASES) + len(LEGAL_CASES)
    assert report.grants == {"created": 0, "updated": 0, "unchanged": 4}
    assert report.reviews == {"created": 0, "updated": 0, "unchanged": 2}
    assert snapshot(database) == before


def test_present_keys_replace_left_out_keys_keep(seeded, database, clock):
    report = import_accounts(database, {"accounts": [{
        "login_name": "ZhangWei_01", "kind": "natural", "phone": "13800138999",
        "realname": {"state": "failed", "note": "证件已过期"}}]}, ACTOR, clock)
    assert report.updated == ["zhangwei_01"]
    with database.session() as session:
        row = account(session, "zhangwei_01")
        assert (row.phone, row.state, row.name) == ("13800138999", FAILED, "张伟")
        assert row.realname_events[-1].note == "证件已过期"
        assert len(row.grants) == 1
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "account_updated")).scalar_one()
    assert entry.actor == ACTOR and entry.account_id == row.id
    assert json.loads(entry.detail)["changed"] == ["phone", "realname_state"]
    assert "13800138999" not in entry.detail


def test_null_clears_an_optional_value(seeded, database):
    import_accounts(database, {"accounts": [{"login_name": "zhangwei_01", "kind": "natural",
                                             "phone": None, "torch": None}]}, ACTOR)
    with database.session() as session:
        assert account(session, "zhangwei_01").phone is None


def test_grants_are_replaced_per_unit_person_and_system(seeded, database):
    report = import_accounts(database, {"grants": [
        {"unit": BJMM, "person": "zhangwei_01", "system": "human_genetic", "role": "事项管理员"},
        {"unit": BJMM, "person": "zhenghao_ng", "system": "tech_contract", "role": "事项办理员",
         "expires_on": "2027-01-31"},
    ]}, ACTOR)
    assert report.grants == {"created": 1, "updated": 1, "unchanged": 0}
    with database.session() as session:
        assert grants_of(session, "zhangwei_01") == [(BJMM, "human_genetic", "事项管理员", None)]
        assert grants_of(session, "zhenghao_ng") == [(BJMM, "tech_contract", "事项办理员", date(2027, 1, 31))]
        assert session.execute(select(func.count()).select_from(Grant)).scalar_one() == 5


def test_lists_are_replaced_as_a_whole(seeded, database):
    import_accounts(database, {"accounts": [{"login_name": "bjmm_keji", "kind": "legal", "unit": {
        "former_names": [], "systems": [{"system": "human_genetic", "entered_on": "2025-03-01"}]}}]}, ACTOR)
    with database.session() as session:
        unit = account(session, "bjmm_keji").unit
        assert unit.former_names == [] and [row.system for row in unit.systems] == ["human_genetic"]
        assert unit.name == "北京某某科技有限公司"  # left out: kept


def test_a_decided_review_updates_the_imported_one(seeded, database):
    import_accounts(database, {
        "accounts": [{"login_name": "liuyang_rv", "kind": "natural",
                      "realname": {"state": "verified_manual", "note": "人工审核通过"}}],
        "reviews": [{"account": "liuyang_rv", "state": "approved", "created_at": "2026-11-21T10:00:00",
                     "decided_at": "2026-11-22T09:30:00+08:00"}]}, ACTOR)
    with database.session() as session:
        [review] = account(session, "liuyang_rv").reviews
        assert (review.state, review.decided_at) == (Decision.APPROVED, datetime(2026, 11, 22, 1, 30))
        assert session.execute(select(func.count()).select_from(ManualReview)).scalar_one() == 2


# -- passwords ---------------------------------------------------------------------


def test_plain_passwords_are_stored_nowhere(seeded, database):
    import_accounts(database, {"accounts": [{"login_name": "new_person", "kind": "natural",
                                             "password": "Secret#Pass99"}]}, ACTOR)
    dump = json.dumps(snapshot(database), default=str, ensure_ascii=False)
    assert DEMO_PASSWORD not in dump and "Secret#Pass99" not in dump
    with database.session() as session:
        stored = account(session, "new_person").password_hash
    assert passwords.check_password("Secret#Pass99", stored)
    assert not passwords.check_password(DEMO_PASSWORD, stored)


def test_real_imports_use_the_full_hash(database, monkeypatch):
    monkeypatch.setattr(account_import, "hash_password", passwords.hash_password)
    import_accounts(database, {"accounts": [{"login_name": "li_si", "kind": "natural",
                                             "password": "Li-Si#2026"}]}, ACTOR)
    [(stored,)] = rows(database, "accounts", "password_hash")
    assert stored.startswith("pbkdf2_sha256$200000$") and passwords.check_password("Li-Si#2026", stored)


def test_a_password_hash_is_taken_as_it_is(database):
    stored = passwords.hash_password("Wang-Wu#2026", 1000)
    import_accounts(database, {"accounts": [{"login_name": "wang_wu", "kind": "natural",
                                             "password_hash": stored}]}, ACTOR)
    assert rows(database, "accounts", "password_hash") == [(stored,)]


# -- bad files ---------------------------------------------------------------------

BAD_FILE = """
accounts:
  - login_name: zhangwei_01          # valid on its own: must not be written either
    kind: natural
    phone: "13800138111"
  - login_name: li_ming
    kind: natural
    password: "Demo@2026"
    name: 李明
    document: {type: 居民身份证, number: "110108198804120219"}   # wrong check character
  - login_name: wang_wu
    kind: natural
    password: "Demo@2026"
    nickname: 小王                   # unknown key
  - login_name: zhao_liu
    kind: natural
    password: "Demo@2026"
    name: "赵六'; DROP TABLE accounts; --"
  - login_name: new_unit
    kind: legal
    password: "Demo@2026"
    unit:
      name: 上海某某生物有限公司
      credit_code: 91310115MA1K4ABC3D
      legal_type: 企业法人
      region: 境内
      systems: [{system: space_program, entered_on: 2025-01-01}]
grants:
  - {unit: 91110108MA01ABCD2X, person: nobody_here, system: human_genetic, role: 事项办理员}
"""


def test_a_bad_file_lists_every_problem_and_writes_nothing(seeded, database):
    before = snapshot(database)
    problems = problems_of(database, yaml.safe_load(BAD_FILE))
    assert has_problem(problems, "accounts[1] (li_ming): document.number", "校验位")
    assert has_problem(problems, "accounts[2] (wang_wu)", "unknown key 'nickname'")
    assert has_problem(problems, "accounts[3] (zhao_liu): name", "'", ";")
    assert has_problem(problems, "accounts[4] (new_unit): unit.systems[0].system", "space_program")
    assert has_problem(problems, "grants[0]: person", "nobody_here")
    assert len(problems) == 5, problems
    assert snapshot(database) == before


def test_a_bad_file_writes_nothing_into_an_empty_store(database, demo):
    demo["accounts"][0]["document"]["number"] = "110108198804120219"
    problems = problems_of(database, demo)
    assert problems == ["accounts[0] (zhangwei_01): document.number: "
                        "这个身份证号的校验位不对，可能有一位输错了，请核对后重新输入。"]
    assert rows(database, "accounts") == [] and rows(database, "audit_log") == []


def test_problems_against_the_store_and_the_rest_of_the_file(seeded, database):
    problems = problems_of(database, {
        "accounts": [
            {"login_name": "zhenghao_ng", "kind": "legal"},
            {"login_name": "lina_2020", "kind": "natural",
             "document": {"type": "居民身份证", "number": "110108198804120218", "valid_from": "2020-01-01"},
             "realname": {"state": "verified_online"}},
            {"login_name": "other_unit", "kind": "legal", "password": "Demo@2026",
             "unit": {"name": "北京另一家科技有限公司", "credit_code": BJMM, "legal_type": "其他",
                      "region": "境内", "main_agent": "szkj_legal"}},
            {"login_name": "HJ_13900000000", "kind": "natural", "password": "Demo@2026",
             "torch": {"case": 3, "key": "13911111111"}},
            {"login_name": "Lina_2020", "kind": "natural"},
        ],
        "grants": [{"unit": "91440300MA5FKJ8N3R", "person": "heping_ot", "system": "high_tech",
                    "role": "事项办理员"},
                   {"unit": BJMM, "person": "szkj_legal", "system": "human_genetic", "role": "事项办理员"}],
        "reviews": [{"account": "wangfang88", "state": "pending", "created_at": "2026-11-22T08:00:00"},
                    {"account": "liuyang_rv", "state": "pending", "created_at": "2026-11-22T08:00:00"}],
    })
    expected = [
        ("accounts[0] (zhenghao_ng): kind", "cannot change"),
        ("accounts[1] (lina_2020): document.number", "zhangwei_01"),
        ("accounts[2] (other_unit): unit.main_agent", "legal account"),
        ("accounts[2] (other_unit): unit.credit_code", "bjmm_keji"),
        ("accounts[3] (HJ_13900000000): torch", "HJ_13911111111"),
        ("accounts[4] (Lina_2020): login_name", "accounts[1]"),
        ("grants[0]: system", "has not entered high_tech"),
        ("grants[1]: person", "legal account"),
        ("reviews[0] (wangfang88): state", "in_review"),
        ("reviews[1] (liuyang_rv): state", "2 pending reviews"),
    ]
    for position, words in expected:
        assert has_problem(problems, position, words), (position, problems)
    assert len(problems) == len(expected), "\n".join(problems)


def test_verified_needs_a_fitting_document(database):
    problems = problems_of(database, {"accounts": [
        {"login_name": "a_1", "kind": "natural", "password": "Demo@2026", "realname": {"state": "verified_manual"}},
        {"login_name": "a_2", "kind": "natural", "password": "Demo@2026", "name": "Anna Lee",
         "document": {"type": "境外护照", "number": "P1234567"}, "realname": {"state": "verified_online"}},
        {"login_name": "a_3", "kind": "natural", "password": "Demo@2026",
         "document": {"type": "居民身份证", "number": "110108198804120218"},
         "realname": {"state": "verified_online"}},
    ]})
    assert has_problem(problems, "accounts[0] (a_1): realname.state", "needs a document")
    assert has_problem(problems, "accounts[1] (a_2): realname.state", "never verified online")
    assert has_problem(problems, "accounts[2] (a_3): document.valid_from", "valid_from")
    assert len(problems) == 3


@pytest.mark.parametrize("data, problem", [
    (None, "file: is empty"),
    ({"accounts": {"login_name": "x"}}, "file: accounts: must be a list"),
    ({"accounts": [{"login_name": 13800138000, "kind": "natural", "password": "Demo@2026"}]},
     'accounts[0]: login_name: must be text in quotes, e.g. "13800138000"'),
    ({"accounts": [{"login_name": "a_b", "kind": "robot"}]}, "accounts[0] (a_b): kind: 'robot' is not one of"),
    ({"accounts": [{"login_name": "a_b", "kind": "natural", "password": "short"}]},
     "accounts[0] (a_b): password: does not meet the platform's rules"),
    ({"grants": [{"unit": BJMM, "person": "x_y", "system": "human_genetic", "role": "事项办理员",
                  "expires_on": "next year"}]}, "grants[0]: expires_on: must be a date"),
    ({"reviews": [{"account": "x_y", "state": "rejected", "created_at": "2026-11-10T09:00:00"}]},
     "reviews[0] (x_y): reason: a rejected review needs"),
])
def test_shape_problems(database, data, problem):
    assert any(found.startswith(problem) for found in problems_of(database, data))


def test_load_yaml_reports_duplicate_keys_and_impossible_dates(tmp_path):
    duplicate = tmp_path / "dup.yml"
    duplicate.write_text("accounts:\n  - login_name: a\n    login_name: b\n", encoding="utf-8")
    with pytest.raises(InvalidAccountsFile, match=r"line 3, column 5: key 'login_name' is given twice"):
        load_yaml(duplicate)
    impossible = tmp_path / "date.yml"
    impossible.write_text("grants:\n  - {expires_on: 2027-02-30}\n", encoding="utf-8")
    with pytest.raises(InvalidAccountsFile, match=r"line 2.*2027-02-30.*not a valid date"):
        load_yaml(impossible)


def test_the_example_in_the_docs_imports(database):
    text = (ROOT / "docs" / "accounts-import.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    report = import_accounts(database, yaml.load(example, Loader=yaml.SafeLoader), ACTOR)
    assert sorted(report.created) == ["HJ_13522223333", "bjmm_keji", "zhangwei_01"]
    assert report.grants["created"] == 2 and report.reviews["created"] == 1
