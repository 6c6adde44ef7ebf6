"""API tokens: issued, listed, revoked, checked.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
