"""The console's HTML goes through one template mechanism with autoescaping:
every page and every fragment (each ``<%def>`` of ``bot/console/templates``)
rendered with ``<script>`` in every value shows it as text; the Python code
builds no HTML and no template turns escaping off; the page script draws no
queue rows and writes durations exactly as the server does."""
from __future__ import annotations

import ast
import inspect
import json
import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
from markupsafe import Markup

from bot.console import charts, pages, views
from bot.console.views import Frame, SummaryValue
from bot.handoff.agents import AgentView
from bot.handoff.canned import CannedReply
from bot.handoff.teams import Member, TeamView
from bot.handoff.models import AgentRole, AuthorKind, HandoffOutcome, HandoffReason, HandoffState, Presence
from bot.handoff.conversation_log import Button, LogEntry
from bot.handoff.reports import AgentStats, HandoffReport, HandoffStats, TeamStats
from bot.handoff.search import SearchPage
from bot.handoff.service import HandoffView, MessageView
from bot.web import rendering

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "bot" / "console"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
ESCAPED = "&lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__xss=2&quot;&gt;"
NOW = datetime(2025, 3, 4, 5, 6, 7)


def assert_escaped(html: str) -> None:
    assert "<script>window" not in html and "<img src=x" not in html
    assert ESCAPED in html


# -- data with <script> wherever data goes ---------------------------------------------------


def agent(agent_id: int = 1, role: AgentRole = AgentRole.AGENT) -> AgentView:
    return AgentView(agent_id, "alice" + XSS, "张丽" + XSS, role, True, NOW)


def frame(waiting: int = 2) -> Frame:
    return Frame(agent(), "csrf" + XSS, 7, waiting)


def handoff(state: HandoffState = HandoffState.ASSIGNED, agent_id: int = 1) -> HandoffView:
    summary = {"problem": "收不到验证码" + XSS, "checked": [XSS, {XSS: XSS}], "found": XSS, XSS: True, "flow": ""}
    return HandoffView(7, "user-7", "widget" + XSS, HandoffReason.USER_REQUEST, state, HandoffOutcome.RESOLVED,
                       agent_id, "王波" + XSS, summary, NOW, NOW, NOW, None, None, 4)


def messages() -> List[MessageView]:
    return [MessageView(number, 7, kind, 1, "张丽" + XSS, "您好" + XSS, NOW)
            for number, kind in enumerate(AuthorKind, start=1)]


def row(handoff_id: int = 7) -> Dict[str, Any]:
    return views.queue_row_json(handoff(HandoffState.WAITING, agent_id=2), 65) | {"id": handoff_id}


def log() -> List[LogEntry]:
    return [LogEntry("user", XSS, NOW, upload_id="ab" * 16, understood=XSS),
            LogEntry("bot", XSS, NOW, (Button(XSS, True), Button(XSS)), agent_name=XSS),
            LogEntry("step", XSS, None)]


def agent_stats() -> AgentStats:
    return AgentStats(1, "alice" + XSS, "张丽" + XSS, True, 3, 1, 1, 60.0, 600.0, 4.0, 2)


def report() -> HandoffReport:
    def stats(day):
        return HandoffStats(day, 10, 3, {reason: 1 for reason in HandoffReason}, 65.0, 300.0, 4000.0, 4.5, 2, 1)

    return HandoffReport("Asia/Shanghai" + XSS, [stats(date(2025, 3, day)) for day in range(1, 4)], stats(None))


def chart() -> charts.Chart:
    return charts.Chart(
        "chart" + XSS, "title" + XSS, "description" + XSS, [charts.Tick(100.0, XSS)],
        [charts.Bar(1.0, 2.0, 3.0, 4.0, "#fff" + XSS, XSS, XSS), charts.Value(1.0, 2.0, XSS)],
        [charts.Label(5.0, XSS)], [(XSS, "key" + XSS)],
    )


# -- every page --------------------------------------------------------------------------------

PAGES: Dict[str, Callable[[], str]] = {
    "login_page": lambda: pages.login_page("token" + XSS, "alice" + XSS, XSS, XSS),
    "message_page": lambda: pages.message_page("title" + XSS, XSS, frame()),
    "queue_page": lambda: pages.queue_page(frame(), [row(1)], [row(2) | {"id": 2}], [row(3)], XSS),
    "conversation_page": lambda: pages.conversation_page(
        frame(), handoff(), messages(), [agent(2)], [CannedReply("key" + XSS, "title" + XSS, XSS, "group" + XSS)],
        XSS, "reply" + XSS, "note" + XSS),
    "reports_page": lambda: pages.reports_page(
        frame(), report(), 7, [agent_stats()], [TeamStats(1, "法人账号" + XSS, 2, 1, 0, 60.0, 300.0, 4.0, 1)]),
    "search_page": lambda: pages.search_page(
        frame(), {"q": XSS, "problem": XSS, "from": XSS}, SearchPage([7], 1, 1, 1), [handoff()], [agent(2)],
        {"next": "/webhooks/console/search?q=" + XSS}, XSS),
    "teams_page": lambda: pages.teams_page(
        Frame(agent(role=AgentRole.ADMIN), "csrf" + XSS, 7, 1),
        [TeamView(1, "自然人账号" + XSS, True, (Member(2, "bob" + XSS, "王波" + XSS, Presence.ONLINE, True),),
                  ("realname_failed",))],
        [agent(2)], XSS),
}


def test_the_conversation_page_shows_the_log_and_the_history_escaped():
    html = pages.conversation_page(frame(), handoff(), messages(), [], [], log=log(), history=[handoff()], via=None)
    assert_escaped(html)
    assert 'data-testid="clicked-button"' in html and 'data-testid="handoff-mark"' in html
    assert 'src="/webhooks/console/conversations/7/photos/' + "ab" * 16 + '"' in html
    assert 'href="/webhooks/console/conversations/7?via=7"' in html
    through = pages.conversation_page(frame(), handoff(), messages(), [], [], log=log(), history=None, via=3)
    assert "?via=3" in through and 'data-testid="history-notice"' in through and 'data-testid="history"' not in through


def test_every_page_renderer_is_tested():
    renderers = {name for name, function in inspect.getmembers(pages, inspect.isfunction)
                 if function.__module__ == pages.__name__ and not name.startswith("_")}
    assert renderers == set(PAGES)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_shows_html_in_data_as_text(name):
    assert_escaped(PAGES[name]())


def test_the_login_and_message_pages_without_a_session_escape_too():
    assert_escaped(pages.message_page("title" + XSS, XSS))
    assert "<script" not in pages.login_page("t", "", "", "")


# -- every fragment ----------------------------------------------------------------------------

# Each <%def> of the console's templates with arguments carrying <script> (``body``
# is a template's page itself, rendered above).
FRAGMENTS: Dict[Tuple[str, str], Tuple[Any, ...]] = {
    ("widgets.mako", "csrf_field"): (XSS,),
    ("widgets.mako", "alert"): (XSS,),
    ("widgets.mako", "notice"): (XSS,),
    ("layout.mako", "header"): (frame(),),
    ("queue.mako", "waiting_row"): (row(), 1, XSS),
    ("queue.mako", "assigned_row"): (row(), True),
    ("queue.mako", "ticking"): (65,),
    ("conversation.mako", "summary_value"): (views.summary_value([XSS, {XSS: XSS}, "", True]),),
    ("conversation.mako", "message_item"): (views.message_json(messages()[0]),),
    ("conversation.mako", "hidden"): ({"reply": False}, "reply"),
    ("conversation.mako", "log_item"): (views.log_entry_view(log()[0], 7),),
    ("conversation.mako", "history_panel"): ([views.handoff_row(handoff())], 7),
    ("reports.mako", "report_row"): (XSS, [XSS, 1]),
    ("chart.mako", "chart_svg"): (chart(),),
    ("chart.mako", "legend"): ([(XSS, "key")],),
}
WITHOUT_DATA = {("queue.mako", "ticking"): '<td class="js-ticking" data-seconds="65">1 分 05 秒</td>',
                ("conversation.mako", "hidden"): " hidden"}


def test_every_fragment_is_tested():
    templates = sorted(path.name for path in (CONSOLE / "templates").glob("*.mako"))
    defined = {(name, fragment) for name in templates for fragment in pages.TEMPLATES.fragments(name)
               if fragment != "body"}
    assert defined == set(FRAGMENTS)


@pytest.mark.parametrize("template, fragment", sorted(FRAGMENTS))
def test_every_fragment_shows_html_in_data_as_text(template, fragment):
    html = pages.TEMPLATES.fragment(template, fragment, *FRAGMENTS[template, fragment])
    if (template, fragment) in WITHOUT_DATA:
        assert html == WITHOUT_DATA[template, fragment]
    else:
        assert_escaped(html)


def test_the_other_queue_row_escapes_the_agents_name():
    html = pages.TEMPLATES.fragment("queue.mako", "assigned_row", row() | {"problem": ""}, False)
    assert 'data-testid="others-row"' in html and "王波" + ESCAPED in html


# -- the mechanism ----------------------------------------------------------------------------


def test_the_template_mechanism_escapes_by_default(tmp_path):
    (tmp_path / "page.mako").write_text('<p title="${value}">${value}</p>${nothing}', encoding="utf-8")
    templates = rendering.Templates(tmp_path)
    assert templates.render("page.mako", value=XSS + "'&", nothing=None) == (
        f'<p title="{ESCAPED}&#x27;&amp;">{ESCAPED}&#x27;&amp;</p>')
    # only a value that declares itself HTML passes as it is
    assert templates.render("page.mako", value=Markup("<b>bold</b>"), nothing="") == (
        '<p title="<b>bold</b>"><b>bold</b></p>')
    with pytest.raises(NameError):  # a forgotten value is an error, not empty text
        templates.render("page.mako", value="x")


def template_files() -> List[Path]:
    return sorted((ROOT / "bot").rglob("templates/*.mako"))


def test_no_template_turns_escaping_off():
    assert template_files()
    for path in template_files():
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*n\b", source), f"{path}: escaping turned off"
        assert "<%text" not in source and "context.write" not in source, path


def test_every_template_is_used():
    sources = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "bot").rglob("*.py"))
    sources += "\n".join(path.read_text(encoding="utf-8") for path in template_files())
    for path in template_files():
        assert f'"{path.name}"' in sources, f"{path} is rendered by nothing"


HTML_TAG = re.compile(r"</?(?:html|head|body|main|header|nav|section|aside|div|p|a|span|h[1-6]|ul|ol|li|dl|dt|dd|"
                      r"table|thead|tbody|tfoot|tr|th|td|form|input|button|select|option|optgroup|label|"
                      r"textarea|script|style|meta|link|title|svg|rect|line|text|desc|figure|time|code)\b[^>]*>")


def python_strings(path: Path) -> List[str]:
    """The string constants of a module, its docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("package", ["console", "web"])
def test_the_python_code_builds_no_html(package):
    for path in sorted((ROOT / "bot" / package).glob("*.py")):
        found = [text for text in python_strings(path) if HTML_TAG.search(text)]
        assert not found, f"{path}: HTML outside the templates: {found}"


# -- the page script ----------------------------------------------------------------------------

SCRIPT = CONSOLE / "static" / "console.js"


def test_the_script_draws_no_queue_rows():
    script = SCRIPT.read_text(encoding="utf-8")
    assert not re.search(r"""el\(\s*["'](?:tr|td|form)["']""", script)
    assert not re.search(r"\.(?:innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", script)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_script_writes_durations_as_the_server_does():
    script = SCRIPT.read_text(encoding="utf-8")
    function = re.search(r"\n  function durationZh\(seconds\) \{\n.*?\n  \}\n", script, re.S).group(0)
    # Not at exact halves: Python rounds them to even (2.5 -> 2), JavaScript up (2.5 -> 3).  The
    # server writes whole seconds and report medians, the script only ticking times, so no value
    # is written by both; the difference is left as it was.
    seconds = [0, 0.4, 0.6, 1.2, 59, 59.4, 59.6, 60, 61, 61.7, 599, 3599, 3599.6, 3600, 3661, 86399, 86400, 10**6]
    program = function + f"\nconsole.log(JSON.stringify({json.dumps(seconds)}.map(durationZh)));"
    shown = json.loads(subprocess.run(["node", "-e", program], capture_output=True, text=True, check=True,
                                      timeout=60).stdout)
    assert shown == [views.duration_zh(value) for value in seconds]
