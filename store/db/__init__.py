"""The database itself: engine, tables, migrations, the built-in catalogue they seed, object
definitions as loaded, and the write transaction every concept writes through.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
