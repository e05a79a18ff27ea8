"""The back-office commands (bot/cli/) through ``python -m bot``'s main(),
on SQLite and PostgreSQL: output, masking, decisions, and errors as one line
on stderr with exit status 1."""
from __future__ import annotations

import getpass
import io
from pathlib import Path
from typing import List, Tuple

import pytest
from PIL import Image

from bot.__main__ import main
from bot.accounts import account_import
from bot.accounts.models import AccountKind, Decision, RealnameState
from bot.accounts.service import AppealDraft
from bot.cli.db import DEMO_PASSWORD
from bot.store import passwords
# The fixtures of the account-store tests (tests/accounts/conftest.py), as beside them.
from tests.accounts.conftest import clock, database, service  # noqa: F401
from tests.accounts.factories import add_account, rows
from tests.accounts.test_account_import import LEGAL_CASES, NATURAL_CASES

ACTOR = f"cli:{getpass.getuser()}"
LEAF_COMMANDS = [
    ["db", "upgrade"], ["db", "seed-demo"], ["accounts", "import"], ["accounts", "show"],
    ["sms", "outbox"], ["reviews", "list"], ["reviews", "approve"], ["reviews", "reject"],
    ["appeals", "list"], ["appeals", "approve"], ["appeals", "reject"],
]
SMALL_FILE = """
accounts:
  - login_name: wangfang88
    kind: natural
    password: "Demo@2026"
    phone: "13700137002"
    name: 王芳
    document: {type: 居民身份证, number: "110102198509030625", valid_from: 2016-09-10}
    realname: {state: failed, note: 国家平台核验未通过}
  - login_name: chenjing_9
    kind: natural
    password: "Demo@2026"
    phone: "13400134005"
    name: 陈静
    document: {type: 居民身份证, number: "320102199311110244", valid_from: 2019-11-11}
    realname: {state: failed}
  - login_name: sunli_nophone
    kind: natural
    password: "Demo@2026"
    name: 孙丽
    document: {type: 居民身份证, number: "110106197905210469", valid_from: 2019-05-21}
    realname: {state: verified_online}
  - login_name: bjmm_keji
    kind: legal
    password: "Demo@2026"
    phone: "13312345678"
    realname: {state: verified_online}
    unit:
      name: 北京某某科技有限公司
      credit_code: 91110108MA01ABCD2X
      legal_type: 企业法人
      region: 境内
      legal_representative: {name: 王某}
      main_agent: wangfang88
      systems: [{system: human_genetic, entered_on: 2025-03-01}]
grants:
  - {unit: 91110108MA01ABCD2X, person: sunli_nophone, system: human_genetic, role: 事项办理员, expires_on: 2026-10-31}
"""


@pytest.fixture(autouse=True)
def settings(monkeypatch, tmp_path):
    monkeypatch.setenv("SMS_BACKEND", "outbox")
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "uploads"))  # where the service fixture stores photos
    monkeypatch.setattr(account_import, "hash_password", lambda password: passwords.hash_password(password, 1000))


def cli(capsys, database, *argv: str) -> Tuple[int, str, str]:
    code = main([*argv, "--database-url", database.url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_error_line(code: int, out: str, err: str, *words: str) -> None:
    assert code == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and all(word in err for word in words), err


@pytest.fixture
def small_store(database, tmp_path, capsys) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(SMALL_FILE, encoding="utf-8")
    assert cli(capsys, database, "accounts", "import", str(path))[0] == 0
    return path


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 180, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def photos(service, sender: str) -> List[str]:
    return [service.save_upload(sender, png(), name).id for name in ("front.png", "back.png")]


def account_state(service, login_name: str) -> RealnameState:
    return service.account_by_login(login_name).state


# -- help ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", LEAF_COMMANDS, ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "--database-url" in out and len(out.splitlines()) > 3


def test_groups_list_their_commands(capsys):
    with pytest.raises(SystemExit):
        main(["reviews", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("list", "approve", "reject"))


# -- db ----------------------------------------------------------------------------------


def test_db_upgrade(database, capsys):
    code, out, err = cli(capsys, database, "db", "upgrade")
    assert (code, err) == (0, "") and "up to date" in out


def test_seed_demo_prints_the_logins_and_the_password_and_can_run_again(database, capsys):
    code, out, err = cli(capsys, database, "db", "seed-demo")
    assert (code, err) == (0, "")
    assert "24 created" in out and f"password of every demo account: {DEMO_PASSWORD}" in out
    assert all(login_name in out for login_name in [*NATURAL_CASES, *LEGAL_CASES])
    code, out, _ = cli(capsys, database, "db", "seed-demo")
    assert code == 0 and "0 created, 0 updated, 24 unchanged" in out
    actors = {actor for actor, action in rows(database, "audit_log", "actor, action") if action == "account_created"}
    assert actors == {ACTOR}


def test_seed_demo_keeps_out_of_a_real_store(database, capsys):
    add_account(database, "real_person")
    assert_one_error_line(*cli(capsys, database, "db", "seed-demo"), "1 account(s)", "--force")
    assert len(rows(database, "accounts")) == 1


# -- accounts ------------------------------------------------------------------------------


def test_import_prints_a_summary(database, tmp_path, capsys):
    path = tmp_path / "accounts.yml"
    path.write_text(SMALL_FILE, encoding="utf-8")
    code, out, err = cli(capsys, database, "accounts", "import", str(path))
    assert (code, err) == (0, "")
    assert "accounts: 4 created" in out and "grants: 1 created" in out
    code, out, _ = cli(capsys, database, "accounts", "import", str(path))
    assert "4 unchanged" in out


def test_import_of_a_bad_file_lists_every_problem(database, tmp_path, capsys):
    path = tmp_path / "bad.yml"
    path.write_text(SMALL_FILE.replace('"13700137002"', '"1370013700"').replace("region: 境内", "region: 火星")
                    .replace("person: sunli_nophone", "person: nobody"), encoding="utf-8")
    code, out, err = cli(capsys, database, "accounts", "import", str(path))
    lines = err.splitlines()
    assert code == 1 and out == "" and "Traceback" not in err
    assert lines[0] == f"error: {path}: 3 problems in the accounts file, nothing was imported:"
    assert lines[1].startswith("  accounts[0] (wangfang88): phone: ")
    assert lines[2].startswith("  accounts[3] (bjmm_keji): unit.region: '火星' is not one of")
    assert lines[3] == "  grants[0]: person: no account nobody in the file or the store"
    assert len(lines) == 4 and rows(database, "accounts") == []


def test_import_of_a_missing_file(database, tmp_path, capsys):
    assert_one_error_line(*cli(capsys, database, "accounts", "import", str(tmp_path / "none.yml")),
                          "none.yml", "No such file")


def test_show_masks_identity_data(database, small_store, capsys):
    code, out, err = cli(capsys, database, "accounts", "show", "SunLi_NoPhone")
    assert (code, err) == (0, "")
    assert "login name:       sunli_nophone" in out and "verified_online" in out
    assert "孙*" in out and "孙丽" not in out
    assert "1101**********0469" in out and "110106197905210469" not in out
    assert "reserved phone:   （无）" in out
    assert "北京某某科技有限公司 (91110108MA01ABCD2X)  human_genetic  事项办理员  2026-10-31  expired" in out


def test_show_a_unit(database, small_store, capsys):
    code, out, _ = cli(capsys, database, "accounts", "show", "bjmm_keji")
    assert code == 0 and "133****5678" in out and "13312345678" not in out
    assert "credit code:      91110108MA01ABCD2X" in out
    assert "王*" in out and "法定代表人类型不能为空" in out
    assert "main agent:       wangfang88 (failed)" in out
    assert "human_genetic since 2025-03-01" in out


def test_show_an_unknown_login(database, capsys):
    assert_one_error_line(*cli(capsys, database, "accounts", "show", "ghost"), "no account", "ghost")


def test_an_empty_store_asks_for_the_upgrade(tmp_path, capsys):
    code = main(["accounts", "show", "x", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"])
    captured = capsys.readouterr()
    assert_one_error_line(code, captured.out, captured.err, "no such table", "db upgrade")


# -- reviews -------------------------------------------------------------------------------


def test_reviews_are_listed_approved_and_rejected(service, database, small_store, capsys):
    first = service.open_review(service.account_by_login("wangfang88").id, *photos(service, "u1"), "u1")
    second = service.open_review(service.account_by_login("chenjing_9").id, *photos(service, "u2"), "u2")

    code, out, _ = cli(capsys, database, "reviews", "list", "--state", "pending")
    assert code == 0 and "wangfang88" in out and "chenjing_9" in out
    photo_line = next(line for line in out.splitlines() if line.startswith(f"review {first.id}: front "))
    assert all(Path(path.strip(",")).is_file() for path in photo_line.split()[3::2])

    code, out, _ = cli(capsys, database, "reviews", "approve", str(first.id))
    assert code == 0 and "wangfang88 is now verified_manual" in out and "137****7002" in out
    assert account_state(service, "wangfang88") == RealnameState.VERIFIED_MANUAL

    code, out, _ = cli(capsys, database, "reviews", "reject", str(second.id), "--reason", "照片反光，看不清号码")
    assert code == 0 and "chenjing_9 is now failed" in out
    assert account_state(service, "chenjing_9") == RealnameState.FAILED

    texts = {message.phone: message.text for message in service.outbox()}
    assert "人工审核已通过" in texts["13700137002"] and "照片反光，看不清号码" in texts["13400134005"]
    decided = [actor for actor, action in rows(database, "audit_log", "actor, action")
               if action in ("review_approved", "review_rejected")]
    assert decided == [ACTOR, ACTOR]
    code, out, _ = cli(capsys, database, "reviews", "list", "--state", "pending")
    assert out.strip() == "no reviews"


def test_review_decisions_that_cannot_be_made(service, database, small_store, capsys):
    review = service.open_review(service.account_by_login("wangfang88").id, *photos(service, "u1"), "u1")
    assert cli(capsys, database, "reviews", "approve", str(review.id))[0] == 0
    assert_one_error_line(*cli(capsys, database, "reviews", "approve", str(review.id)), "already approved")
    assert_one_error_line(*cli(capsys, database, "reviews", "reject", "999", "--reason", "x"), "no review 999")
    other = service.open_review(service.account_by_login("chenjing_9").id, *photos(service, "u2"), "u2")
    assert_one_error_line(*cli(capsys, database, "reviews", "reject", str(other.id), "--reason", "  "),
                          "needs a reason")
    assert service.list_reviews(Decision.PENDING)[0].id == other.id


def test_imported_reviews_have_no_photos(database, capsys):
    cli(capsys, database, "db", "seed-demo")
    code, out, _ = cli(capsys, database, "reviews", "list")
    assert code == 0 and "证件照片模糊，无法辨认" in out
    assert "no photos (imported from the platform)" in out
    code, out, _ = cli(capsys, database, "reviews", "approve", "1")
    assert code == 0 and "liuyang_rv is now verified_manual" in out


# -- appeals -------------------------------------------------------------------------------


def appeal(service, sender: str, doc_number: str, phone: str):
    front, back = photos(service, sender)
    return service.create_appeal(AppealDraft(
        kind=AccountKind.NATURAL, phone=phone, front_upload_id=front, back_upload_id=back,
        person_name="孙丽", doc_type="居民身份证", doc_number=doc_number), sender)


def test_appeals_are_listed_approved_and_rejected(service, database, small_store, capsys):
    found = appeal(service, "u1", "110106197905210469", "13900001111")
    unknown = appeal(service, "u2", "110108198804120218", "13900002222")

    code, out, _ = cli(capsys, database, "appeals", "list")
    assert code == 0 and found.number in out and unknown.number in out
    assert "139****1111" in out and "13900001111" not in out and "110106197905210469" not in out
    assert "sunli_nophone" in out and "no match" in out and f"appeal {found.number}: front " in out

    code, out, _ = cli(capsys, database, "appeals", "approve", found.number)
    assert code == 0 and "139****1111" in out
    assert service.account_by_login("sunli_nophone").phone == "13900001111"
    assert_one_error_line(*cli(capsys, database, "appeals", "approve", unknown.number), "matches no account")
    code, out, _ = cli(capsys, database, "appeals", "reject", unknown.number, "--reason", "证件号与姓名不符")
    assert code == 0 and "rejected" in out

    states = {a.number: a.state for a in service.list_appeals()}
    assert states == {found.number: Decision.APPROVED, unknown.number: Decision.REJECTED}
    code, out, _ = cli(capsys, database, "sms", "outbox", "--phone", "13900001111")
    assert code == 0 and "13900001111" in out and "sunli_nophone" in out  # the operator's view: unmasked
    code, out, _ = cli(capsys, database, "sms", "outbox", "--phone", "139 0000 2222")
    assert "证件号与姓名不符" in out
    assert_one_error_line(*cli(capsys, database, "appeals", "approve", "SS000"), "no appeal SS000")


# -- sms -----------------------------------------------------------------------------------


def test_outbox_limit_and_bad_phone(service, database, clock, capsys):
    for minutes in range(3):
        service.send_code("13800138000", "reset")
        clock.advance(minutes=2)
    code, out, _ = cli(capsys, database, "sms", "outbox", "--limit", "2")
    assert code == 0 and len([line for line in out.splitlines() if "13800138000" in line]) == 2
    assert_one_error_line(*cli(capsys, database, "sms", "outbox", "--phone", "12345"), "12345")
    code, out, _ = cli(capsys, database, "sms", "outbox", "--phone", "13900000000")
    assert out.strip() == "no messages"
