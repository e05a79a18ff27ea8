"""The one template mechanism of the assistant's HTML: the agent console's pages
(``bot/console/templates/``) and the account pages (``bot/web/templates/``).

Templates are Mako files (Mako comes with Alembic, a dependency already) in a
package's ``templates/`` folder, read once per process and kept compiled in
memory.  Contract:

* Autoescaping is on: every ``${...}`` of a template goes through
  :func:`escape` (``html.escape`` with quotes: ``& < > " '``; ``None`` shows
  as nothing).  Only a value that declares itself HTML (``__html__``, as
  ``markupsafe.Markup`` does) passes unchanged; no template turns escaping off
  (``| n``), and Python code builds no HTML: a test checks both.
* A name a template uses but was not given is an error, not empty text.
* A page is one template; a fragment (a row, a chart, a form) is one
  ``<%def>`` that every page showing it calls, so each piece of HTML has one
  renderer.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, List

from mako.lookup import TemplateLookup

ESCAPE_FILTER = "escape"


def escape(value: Any) -> str:
    """Text for HTML element content and quoted attribute values."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape("" if value is None else str(value), quote=True)


class Templates:
    """The templates of one folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lookup = TemplateLookup(
            directories=[str(directory)],
            default_filters=[ESCAPE_FILTER],
            imports=[f"from {__name__} import escape as {ESCAPE_FILTER}"],
            strict_undefined=True,
            input_encoding="utf-8",
        )

    def render(self, name: str, **values: Any) -> str:
        """The document of template ``name`` with ``values``."""
        return str(self._lookup.get_template(name).render(**values))

    def fragment(self, name: str, fragment: str, *args: Any) -> str:
        """The ``<%def>`` ``fragment`` of template ``name`` alone, called with ``args``
        (pages call their fragments themselves; the tests check each one this way)."""
        return str(self._lookup.get_template(name).get_def(fragment).render(*args))

    def fragments(self, name: str) -> List[str]:
        """The names of the ``<%def>`` blocks of template ``name``."""
        return [str(fragment) for fragment in self._lookup.get_template(name).list_defs()]
