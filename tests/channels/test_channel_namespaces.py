"""Conversation ids belong to their channel (bot/channels/conversation_ids.py):
each channel builds ids of its own namespace only, and no two channels' ids
can be the same string."""
import pytest

from bot.channels.conversation_ids import (
    CHANNELS,
    MAX_CONVERSATION_ID_CHARS,
    channel_of,
    conversation_id,
    local_id,
    rest_conversation,
    telegram_conversation,
    widget_conversation,
)
from bot.channels.telegram import chat_id_of, sender_id_of
from bot.channels.widget import new_session_id

SESSION = "0123456789abcdef" * 2


def test_each_channel_prefixes_its_own_ids():
    assert rest_conversation("crm-7") == "rest:crm-7"
    assert widget_conversation(SESSION) == f"widget:{SESSION}"
    assert telegram_conversation(4242) == "telegram:4242"
    assert telegram_conversation(-1001234567890) == "telegram:-1001234567890"
    assert sender_id_of(4242) == "telegram:4242"


@pytest.mark.parametrize(
    "client_id",
    ["telegram:1", f"widget:{SESSION}", SESSION, "rest:x", "4242", "telegram:-1001234567890"],
)
def test_a_rest_client_naming_another_channel_stays_in_the_rest_namespace(client_id):
    conversation = rest_conversation(client_id)
    assert conversation == f"rest:{client_id}"
    assert channel_of(conversation) == "rest"
    assert local_id(conversation, "rest") == client_id
    for other in ("widget", "telegram"):
        with pytest.raises(ValueError):
            local_id(conversation, other)


def test_rest_telegram_1_collides_with_nothing():
    conversation = rest_conversation("telegram:1")
    assert conversation != telegram_conversation(1)
    with pytest.raises(ValueError):
        chat_id_of(conversation)  # Telegram never delivers to it


def test_no_two_channels_ids_are_the_same_string():
    # Local ids of each channel, including ones that look like another channel's ids.
    samples = {
        "rest": ["1", "telegram:1", SESSION, f"widget:{SESSION}", "rest:1", "a" * 123],
        "widget": [SESSION, new_session_id()],
        "telegram": ["1", "-1", "4242"],
    }
    built = {(channel, local): conversation_id(channel, local)
             for channel, locals_ in samples.items() for local in locals_}
    assert len(set(built.values())) == len(built)
    for (channel, local), conversation in built.items():
        assert channel_of(conversation) == channel and local_id(conversation, channel) == local
        assert len(conversation) <= MAX_CONVERSATION_ID_CHARS


@pytest.mark.parametrize(
    "channel, local",
    [
        ("widget", "alice"),
        ("widget", SESSION.upper()),
        ("widget", SESSION + "\n"),
        ("widget", f"telegram:{SESSION}"),
        ("telegram", "abc"),
        ("telegram", "42\n"),
        ("telegram", "rest:42"),
        ("rest", ""),
        ("rest", "a b"),
        ("rest", "a\n"),
        ("rest", "a" * 124),  # rest: + 124 would not fit the stores' 128 characters
        ("console", "x"),
    ],
)
def test_malformed_local_ids_are_refused(channel, local):
    with pytest.raises(ValueError):
        conversation_id(channel, local)


@pytest.mark.parametrize("old_id", [SESSION, "4242", "it-0123456789", "default", "widget:alice", "telegram:x", ""])
def test_ids_stored_before_the_namespaces_belong_to_no_channel(old_id):
    assert channel_of(old_id) is None
    for channel in CHANNELS:
        with pytest.raises(ValueError):
            local_id(old_id, channel)


def test_telegram_delivers_only_to_telegram_conversations():
    assert chat_id_of("telegram:4242") == 4242
    for recipient in ("4242", f"widget:{SESSION}", "rest:4242", "rest:telegram:4242", "telegram:"):
        with pytest.raises(ValueError):
            chat_id_of(recipient)
