"""Rasa's end-to-end story test (``rasa test core --e2e``), the conversation's language aside.

``LanguageDetector`` (bot/nlu/language_detector.py) tags nearly every message with a
``language`` entity, which fills the ``language`` slot.  A test story annotates the entities the
story is about (login names, documents); asking it to mark every line with the language as well
would make every story a language test.  So this runner drops the detector's entity from what
Rasa compares (its ``_clean_entity_results``, applied to the gold and the predicted entities) and
runs Rasa's command line unchanged otherwise: a wrong intent, a wrong value entity or a wrong
action still fails a story.  tests/stories/test_language.yml checks the slot the entity fills
(``slot_was_set``), and tests/nlu/test_language_detector.py the detector itself.

Usage (the Makefile's ``test-stories``): ``python -m tests.stories.run test core --e2e …``.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List

import rasa.core.test as rasa_core_test
from rasa.__main__ import main

from bot.nlu.language_detector import EXTRACTOR_NAME

_clean_entity_results = rasa_core_test._clean_entity_results


def _without_the_language(text: str, entity_results: List[Dict[str, Any]]) -> Any:
    kept = [entity for entity in entity_results if entity.get("extractor") != EXTRACTOR_NAME]
    return _clean_entity_results(text, kept)


if __name__ == "__main__":
    rasa_core_test._clean_entity_results = _without_the_language
    sys.argv = ["rasa", *sys.argv[1:]]
    main()
