"""The accessibility relay (Art. 1, seventh application): each commune's reception points and
their dedicated links, relay sessions for deaf, hard-of-hearing and aphasic people, and their
usage (Art. 2)."""
