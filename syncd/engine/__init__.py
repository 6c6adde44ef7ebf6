"""The sync engine: one pass of one sync, inbound then outbound (see docs/engine.md)."""

from __future__ import annotations

from syncd.engine.build import build_connector, build_spec, build_specs
from syncd.engine.context import RunSummary
from syncd.engine.runner import SyncPaused, run_sync
from syncd.engine.spec import AssociationSpec, FieldSpec, SyncSpec

__all__ = [
    "AssociationSpec",
    "FieldSpec",
    "RunSummary",
    "SyncPaused",
    "SyncSpec",
    "build_connector",
    "build_spec",
    "build_specs",
    "run_sync",
]
