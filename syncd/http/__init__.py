"""The daemon's HTTP server: webhooks in, health out (see ``docs/webhooks.md``)."""

from __future__ import annotations

from syncd.http.app import create_app

__all__ = ["create_app"]
