"""The language the channels speak in (bot/channels/conversation_language.py): the
conversation's slot first, the client's hint next, the default last; the language a turn
leaves, noted as the conversation store saves the turn (the widget's per-turn language)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.slots import CategoricalSlot
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels import widget as widget_channel
from bot.channels.conversation_language import (
    chosen_language,
    note_stored,
    noting_turn_language,
    slot_language,
    stored_language,
)
from bot.channels.turns import Outcome, watch_stores
from tests.channels.test_widget_channel import RecordingServer


def tracker(language=None) -> DialogueStateTracker:
    slot = CategoricalSlot("language", mappings=[], values=["zh", "en"], influence_conversation=False)
    conversation = DialogueStateTracker("widget:abc", [slot])
    if language is not None:
        conversation.update(SlotSet("language", language))
    return conversation


class Store:
    def __init__(self, found=None, fails=False) -> None:
        self.found, self.fails = found, fails

    async def retrieve(self, sender_id):
        if self.fails:
            raise ConnectionError("database down")
        return self.found


def app_with(store) -> SimpleNamespace:
    return SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=store)))


def test_the_slot_wins_over_the_hint_and_unset_falls_back_to_it():
    assert slot_language(tracker("en")) == "en" and slot_language(tracker()) is None
    assert chosen_language(tracker("zh"), "en-US") == "zh"
    assert chosen_language(tracker(), "en-US") == "en"
    assert chosen_language(None, None) == "zh"


@pytest.mark.asyncio
async def test_the_stored_conversations_language_or_none():
    assert await stored_language(app_with(Store(tracker("en"))), "widget:abc") == "en"
    assert await stored_language(app_with(Store(tracker())), "widget:abc") is None
    assert await stored_language(app_with(Store(None)), "widget:abc") is None  # a new conversation
    assert await stored_language(app_with(Store(fails=True)), "widget:abc") is None  # never fails a turn
    assert await stored_language(None, "widget:abc") is None


@pytest.mark.asyncio
@pytest.mark.parametrize("language", ["en", "zh"])
async def test_the_widgets_history_brings_the_upload_refusals_in_the_conversations_language(language):
    from bot import config
    from bot.accounts.uploads import upload_refusals
    from bot.channels.widget import WidgetInput

    history = await WidgetInput()._history(app_with(Store(tracker(language))), "widget:abc")
    assert history["language"] == language
    assert history["upload_refusals"] == upload_refusals(config.get_int("MAX_UPLOAD_BYTES"), language)
    assert history["upload_refusals"] != upload_refusals(config.get_int("MAX_UPLOAD_BYTES"), "zh" if language == "en" else "en")


# -- the language a turn leaves, noted as the store saves it (no read after the turn) ---------------

def test_a_turn_notes_the_language_its_own_conversation_was_saved_with():
    with noting_turn_language("widget:abc") as left:
        assert not left.stored and left.language is None
        other = tracker("zh")
        other.sender_id = "widget:other"
        note_stored(other)  # another conversation saved meanwhile: not this turn's
        assert not left.stored
        note_stored(tracker("en"))
    assert left.stored and left.language == "en"
    note_stored(tracker("zh"))  # after the turn: noted nowhere
    assert left.language == "en"
    with noting_turn_language("widget:abc") as unset:
        note_stored(tracker())
    assert unset.stored and unset.language is None


class FailingStore(InMemoryTrackerStore):
    async def save(self, tracker):
        raise ConnectionError("database down")


def watched(store):
    """The conversation store as the Rasa server runs it: Rasa's fail-safe wrapper, watched."""
    fail_safe = FailSafeTrackerStore(store)
    watch_stores(SimpleNamespace(tracker_store=fail_safe))
    watch_stores(SimpleNamespace(tracker_store=fail_safe))  # a second start wraps it once only
    return fail_safe


@pytest.mark.asyncio
async def test_the_watched_store_notes_each_saved_conversations_language_once_it_is_stored():
    domain = Domain.from_dict({"slots": {"language": {"type": "categorical", "values": ["zh", "en"],
                                                      "influence_conversation": False,
                                                      "mappings": [{"type": "custom"}]}}})
    store = watched(InMemoryTrackerStore(domain))
    with noting_turn_language("widget:abc") as left:
        await store.save(tracker("en"))
    assert left.stored and left.language == "en"
    assert slot_language(await store.retrieve("widget:abc")) == "en"  # saved as before

    failing = watched(FailingStore(Domain.empty()))
    with noting_turn_language("widget:abc") as unsaved:
        with pytest.raises(ConnectionError):
            await failing.save(tracker("en"))
    assert not unsaved.stored  # the turn was not stored: nothing to tell


class LanguageRecordingServer(RecordingServer):
    async def emit(self, event, data, room=None, **kwargs):
        self.emitted.append((event, data.get("text"), data.get("language")))


@pytest.mark.parametrize("language", ["en", "zh", None])
def test_the_widget_tells_the_language_the_turn_was_stored_with_without_reading_it(monkeypatch, language):
    """The widget turns English in the turn that switched: the language comes with the save of the
    turn (``noting_turn_language``), not from another read of the conversation."""
    async def no_read(*_args):
        raise AssertionError("the conversation was read again after the turn")

    monkeypatch.setattr(widget_channel, "stored_language", no_read)
    store = watched(InMemoryTrackerStore(Domain.empty()))
    sio = LanguageRecordingServer()
    conversation = f"widget:{'a' * 32}"

    async def receive(message):  # the turn, as Rasa runs it: answers, then stores the conversation
        await message.output_channel.send_text_message(message.sender_id, "答复")
        stored = tracker(language)
        stored.sender_id = conversation
        await store.save(stored)
        return Outcome.ANSWERED

    widget_channel.WidgetInput()._add_socket_handlers(sio, SimpleNamespace(ctx=SimpleNamespace()), receive)
    asyncio.run(sio.handlers["user_uttered"]("sid-1", {"session_id": "a" * 32, "message": "English please"}))
    assert sio.emitted == [("bot_uttered", "答复", language)]


def test_a_store_nobody_watches_is_read_back_for_the_language(monkeypatch):
    async def read(_app, conversation):
        assert conversation == f"widget:{'a' * 32}"
        return "en"

    monkeypatch.setattr(widget_channel, "stored_language", read)
    sio = LanguageRecordingServer()

    async def receive(message):
        await message.output_channel.send_text_message(message.sender_id, "answer")
        return Outcome.ANSWERED

    widget_channel.WidgetInput()._add_socket_handlers(sio, SimpleNamespace(ctx=SimpleNamespace()), receive)
    asyncio.run(sio.handlers["user_uttered"]("sid-1", {"session_id": "a" * 32, "message": "hi"}))
    assert sio.emitted == [("bot_uttered", "answer", "en")]
