"""The language switch's domain (domain/language.yml) on the merged domain: no model needed."""
from rasa.shared.core.domain import Domain

from tests.project_data import ROOT


def test_the_language_entity_never_steers_the_dialogue():
    """It comes with nearly every message; as a feature it would make every story miss its memorised states."""
    domain = Domain.load(str(ROOT / "domain"))
    assert "language" in domain.entities
    assert [intent for intent in domain.intents if "language" in domain.intent_config(intent)["used_entities"]] == []


def test_the_switch_and_the_session_start_are_in_the_domain():
    domain = Domain.load(str(ROOT / "domain"))
    assert "set_language" in domain.intents
    assert {"action_set_language", "action_session_start"} <= set(domain.user_actions)
