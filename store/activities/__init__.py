"""Activities (notes, calls, emails, meetings, tasks) and a record's timeline of them.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
