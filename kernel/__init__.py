"""The kernel: what every domain builds on (database, errors, settings, clock, types, the actor
and its guards). It imports no domain and no part of the shell."""
