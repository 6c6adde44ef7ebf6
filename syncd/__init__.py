"""syncd: keeps a CRM record store and outside systems in step, both ways."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
