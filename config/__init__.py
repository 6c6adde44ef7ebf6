"""config package: the YAML configuration (see DESIGN.md, Where things live).

For now only what the CLI needs: the store URL from ``store: {url: ...}``, read safely.
"""

from __future__ import annotations

from config.loader import load_store_url

__all__ = ["load_store_url"]
