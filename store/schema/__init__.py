"""Objects, properties and property groups: the definitions records are checked against.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
