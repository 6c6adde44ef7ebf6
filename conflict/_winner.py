"""Which side a rule picks when both sides changed a field to different values."""

from __future__ import annotations

from conflict.model import FieldState, Rule, Side

__all__ = ["pick_winner"]


def pick_winner(state: FieldState, rule: Rule) -> tuple[Side, str]:
    """The winning side under ``rule`` (not ``manual``) and why, in words for the log.

    ``most_recent`` favours the CRM on a tie and when neither time is known: the CRM is the
    system of record, so when we cannot tell, we keep what its users see. A missing time
    loses to a known one, since an unknown change cannot be shown to be the later one.
    """
    if rule is Rule.CRM_WINS:
        return Side.CRM, "crm_wins"
    if rule is Rule.EXTERNAL_WINS:
        return Side.EXTERNAL, "external_wins"
    if rule is not Rule.MOST_RECENT:  # pragma: no cover - manual never reaches here
        raise AssertionError(rule)
    crm_at, ext_at = state.crm_changed_at, state.external_changed_at
    if crm_at is None and ext_at is None:
        return Side.CRM, "most_recent: neither change time known, the CRM wins"
    if ext_at is None:
        return Side.CRM, "most_recent: only the CRM change time is known"
    if crm_at is None:
        return Side.EXTERNAL, "most_recent: only the external change time is known"
    if ext_at > crm_at:
        return (
            Side.EXTERNAL,
            f"most_recent: external {ext_at.isoformat()} > CRM {crm_at.isoformat()}",
        )
    if crm_at > ext_at:
        return Side.CRM, f"most_recent: CRM {crm_at.isoformat()} > external {ext_at.isoformat()}"
    return Side.CRM, f"most_recent: both changed at {crm_at.isoformat()}, a tie goes to the CRM"
