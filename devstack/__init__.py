"""Starts the real local stack from Debian and Dapr binaries, without Docker.

Used by ``make run`` (``python -m devstack run``) with fixed ports and data in
./data, and by the integration tests with free ports and throwaway temp dirs.
Every process runs in its own session and is stopped with it.
"""
