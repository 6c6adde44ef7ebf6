"""Webhook deliveries received and waiting to be applied.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
