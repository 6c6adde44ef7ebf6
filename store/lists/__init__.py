"""Saved views and static or dynamic lists with their membership history.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
