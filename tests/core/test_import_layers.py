"""Every module of bot/ imports, and bot's packages import each other without
a cycle: the command line (bot/cli/) builds on the services, never the other
way round; the store (bot/store/) is the bottom layer; only the entry points
(channels, console, web pages, CLI and the actions) reach the composition root
(bot/services.py); the web packages (bot/console/, bot/web/, bot/channels/)
build on the services, and bot/handoff holds no web code; no part of bot, nor
an action, imports another part's private names (``_x``).  The graph is read
with ast from the source files, so imports inside functions and under
TYPE_CHECKING count too."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Dict, List, Set

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
# Alembic runs migrations/env.py and the version scripts as files, inside its
# own context; they are not modules of the package (env.py loads every table).
NOT_MODULES = {BOT / "store" / "migrations"}
ACTIONS = BOT.parent / "actions"


def module_files() -> Dict[str, Path]:
    files = {}
    for path in sorted(BOT.rglob("*.py")):
        if any(skipped in path.parents for skipped in NOT_MODULES) or "node_modules" in path.parts:
            continue
        parts = path.relative_to(BOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = path
    return files


MODULES = module_files()


def unit_of(module: str) -> str:
    """The part of bot a module belongs to: ``bot.accounts.flows.engine`` ->
    ``bot.accounts``; ``bot.config`` -> itself; the package's __init__ -> ``bot``."""
    parts = module.split(".")
    return ".".join(parts[:2])


def imported_modules(path: Path) -> Set[str]:
    """bot's modules that a source file imports, wherever the import statement is."""
    return {name for name in imported_names(path) if name == "bot" or name.startswith("bot.")}


def imported_names(path: Path) -> Set[str]:
    """Every module (of bot or not) that a source file imports, wherever the import statement is."""
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:  # `from bot import config` names a module, `from bot import X` a value
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}: relative import (use absolute bot.… imports)")
    return found


def unit_graph() -> Dict[str, Set[str]]:
    graph: Dict[str, Set[str]] = {}
    for module, path in MODULES.items():
        source = unit_of(module)
        targets = {unit_of(name) for name in imported_modules(path)} - {source}
        graph.setdefault(source, set()).update(targets)
    return graph


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One cycle of the graph as a path that ends where it starts, or []."""
    done: Set[str] = set()
    path: List[str] = []

    def visit(node: str) -> List[str]:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return []
        path.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return []

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_imports(module):
    importlib.import_module(module)


def test_the_graph_covers_the_packages():
    graph = unit_graph()
    assert {"bot.accounts", "bot.handoff", "bot.channels", "bot.nlu", "bot.cli", "bot.__main__", "bot.store",
            "bot.services"} <= set(graph)
    assert {"bot.accounts", "bot.handoff"} <= graph["bot.cli"]  # the CLI uses the services
    assert {"bot.store"} <= graph["bot.accounts"] & graph["bot.handoff"]  # both on the one store


def test_no_cycle_among_bots_packages():
    assert find_cycle(unit_graph()) == []


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", ["bot.accounts", "bot.handoff", "bot.channels", "bot.nlu"])
def test_the_services_never_import_the_command_line(package):
    graph = unit_graph()
    assert "bot.cli" not in graph[package]


def test_only_the_entry_point_imports_the_command_line():
    importers = {module for module, path in MODULES.items()
                 if unit_of(module) != "bot.cli" and any(unit_of(name) == "bot.cli" for name in imported_modules(path))}
    assert importers == {"bot.__main__"}


def test_the_store_is_the_bottom_layer():
    """bot.store knows no service: only the settings (its migrations' env.py,
    not a module, loads every table)."""
    assert unit_graph()["bot.store"] <= {"bot.config"}


def test_only_the_entry_points_import_the_composition_root():
    importers = {unit_of(module) for module, path in MODULES.items()
                 if unit_of(module) != "bot.services" and "bot.services" in imported_modules(path)}
    # bot.action_server: the action server's readiness checks the services' database.
    assert importers == {"bot.action_server", "bot.channels", "bot.cli", "bot.console", "bot.web"}


def foreign_private_names(module: str, source: str) -> List[str]:
    """The names starting with one underscore (or in a module whose name does)
    that ``module``'s source imports from another part of bot."""
    found: List[str] = []

    def private(name: str) -> bool:
        return any(part.startswith("_") and not part.startswith("__") for part in name.split("."))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "bot":
            if unit_of(node.module) == unit_of(module):
                continue
            found += [f"{node.module}.{alias.name}" for alias in node.names if private(f"{node.module}.{alias.name}")]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "bot"
                      and unit_of(alias.name) != unit_of(module) and private(alias.name)]
    return found


def test_no_part_of_bot_nor_an_action_imports_anothers_private_names():
    sources = dict(MODULES)
    sources.update({f"actions.{path.stem}": path for path in sorted(ACTIONS.glob("*.py"))})
    found = {module: names for module, path in sources.items()
             if (names := foreign_private_names(module, path.read_text(encoding="utf-8")))}
    assert found == {}


def test_the_private_name_finder_finds_them():
    source = ("from bot.accounts.models import Base, _enum\nfrom bot.handoff._hidden import x\n"
              "import bot.accounts._secret\nfrom bot.handoff.service import _own\n")
    assert foreign_private_names("bot.handoff.models", source) == [
        "bot.accounts.models._enum", "bot.accounts._secret"]
    assert foreign_private_names("bot.accounts.models", "from bot.store import Base, stored_enum\n") == []


# -- web code stays in the web packages ----------------------------------------------------------

WEB_PACKAGES = {"bot.console", "bot.web", "bot.channels"}
WEB_LIBRARIES = {"html", "mako", "markupsafe", "jinja2"}  # HTML is written in bot/console and bot/web only


def test_the_handoff_package_imports_no_web_code():
    for module, path in MODULES.items():
        if unit_of(module) != "bot.handoff":
            continue
        names = imported_names(path)
        assert not {unit_of(name) for name in names if name.startswith("bot.")} & WEB_PACKAGES, module
        assert not {name.split(".")[0] for name in names} & WEB_LIBRARIES, module


def test_the_handoff_package_holds_no_web_files():
    files = [path for path in (BOT / "handoff").rglob("*") if path.is_file() and "__pycache__" not in path.parts]
    assert files and all(path.suffix == ".py" for path in files), files


@pytest.mark.parametrize("package", ["bot.accounts", "bot.handoff", "bot.nlu", "bot.cli"])
def test_the_services_never_import_the_web_packages(package):
    assert not unit_graph()[package] & {"bot.console", "bot.web"}


def test_only_the_console_uses_the_web_package_and_nothing_the_console():
    graph = unit_graph()
    assert {unit for unit, targets in graph.items() if "bot.console" in targets} == set()
    assert {unit for unit, targets in graph.items() if "bot.web" in targets} == {"bot.console"}
