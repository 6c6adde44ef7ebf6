"""Search: HubSpot's ``filterGroups`` parsed and compiled to SQL, and the Store's search.

Nothing is re-exported here: callers outside ``store/`` import from ``store``.
"""
