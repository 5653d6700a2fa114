"""The worker process: everything that is not answering a request.

It runs beside the API process in every replica, with the same sidecar:
the read-model projector and the order-event handler (streaming
subscriptions), the event-delivery heartbeat, the reconciler, the outbox
marker watch and the status report that health reads.
"""
