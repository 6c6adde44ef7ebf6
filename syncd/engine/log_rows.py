"""Sync log rows of one direction: what happened to one record, or why it failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store import LogAction, LogDirection, LogSpec

__all__ = ["LogRows"]


@dataclass(frozen=True)
class LogRows:
    """Makes the log rows of ``direction`` (inbound or outbound code keeps one each)."""

    direction: LogDirection

    def entry(
        self,
        action: LogAction,
        crm_id: int | None,
        external_id: str | None,
        message: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> LogSpec:
        return LogSpec(
            self.direction,
            action,
            crm_id=crm_id,
            external_id=external_id,
            changes=changes or None,
            message=message,
        )

    def error(self, crm_id: int | None, external_id: str | None, message: str) -> LogSpec:
        return LogSpec(
            self.direction,
            LogAction.ERROR,
            crm_id=crm_id,
            external_id=external_id,
            message=message,
            level="error",
        )
