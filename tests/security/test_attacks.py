"""Attacks on the real running servers (issue 12, items 1 and 7); each one
must fail.  Before the hardening, one POST to the action server with a
made-up tracker got a password-reset link for any account, and a signed
identity token verified whoever presented it, as often and as late as they
liked, whatever service it was issued for.  docs/security.md has the threats."""
import json
import re
import socket
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple

import pytest

from bot.accounts import identity
from bot.channels.conversation_ids import rest_conversation
from bot.chat import send
from tests.security.conftest import ACTION_SERVER_TOKEN, AUDIENCE, IDENTITY_TOKEN_SECRET, VICTIM_PHONE

pytestmark = pytest.mark.integration

RESET_LINK = re.compile(r"/webhooks/account/reset\?token=")
ATTACKER_PHONE = "13912345679"


# -- talking to the servers --------------------------------------------------------------

def http(url: str, body: Optional[Dict[str, Any]] = None, headers: Optional[Dict[str, str]] = None,
         method: Optional[str] = None) -> Tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"),
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def bearer(token: str = ACTION_SERVER_TOKEN) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged_call(sender: str, slots: Dict[str, Any], text: str = "忘记密码了", intent: str = "forgot_password",
                requested: Optional[str] = None) -> Dict[str, Any]:
    """The body Rasa would send to run the reset form's validation, made up by an attacker: the
    flow just started, or (``requested``) the user answering the form's question with ``text``."""
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []}
    first = message if not requested else {"text": "忘记密码了", "intent": {"name": "forgot_password"}}
    events = [{"event": "action", "name": "action_listen"},
              {"event": "user", "text": first["text"], "parse_data": first},
              {"event": "action", "name": "action_start_flow"}]
    if requested:
        events += [{"event": "action", "name": "account_form"}, {"event": "action", "name": "action_listen"},
                   {"event": "user", "text": text, "parse_data": message}]
    events += [{"event": "slot", "name": "requested_slot", "value": requested},
               {"event": "action", "name": "account_form"}]
    return {
        "next_action": "validate_account_form",
        "sender_id": sender,
        "version": "3.6.2",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": {"flow": "reset", "requested_slot": requested, **slots},
            "latest_message": message,
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": "account_form"},
            "latest_action_name": "account_form",
        },
    }


def texts(reply: Any) -> str:
    return "\n".join(message.get("text") or "" for message in (reply or {}).get("responses", []))


def chat(assistant, sender: str, text: str, **metadata: Any) -> str:
    replies = send(assistant.running.rest_webhook, sender, text, metadata=metadata or None,
                   token=assistant.rest_token)
    return "\n".join(reply.get("text", "") for reply in replies)


def conversation_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def latest_code(accounts, phone: str) -> str:
    return re.search(r"验证码是 (\d{6})", accounts.outbox(phone=phone)[0].text).group(1)


def slot_values(assistant, sender: str, name: str) -> List[Any]:
    """The values a REST conversation's slot took, read from Rasa's SQL tracker store."""
    path = assistant.overrides["DATABASE_URL"][len("sqlite:///"):]
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'slot' ORDER BY id",
                                  (rest_conversation(sender),)).fetchall()
    return [event["value"] for event in map(json.loads, (row[0] for row in rows)) if event["name"] == name]


# -- 1. the action server is private and authenticated ------------------------------------------

@pytest.mark.parametrize("headers", [
    {},
    bearer("wrong-token-of-the-right-length-" + "x" * 20),
    bearer(ACTION_SERVER_TOKEN[:-1]),
    {"Authorization": ACTION_SERVER_TOKEN},  # no scheme
    {"Authorization": f"Basic {ACTION_SERVER_TOKEN}"},
])
def test_the_action_server_answers_401_without_its_token(assistant, victim, headers):
    call = forged_call(conversation_id("no-token"), {"verified_account": f"{victim.id}|2099-01-01T00:00:00"})
    status, reply = http(f"{assistant.running.actions_url}/webhook", call, headers)
    assert status == 401
    assert not RESET_LINK.search(json.dumps(reply, ensure_ascii=False))
    status, _ = http(f"{assistant.running.actions_url}/actions", headers=headers)
    assert status == 401


def test_the_token_in_the_url_is_not_accepted(assistant):
    status, _ = http(f"{assistant.running.actions_url}/actions?token={ACTION_SERVER_TOKEN}")
    assert status == 401


def test_health_stays_open_and_the_right_token_is_served(assistant):
    assert http(f"{assistant.running.actions_url}/health") == (200, {"status": "ok"})
    status, actions = http(f"{assistant.running.actions_url}/actions", headers=bearer())
    assert status == 200 and {"name": "validate_account_form"} in actions


@pytest.mark.parametrize("forge", [
    lambda account_id: f"{account_id}|2099-01-01T00:00:00",  # the slot format before the hardening
    lambda account_id: f"{account_id}|2099-01-01T00:00:00|{'A' * 43}",
])
def test_a_forged_verified_account_yields_no_reset_link_even_with_the_token(assistant, victim, forge):
    call = forged_call(conversation_id("forger"), {"verified_account": forge(victim.id)})
    status, reply = http(f"{assistant.running.actions_url}/webhook", call, bearer())
    assert status == 200
    assert not RESET_LINK.search(texts(reply)), texts(reply)
    assert "登录名" in texts(reply)  # the flow asks who the user is, as for anyone


def test_a_genuine_verification_copied_into_another_conversation_yields_no_reset_link(assistant, accounts, victim):
    # A real user verifies by SMS code over REST ...
    owner = conversation_id("owner")
    chat(assistant, owner, "忘记密码了")
    chat(assistant, owner, victim.login_name)
    assert RESET_LINK.search(chat(assistant, owner, latest_code(accounts, VICTIM_PHONE)))
    [genuine] = [value for value in slot_values(assistant, owner, "verified_account") if value]
    # ... and the attacker replays that exact slot value in a conversation of their own.
    call = forged_call(conversation_id("copier"), {"verified_account": genuine})
    status, reply = http(f"{assistant.running.actions_url}/webhook", call, bearer())
    assert status == 200 and not RESET_LINK.search(texts(reply)), texts(reply)


def test_forged_flow_data_cannot_redirect_the_code_to_the_attackers_phone(assistant, accounts, victim):
    """flow_data naming the victim's account as the target and the attacker's phone for the code."""
    forged = {"target": victim.id, "code_phone": ATTACKER_PHONE, "purpose": "reset"}
    call = forged_call(conversation_id("redirect"), {"flow_data": forged, "account_ref": "given"},
                       text="重发", intent="inform", requested="verification_code")
    status, reply = http(f"{assistant.running.actions_url}/webhook", call, bearer())
    assert status == 200
    assert list(accounts.outbox(phone=ATTACKER_PHONE)) == []
    assert not RESET_LINK.search(texts(reply))


def addresses_of_this_machine() -> List[str]:
    """Addresses other than BIND_HOST (127.0.0.1) that reach this machine."""
    found = {"127.0.0.2"}  # the whole of 127/8 is this machine on Linux
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this picks the outgoing interface
            found.add(probe.getsockname()[0])
    except OSError:
        pass
    try:
        found.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    return sorted(found - {"127.0.0.1", "0.0.0.0"})


def test_the_action_server_listens_on_bind_host_only(assistant):
    port = int(assistant.overrides["ACTIONS_PORT"])
    socket.create_connection(("127.0.0.1", port), timeout=2).close()  # BIND_HOST
    for address in addresses_of_this_machine():
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=2).close()


# -- 7. identity tokens ----------------------------------------------------------------------------

def token(login_name: str, **claims: Any) -> str:
    return identity.sign(login_name, IDENTITY_TOKEN_SECRET, AUDIENCE, **claims)


def refusals(accounts, sender: str) -> List[str]:
    return [json.loads(entry.detail)["reason"] for entry in accounts.audit_log()
            if entry.action == "identity_token_refused" and entry.actor == f"user:{rest_conversation(sender)}"]


def test_a_token_verifies_its_conversation_and_a_replay_elsewhere_verifies_nobody(assistant, accounts, victim):
    stolen = token(victim.login_name)
    owner = conversation_id("token-owner")
    assert RESET_LINK.search(chat(assistant, owner, "忘记密码了", identity_token=stolen))
    verified = [entry for entry in accounts.audit_log(victim.id)
                if entry.action == "identity_verified" and entry.actor == f"user:{rest_conversation(owner)}"]
    assert [json.loads(entry.detail)["method"] for entry in verified] == ["identity_token"]

    attacker = conversation_id("token-replay")
    answer = chat(assistant, attacker, "忘记密码了", identity_token=stolen)
    assert not RESET_LINK.search(answer) and "登录名" in answer
    assert refusals(accounts, attacker) == ["token already used in another conversation"]


@pytest.mark.parametrize("claims, reason", [
    ({"now": time.time() - 120, "lifetime_seconds": 60}, "token expired"),
    ({"now": time.time() - 3600, "lifetime_seconds": 86400}, "token too old (iat)"),
    ({"aud": "another-service-of-the-platform"}, "wrong audience"),
])
def test_an_expired_too_old_or_foreign_token_verifies_nobody(assistant, accounts, victim, claims, reason):
    sender = conversation_id("bad-token")
    answer = chat(assistant, sender, "忘记密码了", identity_token=token(victim.login_name, **claims))
    assert not RESET_LINK.search(answer) and "登录名" in answer
    assert refusals(accounts, sender) == [reason]
