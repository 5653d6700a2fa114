"""HTTP routes: parse, call the actor or the read model, map the result."""
