import json

import pytest

from bot.channels.rest import MAX_BODY_BYTES, BadRequest, parse_request_body


def body(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def test_a_valid_request_is_parsed():
    incoming = parse_request_body(body({"sender": "u-1", "message": "忘记密码", "metadata": {"a": 1}}))
    assert (incoming.sender_id, incoming.text, incoming.metadata) == ("u-1", "忘记密码", {"a": 1})


def test_numeric_senders_are_accepted_as_text():
    assert parse_request_body(body({"sender": 42, "message": "hi"})).sender_id == "42"


def test_an_empty_message_is_passed_on_for_the_assistant_to_answer():
    assert parse_request_body(body({"sender": "u", "message": ""})).text == ""


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"{not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe\x00garbage", "not valid UTF-8 JSON"),
        (b"", "not valid UTF-8 JSON"),
        (body(["sender", "message"]), "JSON object"),
        (body({"message": "hi"}), '"sender" is required'),
        (body({"sender": "", "message": "hi"}), '"sender" is required'),
        (body({"sender": "a b; drop table", "message": "hi"}), '"sender" is required'),
        (body({"sender": True, "message": "hi"}), '"sender" is required'),
        (body({"sender": "u"}), '"message" is required'),
        (body({"sender": "u", "message": 12}), '"message" must be a string'),
        (body({"sender": "u", "message": "hi", "metadata": "x"}), '"metadata" must be'),
        (b" " * (MAX_BODY_BYTES + 1), "larger than"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(raw, reason):
    with pytest.raises(BadRequest, match=reason):
        parse_request_body(raw)
