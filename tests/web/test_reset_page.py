"""The one-time reset page's HTML (bot/web): every page through the templates
with autoescaping, its status codes and headers.  The whole way from the chat
to the new password: tests/accounts/test_account_flows_e2e.py."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from bot.accounts.checks import InvalidInput
from bot.accounts.checks import PASSWORD_RULE
from bot.web import account, pages

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
ESCAPED = "&lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__xss=2&quot;&gt;"

PAGES = {
    "reset_form": lambda: pages.reset_form("token" + XSS, "zh***01" + XSS, "错误" + XSS),
    "reset_done": lambda: pages.reset_done("zh***01" + XSS),
    "link_unusable": lambda: pages.link_unusable("链接已失效" + XSS),
}


def test_every_page_renderer_is_tested():
    renderers = {name for name, function in inspect.getmembers(pages, inspect.isfunction)
                 if function.__module__ == pages.__name__ and not name.startswith("_")}
    assert renderers == set(PAGES)


def test_every_template_has_a_renderer():
    templates = {path.name for path in (Path(pages.__file__).parent / "templates").glob("*.mako")}
    assert templates == {f"{name}.mako" for name in PAGES} | {"page.mako"}  # page.mako: their frame


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_shows_html_in_data_as_text(name):
    html = PAGES[name]()
    assert "<script>window" not in html and "<img src=x" not in html
    assert ESCAPED in html
    assert html.startswith("<!doctype html>") and html.endswith("</body></html>")


def test_the_form_asks_twice_and_states_the_rule():
    html = pages.reset_form("abc", "zh***01")
    assert '<input type="hidden" name="token" value="abc">' in html
    assert 'name="password"' in html and 'name="repeated"' in html and PASSWORD_RULE in html
    assert 'role="alert"' not in html  # no error yet
    assert '<p class="error" role="alert">两次输入不一致</p>' in pages.reset_form("abc", "zh***01", "两次输入不一致")


def test_status_codes_and_headers():
    assert account.reset_form("abc", "zh***01").status == 200
    assert account.reset_form("abc", "zh***01", "两次输入不一致").status == 400
    gone = account.link_unusable(InvalidInput("链接已失效"))
    assert gone.status == 410 and "链接已失效" in gone.body.decode()
    for reply in (gone, account.html_page(pages.reset_done("zh***01"))):
        assert reply.headers["Referrer-Policy"] == "no-referrer"  # the token is in the address
        assert reply.headers["Cache-Control"] == "no-store" and reply.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
