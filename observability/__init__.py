"""Logs, metrics and traces, shared by the HTTP layer and the actors."""
