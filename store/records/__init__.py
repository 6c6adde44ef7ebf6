"""Records: creating, updating, upserting, archiving, merging and reading them.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
