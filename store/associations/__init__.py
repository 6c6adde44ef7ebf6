"""Associations between records, their labels, and the properties calculated from them.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
