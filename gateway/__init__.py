"""The REST gateway: the suite's only public door.

It authenticates callers, decides which commune's data they may reach, validates requests
against the contract schemas, calls the owning service over RPC with a deadline and answers
errors as ``application/problem+json`` (RFC 9457)."""
