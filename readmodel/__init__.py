"""The read model: a Postgres projection of the customer events.

Listing, filtering and segments cannot be answered by one actor; they read
these tables, kept by the projector (our own Dapr subscription) and
rebuildable from the state store, which stays the source of truth.
"""
