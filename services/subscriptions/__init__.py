"""Subscriptions: who uses which application, from when, under which convention.

The 31 member communes and their INSEE populations; the conventions, with the annual cost of
each application, and their amendments (*avenants*); each commune's subscription periods;
change requests under Article 9 and terminations under Article 10, every one recorded with its
answer. Every accepted change is announced as an event, which billing follows."""
