"""An agent's browser as far as HTTP goes, for tests against the console
(a test server, or the real assistant: anything with ``url`` and ``origin``)."""
from __future__ import annotations

import re
from typing import Any, Dict, Optional

import requests

from tests.handoff.conftest import PASSWORD

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Agent:
    """One agent's browser, as far as HTTP goes: its cookies, its CSRF token, its origin."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.http = requests.Session()
        self.csrf = ""

    def get(self, path: str = "", **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.get(self.server.url + path, timeout=30, **kwargs)

    def post(self, path: str, data: Optional[Dict[str, Any]] = None, csrf: bool = True,
             origin: Optional[str] = "own", **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if origin == "own":
            headers["Origin"] = self.server.origin
        elif origin is not None:
            headers["Origin"] = origin
        form = dict(data or {})
        if csrf:
            form["csrf"] = self.csrf
        kwargs.setdefault("allow_redirects", False)
        return self.http.post(self.server.url + path, data=form, headers=headers, timeout=30, **kwargs)

    def login_attempt(self, login: str, password: str) -> requests.Response:
        form = self.get("login")
        token = CSRF_FIELD.search(form.text).group(1)
        return self.http.post(self.server.url + "login", data={"login": login, "password": password, "csrf": token},
                              headers={"Origin": self.server.origin}, allow_redirects=False, timeout=30)

    def login(self, login: str, password: str = PASSWORD) -> "Agent":
        answer = self.login_attempt(login, password)
        assert answer.status_code == 303, answer.text
        self.refresh_csrf()
        return self

    def refresh_csrf(self) -> None:
        self.csrf = CSRF_META.search(self.get().text).group(1)
