"""The fault suite (``make chaos``; a short variant in tests/faults/test_chaos_short.py).

stack.py (a durable stack and its outages), load.py (retrying clients and their
log of acknowledged writes), truth.py (documents, stream and read model, read
directly, and the checks), experiments.py (the experiments and their verdicts),
suite.py (stacks per experiment), report.py (the table).
"""
