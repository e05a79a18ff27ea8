"""The language the channels speak in (bot/channels/conversation_language.py): the
conversation's slot first, the client's hint next, the default last."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rasa.shared.core.events import SlotSet
from rasa.shared.core.slots import CategoricalSlot
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.conversation_language import chosen_language, slot_language, stored_language


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
