"""The sync engine's tables: links and bases, states, runs, log, conflicts, queues, leases,
create intents, and the one transaction (``SyncTx``) the engine writes them in.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
