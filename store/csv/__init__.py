"""CSV import and export, written against the Store's public methods, and the ``imports`` rows.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
