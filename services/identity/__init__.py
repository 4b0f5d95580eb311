"""Identity: one account for all 31 communes.

Accounts of Metropole operators, commune agents, citizens and companies; API clients of the
communes' own systems; the keys that sign short-lived tokens, published as a JWKS so the
gateway verifies tokens without calling back; a throttle on failed logins and an audit trail
of logins that never holds a secret."""
