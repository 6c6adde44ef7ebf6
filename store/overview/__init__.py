"""What ``syncd status`` shows: every sync's state, runs and queues, and the daemons seen.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
