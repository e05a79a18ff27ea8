"""docs/architecture.md, the map of the code, stays true: it names every part
of bot/ (each package and each top-level module), every file or folder it
names exists, every table it says a recipe registers in is defined in the file
it names, it cites every rule of tests/core/test_import_layers.py by its test,
its links reach existing docs and headings, every feature row of the README's
"What it does" table has its row on the map, and the README links the map."""
import ast
import re
from pathlib import Path
from typing import List, Set

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
DOC_PATH = ROOT / "docs" / "architecture.md"
DOC = DOC_PATH.read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
LAYER_TESTS = ROOT / "tests" / "core" / "test_import_layers.py"

# Backticked names that are paths of the project: a top folder or a root file, then anything
# but spaces; `<name>` marks a placeholder, `*` a glob.
ROOT_FILES = ("config.yml", "endpoints.yml", "credentials.yml", "README.md", "Makefile", "pyproject.toml")
PATH = re.compile(r"`((?:bot|actions|data|domain|tests|docs)/[^`\s]*|" + "|".join(map(re.escape, ROOT_FILES)) + r")`")
# "`TABLE` in `path.py`" (or "of"): a recipe's registration table and where it lives.
TABLE_IN_FILE = re.compile(r"`([A-Z][A-Z0-9_]+)`\s+(?:in|of)\s+`([\w/]+\.py)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def bot_parts() -> List[str]:
    """What the map must name: every folder directly under bot/, every package
    below them, and every top-level module, as paths (folders end with /)."""
    parts = {f"bot/{path.name}" if path.suffix else f"bot/{path.name}/"
             for path in BOT.iterdir()
             if (path.is_dir() and not path.name.startswith((".", "__"))) or path.suffix == ".py"}
    parts |= {f"{init.parent.relative_to(ROOT).as_posix()}/" for init in BOT.rglob("__init__.py")
              if "node_modules" not in init.parts and init.parent != BOT}
    return sorted(parts)


def named_paths(text: str) -> List[str]:
    return sorted(set(PATH.findall(text)))


def path_exists(name: str) -> bool:
    if "*" in name:
        return any(ROOT.glob(name))
    if "<" in name:  # bot/accounts/flows/<name>.py: its folder exists
        name = name[: name.index("<")].rsplit("/", 1)[0]
    return (ROOT / name).exists()


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> Set[str]:
    return {github_anchor(line.lstrip("#")) for line in markdown.splitlines() if re.match(r"#{1,6} ", line)}


def table_rows(markdown: str, heading: str) -> List[List[str]]:
    """The cells of the rows of the first table under ``heading`` (header and rule left out)."""
    section = markdown.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


# -- the checks of the map itself ----------------------------------------------------------------


@pytest.mark.parametrize("part", bot_parts())
def test_the_map_names_every_part_of_bot(part):
    assert f"`{part}`" in DOC or part in DOC, f"docs/architecture.md does not name {part}"


def test_the_part_finder_sees_the_packages():
    parts = bot_parts()
    assert {"bot/store/", "bot/accounts/", "bot/accounts/flows/", "bot/services.py", "bot/widget/"} <= set(parts)


def test_every_path_the_map_names_exists():
    names = named_paths(DOC)
    assert len(names) > 50  # the map was read
    assert [name for name in names if not path_exists(name)] == []


def test_the_path_finder_reads_placeholders_and_globs():
    assert named_paths("`bot/x/<name>.py`, `actions/*.py`, `config.yml`, `readers.py`, `/webhooks/`") == [
        "actions/*.py", "bot/x/<name>.py", "config.yml"]
    assert path_exists("bot/accounts/flows/<name>.py") and path_exists("actions/*.py")
    assert not path_exists("bot/nowhere/<name>.py") and not path_exists("bot/nothing.py")


def defined_names(path: Path) -> Set[str]:
    names: Set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_every_registration_table_of_a_recipe_is_where_the_map_says():
    pairs = TABLE_IN_FILE.findall(DOC)
    assert {"FLOWS", "FAQ_TOPICS", "CHANNELS", "SETTINGS", "GROUPS"} <= {name for name, _ in pairs}
    misplaced = [(name, path) for name, path in pairs if name not in defined_names(ROOT / path)]
    assert misplaced == []


def test_the_map_cites_every_layer_rule_by_its_test():
    tests = {node.name for node in ast.parse(LAYER_TESTS.read_text(encoding="utf-8")).body
             if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    cited = set(re.findall(r"`(test_\w+)`", DOC.split("## A message's way", 1)[0]))
    assert tests == cited


def test_the_cli_packages_list_names_every_registered_group():
    """The recipe for a command group ends with a line in bot/cli/__init__.py's list."""
    import bot.cli
    from bot.cli import main

    listed = set(re.findall(r"^  (\w+)\.py ", bot.cli.__doc__ or "", re.M))
    registered = {register.__module__.rsplit(".", 1)[1] for register in main.GROUPS}
    assert registered == listed


def test_the_maps_links_reach_existing_docs_and_headings():
    broken = []
    for target in LINK.findall(DOC):
        if "://" in target:
            continue
        file, _, anchor = target.partition("#")
        path = (DOC_PATH.parent / file) if file else DOC_PATH
        if not path.exists():
            broken.append(target)
        elif anchor and anchor not in anchors(path.read_text(encoding="utf-8")):
            broken.append(target)
    assert broken == []


def test_the_anchor_rule_is_githubs():
    assert github_anchor("Diagnoses (`bot/accounts/diagnosis.py`)") == "diagnoses-botaccountsdiagnosispy"
    assert github_anchor("Back office: `python -m bot`") == "back-office-python--m-bot"


def test_every_doc_is_on_the_map():
    docs = {path.name for path in (ROOT / "docs").glob("*.md")} - {"architecture.md"}
    assert [name for name in sorted(docs) if f"]({name}" not in DOC] == []


# -- the README ------------------------------------------------------------------------------------


def test_every_feature_of_the_readme_has_its_row_on_the_map():
    features = [row[0] for row in table_rows(README, "## What it does")]
    keys = [row[0] for row in table_rows(DOC, "## Features → code and docs")]
    assert len(features) >= 10 and keys
    assert [feature for feature in features if not any(key in feature for key in keys)] == []


def test_the_readme_links_the_map_before_its_layout_table():
    link = README.index("(docs/architecture.md")
    assert link < README.index("## Layout") or link < README.index("| `bot/` |")
    assert "(docs/architecture.md#features--code-and-docs)" in README
    assert "features--code-and-docs" in anchors(DOC)
