"""The account pages' HTML (templates in ``bot/web/templates/``), one renderer
per page; every value is escaped by the template mechanism
(``bot/web/rendering.py``)."""

from __future__ import annotations

from pathlib import Path

from bot.accounts.checks import PASSWORD_RULE
from bot.web.rendering import Templates

TEMPLATES = Templates(Path(__file__).resolve().parent / "templates")


def reset_form(token: str, masked_login: str, error: str = "") -> str:
    """The reset link's form; ``error``: why the last attempt was refused."""
    return TEMPLATES.render(
        "reset_form.mako",
        title="设置新密码",
        token=token,
        masked_login=masked_login,
        password_rule=PASSWORD_RULE,
        error=error,
    )


def reset_done(masked_login: str) -> str:
    return TEMPLATES.render("reset_done.mako", title="密码已重置", masked_login=masked_login)


def link_unusable(reason: str) -> str:
    return TEMPLATES.render("link_unusable.mako", title="链接不可用", reason=reason)
