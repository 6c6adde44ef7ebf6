"""The operators' web console at ``/console``: sync health, the sync log, conflicts with
resolve, errors with retry, and a record's history and trace, in the browser.

Server-rendered pages (Jinja2 templates shipped in this package, no script, no CDN) over the
store's public API and the operations the CLI runs. Sign-in with an API token; see
``session`` for the cookie, ``app`` for the checks every request passes.
"""

from __future__ import annotations

from syncd.console.app import Console, create_console

__all__ = ["Console", "create_console"]
