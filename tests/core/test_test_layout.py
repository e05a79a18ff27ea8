"""The tests mirror bot/'s packages, and the slow ones carry the ``integration`` marker.

Every folder under tests/ is a package of bot/ at the same place (tests/accounts/
for bot/accounts/, tests/accounts/flows/ would be bot/accounts/flows/) or one of
the folders of their own: ``security`` (the attack suite, across packages),
``stories`` (Rasa's test stories), ``bench``, ``core`` (bot's top-level modules,
the data and the docs) and ``actions`` (actions/).  Test modules live in those
folders, not in tests/ itself, which holds the shared helpers.

A test module that starts real servers (the assistant's Rasa and action servers,
Chromium, PostgreSQL, Redis) or loads the trained model says so with a
module-level ``pytestmark`` holding ``pytest.mark.integration``, so that
``pytest -m "not integration"`` runs the fast tests only.  It starts them when it
(anywhere in the file) imports a module of ``SERVER_MODULES`` or a name of
``SERVER_NAMES``; when one of its tests or fixtures takes a fixture that starts
them (``SERVER_FIXTURES``, and every fixture of a conftest.py above it that takes
one); when it runs ``python -m bot run``; or when it imports from a test module
that does.  A fixture that reaches PostgreSQL only for some of its parameters
(tests/accounts/conftest.py's ``database``) marks those parameters instead.
"""
from __future__ import annotations

import ast
import functools
import re
from pathlib import Path
from typing import Dict, Iterator, List, Set

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
TESTS = ROOT / "tests"
OWN_FOLDERS = {"security", "stories", "bench", "core", "actions"}
SERVER_MODULES = ("tests.assistants", "tests.browser", "bot.launcher", "playwright")
SERVER_NAMES = {"tests.servers": {"postgres_server", "redis_server"}}
SERVER_FIXTURES = {"assistant", "model", "postgres_url"}
MARKER = "pytest.mark.integration"
RUN_COMMAND = ("-m", "bot", "run")  # a tuple: the finder looks for lists


def folders() -> Iterator[Path]:
    for path in sorted(TESTS.rglob("*")):
        if path.is_dir() and "__pycache__" not in path.parts and not path.name.startswith("."):
            yield path


def test_every_test_folder_mirrors_a_package_of_bot():
    strays = []
    for folder in folders():
        relative = folder.relative_to(TESTS)
        if relative.parts[0] in OWN_FOLDERS and len(relative.parts) == 1:
            continue
        if not (BOT / relative / "__init__.py").exists():
            strays.append(str(relative))
    assert not strays, f"tests/ folders that are no package of bot/ (nor one of {sorted(OWN_FOLDERS)}): {strays}"


def test_every_package_of_bot_has_its_test_folder():
    packages = {path.parent.relative_to(BOT) for path in BOT.glob("*/__init__.py")}
    assert not [str(package) for package in packages if not (TESTS / package).is_dir()]


def test_test_modules_live_in_the_folders_not_beside_the_helpers():
    assert not [path.name for path in TESTS.glob("test_*.py")]


# -- the integration marker ----------------------------------------------------------------


def module_files() -> Dict[str, Path]:
    """Every test module, by its dotted name."""
    found = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        if "__pycache__" not in path.parts:
            found[".".join(path.relative_to(ROOT).with_suffix("").parts)] = path
    return found


def imports(tree: ast.AST) -> Dict[str, Set[str]]:
    """Each module the source imports (anywhere in it), with the names it takes from it."""
    found: Dict[str, Set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name, set())
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.setdefault(node.module, set()).update(alias.name for alias in node.names)
    return found


def is_fixture(function: ast.AST) -> bool:
    return any("fixture" in ast.unparse(decorator) for decorator in getattr(function, "decorator_list", []))


def functions(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def parameters(function) -> Set[str]:
    return {argument.arg for argument in function.args.args + function.args.kwonlyargs}


def fixtures_taking(tree: ast.AST, fixtures: Set[str]) -> Set[str]:
    """The fixtures defined in a source that take one of ``fixtures``, or one of those, and so on."""
    taking: Set[str] = set()
    while True:
        more = {function.name for function in functions(tree)
                if is_fixture(function) and parameters(function) & (fixtures | taking)} - taking
        if not more:
            return taking
        taking |= more


def server_fixtures_for(path: Path) -> Set[str]:
    """SERVER_FIXTURES and the fixtures of every conftest.py above ``path`` that take one of them."""
    names = set(SERVER_FIXTURES)
    for folder in reversed(path.relative_to(TESTS).parents):
        conftest = TESTS / folder / "conftest.py"
        if conftest.exists():
            names |= fixtures_taking(ast.parse(conftest.read_text(encoding="utf-8")), names)
    return names


def runs_the_assistant(tree: ast.AST) -> bool:
    """A command line ``... -m bot run`` written as a list."""
    for node in ast.walk(tree):
        if isinstance(node, ast.List):
            words = [item.value for item in node.elts if isinstance(item, ast.Constant)]
            if any(tuple(words[i:i + 3]) == RUN_COMMAND for i in range(len(words))):
                return True
    return False


def starts_servers_itself(source: str, server_fixtures: Set[str]) -> List[str]:
    """Why a test module's source starts servers (empty: it does not), apart from the
    test modules it imports from."""
    tree = ast.parse(source)
    reasons = []
    for module, names in imports(tree).items():
        if any(module == server or module.startswith(server + ".") for server in SERVER_MODULES):
            reasons.append(f"imports {module}")
        if names & SERVER_NAMES.get(module, set()):
            reasons.append(f"imports {sorted(names & SERVER_NAMES[module])} from {module}")
    starting = server_fixtures | fixtures_taking(tree, server_fixtures)
    for function in functions(tree):
        if function.name.startswith("test_") or is_fixture(function):
            taken = parameters(function) & starting
            if taken:
                reasons.append(f"{function.name} takes {sorted(taken)}")
    if runs_the_assistant(tree):
        reasons.append("runs python -m bot run")
    return reasons


def marked_integration(source: str) -> bool:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "pytestmark" for target in node.targets):
            value = node.value
            marks = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
            return any(ast.unparse(mark) == MARKER for mark in marks)
    return False


@functools.lru_cache(maxsize=None)
def integration_modules() -> Dict[str, List[str]]:
    """Each test module that starts servers, with the reasons."""
    modules = module_files()
    reasons = {}
    trees = {}
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        trees[name] = ast.parse(source)
        found = starts_servers_itself(source, server_fixtures_for(path))
        if found:
            reasons[name] = found
    changed = True
    while changed:  # importing from such a test module uses what it starts
        changed = False
        for name, tree in trees.items():
            if name in reasons:
                continue
            used = sorted(module for module in imports(tree) if module in reasons)
            if used:
                reasons[name] = [f"imports from {module}" for module in used]
                changed = True
    return reasons


def test_every_module_that_starts_servers_is_marked_integration():
    modules = module_files()
    unmarked = {name: why for name, why in integration_modules().items()
                if not marked_integration(modules[name].read_text(encoding="utf-8"))}
    assert not unmarked, f'add `pytestmark = pytest.mark.integration` to: {unmarked}'


def test_postgresql_parameters_are_marked_integration():
    """A fixture that reaches the PostgreSQL server for one of its parameters marks that parameter."""
    for path in sorted(TESTS.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if path == TESTS / "conftest.py" or "postgres_url" not in source or marked_integration(source):
            continue
        tree = ast.parse(source)
        for function in functions(tree):
            if is_fixture(function) and "postgres_url" in ast.unparse(function):
                decorators = " ".join(ast.unparse(decorator) for decorator in function.decorator_list)
                assert re.search(r"pytest\.param\('postgresql', marks=pytest\.mark\.integration\)", decorators), \
                    f"{path.relative_to(ROOT)}: {function.name}'s PostgreSQL parameter is not marked integration"


def test_the_marker_is_registered():
    assert re.search(r'^\s*"integration: ', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.MULTILINE)


def test_the_finder_sees_each_way_of_starting_servers():
    fixtures = set(SERVER_FIXTURES) | {"victim"}
    assert starts_servers_itself("from tests.assistants import REST_TOKEN\n", fixtures)
    assert starts_servers_itself("def f():\n    from tests.browser import chromium\n", fixtures)
    assert starts_servers_itself("from tests.servers import free_port, redis_server\n", fixtures)
    assert starts_servers_itself("def test_x(assistant):\n    pass\n", fixtures)
    assert starts_servers_itself("def test_x(victim):\n    pass\n", fixtures)
    assert starts_servers_itself("import pytest\n@pytest.fixture\ndef chat(model):\n    pass\n"
                                 "def test_x(chat):\n    pass\n", fixtures)
    assert starts_servers_itself("import sys\nCOMMAND = [sys.executable, '-m', 'bot', 'run']\n", fixtures)
    assert not starts_servers_itself("from tests.servers import free_port, serving_blueprint\n"
                                     "def test_x(services, clock):\n    model = 1\n", fixtures)
    assert not starts_servers_itself("def helper(assistant):\n    pass\n", fixtures)
    assert marked_integration("import pytest\npytestmark = pytest.mark.integration\n")
    assert marked_integration("import pytest\npytestmark = [pytest.mark.filterwarnings('x'), pytest.mark.integration]\n")
    assert not marked_integration("import pytest\npytestmark = pytest.mark.filterwarnings('x')\n")
    assert not marked_integration("import pytest\n@pytest.mark.integration\ndef test_x():\n    pass\n")


def test_the_known_integration_modules_are_found():
    """The finder finds what it must (a guard against it finding nothing)."""
    found = integration_modules()
    for name in ("tests.channels.test_widget_socketio", "tests.channels.test_rest_e2e", "tests.core.test_make_run",
                 "tests.store.test_shared_stores", "tests.handoff.test_handoff_telegram", "tests.security.test_attacks",
                 "tests.console.test_console_browser", "tests.nlu.test_understanding"):
        assert name in found, name
    for name in ("tests.channels.test_rest_channel", "tests.console.test_console", "tests.core.test_config"):
        assert name not in found, (name, found.get(name))
