"""Dapr virtual actors: thin shells that load, call the domain's decide, commit once."""
