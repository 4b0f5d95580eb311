"""TéléAlerte (Art. 1, sixth application): crisis cells, recipient databases, a library of
scenarios and multi-channel alert campaigns. Built so far: its rules (``rules``), the CAP 1.2
export (``cap``) and the SMS and voice operator's client (``operator``); the service answers
its health RPC."""
