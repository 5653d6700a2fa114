"""Sign-in state kept beside the customer documents, in Postgres directly.

Sessions and their refresh tokens, and the windowed counters of throttles and
lockouts, are not customer changes: they must neither bump a customer's
version nor publish an event, so they never ride in the customer's state
transaction (whose every upsert the outbox publishes). Each process also keeps
the sessions that ended lately in memory, fed by Postgres notifications, so a
request is checked against them in O(1).
"""
