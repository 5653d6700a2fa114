"""The FastAPI app: HTTP API on :8003, host of the actors, pub/sub subscriber."""
