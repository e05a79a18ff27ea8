"""The table of the account flows (bot/accounts/flows/table.py) against the
domain, the readers and the prompts: a flow registered in the table can be
started, and every question it can ask can be asked and read."""
import ast
from pathlib import Path
from typing import Any, Dict, Set

import pytest
import yaml

from bot.accounts.flows import FLOW_OF_INTENT, FLOW_SLOTS, FLOWS, GIVEN_VALUE_SLOTS, Context, Flow
from bot.accounts.flows.prompts import ACCOUNT_REF_PROMPTS, PHOTOS, UNIT_PHOTOS, prompt
from bot.accounts.flows.readers import READERS

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = ROOT / "bot" / "accounts" / "flows"


def domain() -> Dict[str, Any]:
    merged: Dict[str, Any] = {"intents": [], "entities": [], "slots": {}, "forms": {}}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8"))
        merged["intents"] += [next(iter(i)) if isinstance(i, dict) else i for i in part.get("intents") or []]
        merged["entities"] += [next(iter(e)) if isinstance(e, dict) else e for e in part.get("entities") or []]
        merged["slots"].update(part.get("slots") or {})
        merged["forms"].update(part.get("forms") or {})
    return merged


DOMAIN = domain()


def test_the_intents_start_the_same_flows_as_before():
    # A new flow adds an entry; none of these may change or go.
    assert FLOW_OF_INTENT.items() >= {
        "forgot_password": "reset",
        "forgot_login_name": "appeal",
        "id_already_registered": "registered_id",
        "unit_already_registered": "registered_unit",
        "realname_failed": "realname",
        "missing_grant": "grant",
        "check_registration": "registration",
        "torch_lookup": "torch",
        "appeal_status": "appeal_status",
    }.items()


def test_every_flow_an_intent_starts_is_registered_and_every_registered_flow_has_its_intent():
    assert set(FLOW_OF_INTENT.values()) == set(FLOWS)
    assert len(FLOW_OF_INTENT) == len(FLOWS)  # no two flows claim one intent
    assert all(isinstance(flow, Flow) for flow in FLOWS.values())


def test_the_table_names_the_domains_flows_and_intents():
    assert list(FLOWS) == DOMAIN["slots"]["flow"]["values"]
    assert set(FLOW_OF_INTENT) <= set(DOMAIN["intents"])


def test_the_form_asks_exactly_the_flow_slots():
    assert list(FLOW_SLOTS) == DOMAIN["forms"]["account_form"]["required_slots"]


def test_every_slot_has_exactly_one_reader():
    assert list(READERS) == list(FLOW_SLOTS)
    assert all(callable(reader) for reader in READERS.values())


SLOT_VARIANTS = [
    {},
    {"account_kind": "natural"},
    {"account_kind": "legal"},
    {"account_kind": "legal", "flow_data": {"renamed": True}},
]


@pytest.mark.parametrize("flow", list(FLOWS))
@pytest.mark.parametrize("slot", FLOW_SLOTS)
def test_every_slot_has_a_prompt_in_every_flow(flow, slot):
    for variant in SLOT_VARIANTS:
        question = prompt(Context({"flow": flow, **variant}, "sender"), slot)
        assert question["text"].strip() and question["text"].endswith(("。", "？", "："))
        assert all(button["title"] and button["payload"] for button in question.get("buttons", []))


def test_account_reference_questions_are_worded_for_registered_flows_only():
    assert set(ACCOUNT_REF_PROMPTS) - {"default"} <= set(FLOWS)


def test_values_of_the_first_message_answer_slots_with_readers_and_are_kinds_the_nlu_finds():
    assert GIVEN_VALUE_SLOTS == {name: flow.given_values for name, flow in FLOWS.items()}
    for flow in FLOWS.values():
        for slot, kinds in flow.given_values:
            assert slot in READERS
            assert kinds and set(kinds) <= set(DOMAIN["entities"])


def test_photo_questions_state_the_upload_limit_from_the_setting(monkeypatch):
    ctx = Context({"flow": "appeal"}, "sender")
    assert prompt(ctx, "photo_front")["text"] == "请上传本人签字的证件正面照片（jpg、jpeg 或 png，不超过 1 MB）。"
    monkeypatch.setenv("MAX_UPLOAD_BYTES", str(3 * 1048576 // 2))
    assert prompt(ctx, "photo_back")["text"] == "请上传证件反面照片（jpg、jpeg 或 png，不超过 1.5 MB）。"
    renamed = Context({"flow": "appeal", "flow_data": {"renamed": True}}, "sender")
    assert prompt(renamed, "photo_back")["text"].endswith("（jpg、jpeg 或 png，不超过 1.5 MB）。")
    assert set(PHOTOS) == set(UNIT_PHOTOS) == {"photo_front", "photo_back"}


# -- the package's layers -----------------------------------------------------------------

# The modules of the registered flows: a new flow module joins its layer by its entry in the
# table (a module that defines no registered flow has no layer, and fails below).
FLOW_MODULES = {flow.next_step.__module__.rsplit(".", 1)[1] for flow in FLOWS.values()}
# Each module imports only modules of the layers before its own (the package's docstring).
LAYERS = [
    {"base", "privacy"},
    {"prompts"},
    {"verification"},
    {"flow"},
    FLOW_MODULES,
    {"table"},
    {"readers"},
    {"engine"},
]


def package_imports(module: str) -> Set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    prefix = "bot.accounts.flows"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(prefix):
            if node.module == prefix:
                found |= {alias.name for alias in node.names}
            else:
                found.add(node.module[len(prefix) + 1:])
        elif isinstance(node, ast.Import):
            found |= {alias.name[len(prefix) + 1:] for alias in node.names if alias.name.startswith(prefix + ".")}
    return found


def test_every_module_of_the_package_has_its_layer():
    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set().union(*LAYERS)


@pytest.mark.parametrize("depth", range(len(LAYERS)))
def test_modules_import_only_the_layers_below_them(depth):
    below = set().union(*LAYERS[:depth])
    for module in LAYERS[depth]:
        assert package_imports(module) <= below, module


def test_the_flow_modules_are_found_from_the_table():
    assert {"reset", "appeal", "registered", "realname", "grant", "registration", "torch",
            "appeal_status"} <= FLOW_MODULES


def test_flow_modules_do_not_know_each_other_or_the_table():
    flow_modules = LAYERS[4]
    for module in flow_modules:
        assert not package_imports(module) & (flow_modules | {"table", "readers", "engine"}), module
