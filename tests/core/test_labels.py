"""The words shown for each enum are written once: in ``bot/accounts/labels.py``
or ``bot/handoff/labels.py``.  Each table there has exactly one label per
member of its enum; no other source of bot/ or actions/ writes a table keyed
by those enums' members with words for values; the console's page script
holds none of them (it shows what the server rendered)."""
from __future__ import annotations

import ast
import enum
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from bot.accounts import labels as account_labels
from bot.accounts.models import AccountKind, Decision, RealnameState
from bot.handoff import labels as handoff_labels
from bot.handoff.models import HandoffOutcome, HandoffReason, HandoffState, Presence
from bot.language import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
LABEL_MODULES = {ROOT / "bot" / "accounts" / "labels.py", ROOT / "bot" / "handoff" / "labels.py"}
LABELLED_ENUMS = {cls.__name__: cls for cls in
                  (AccountKind, Decision, RealnameState, HandoffOutcome, HandoffReason, HandoffState, Presence)}
# Tables keyed by these enums that hold no labels: say why when adding one.
NOT_LABELS = {
    ("bot/console/charts.py", "REASON_COLOURS"),  # the charts' colours
    ("bot/handoff/service.py", "CLOSED_MESSAGES"),  # the refusals of a closed conversation, whole sentences
}
# Every table of the labels modules, with the enum it labels (None: keyed by channel names, no enum).
ENUM_TABLES = {
    "bot.accounts.labels.REALNAME_STATE_LABELS": RealnameState,
    "bot.accounts.labels.DECISION_LABELS": Decision,
    "bot.accounts.labels.ACCOUNT_KIND_LABELS": AccountKind,
    "bot.accounts.labels.ACCOUNT_KIND_WORDS": AccountKind,
    "bot.accounts.labels.ACCOUNT_KIND_HOLDERS": AccountKind,
    # The catalogue keys of the tables users read (bot/catalogues/<language>/labels.yml).
    "bot.accounts.labels.REALNAME_STATE_KEYS": RealnameState,
    "bot.accounts.labels.DECISION_KEYS": Decision,
    "bot.accounts.labels.ACCOUNT_KIND_HOLDER_KEYS": AccountKind,
    "bot.handoff.labels.REASON_LABELS": HandoffReason,
    "bot.handoff.labels.REASON_COLUMNS": HandoffReason,
    "bot.handoff.labels.CHANNEL_LABELS": None,
    "bot.handoff.labels.LANGUAGE_LABELS": None,  # keyed by bot.language.LANGUAGES (tested below)
    "bot.handoff.labels.STATE_LABELS": HandoffState,
    "bot.handoff.labels.OUTCOME_LABELS": HandoffOutcome,
    "bot.handoff.labels.PRESENCE_LABELS": Presence,
}


def label_tables() -> Dict[str, Dict[object, str]]:
    return {f"{module.__name__}.{name}": value
            for module in (account_labels, handoff_labels)
            for name, value in vars(module).items()
            if name.isupper() and isinstance(value, dict)}


def test_every_table_of_the_labels_modules_is_checked_here():
    assert set(label_tables()) == set(ENUM_TABLES)


def test_every_language_has_exactly_one_label():
    assert tuple(handoff_labels.LANGUAGE_LABELS) == LANGUAGES


@pytest.mark.parametrize("name", sorted(name for name, enum_class in ENUM_TABLES.items() if enum_class))
def test_every_member_has_exactly_one_label(name):
    table, enum_class = label_tables()[name], ENUM_TABLES[name]
    assert list(table) == list(enum_class), f"{name} must name each {enum_class.__name__} once, in order"
    assert all(isinstance(label, str) and label.strip() for label in table.values())
    assert len(set(table.values())) == len(table), f"{name}: two members share a label"


def enum_keyed_tables(path: Path) -> List[Tuple[str, List[str]]]:
    """(the assigned name, the enums) of each dict literal of ``path`` whose keys
    are all members of the labelled enums and whose values are all strings."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        targets: List[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if not isinstance(value, ast.Dict) or not value.keys:
            continue
        enums = sorted({key.value.id for key in value.keys
                        if isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name)
                        and key.value.id in LABELLED_ENUMS})
        keyed = len(enums) > 0 and all(isinstance(key, ast.Attribute) for key in value.keys)
        words = all(isinstance(item, ast.Constant) and isinstance(item.value, str) for item in value.values)
        if keyed and words:
            name = targets[0].id if isinstance(targets[0], ast.Name) else ast.unparse(targets[0])
            found.append((name, enums))
    return found


def sources() -> List[Path]:
    paths = sorted((ROOT / "bot").rglob("*.py")) + sorted((ROOT / "actions").glob("*.py"))
    return [path for path in paths if "node_modules" not in path.parts and "migrations" not in path.parts]


def test_no_label_table_is_written_outside_the_labels_modules():
    elsewhere = {(str(path.relative_to(ROOT)), name): enums
                 for path in sources() if path not in LABEL_MODULES
                 for name, enums in enum_keyed_tables(path)}
    assert set(elsewhere) - NOT_LABELS == set(), "labels belong in bot/accounts/labels.py or bot/handoff/labels.py"
    assert NOT_LABELS <= set(elsewhere), "an exception above names a table that is gone: drop it"


def test_the_finder_finds_a_copied_table(tmp_path):
    copy = tmp_path / "copy.py"
    copy.write_text('STATE = {RealnameState.FAILED: "实名认证失败", RealnameState.UNVERIFIED: "未实名认证"}\n'
                    'COLOURS: dict = {HandoffReason.USER_REQUEST: "#2563eb"}\n'
                    'OTHER = {Colour.RED: "红"}\nNUMBERS = {Decision.PENDING: 1}\n', encoding="utf-8")
    assert enum_keyed_tables(copy) == [("STATE", ["RealnameState"]), ("COLOURS", ["HandoffReason"])]


def test_the_console_script_holds_no_label():
    script = (ROOT / "bot" / "console" / "static" / "console.js").read_text(encoding="utf-8")
    labels = [label for table in label_tables().values() for label in table.values() if not label.isascii()]
    assert labels and [label for label in labels if label in script] == []


def test_the_labelled_enums_are_enums():
    assert all(issubclass(cls, enum.Enum) for cls in LABELLED_ENUMS.values())
