"""The customer domain: pure data and decisions, no I/O and no framework.

Commands say what a caller wants (imperative), events say what happened (past
tense), and ``decide(state, command) -> (new_state, event)`` is the only place
where rules live. Everything outside this package loads, calls decide, commits.
"""
