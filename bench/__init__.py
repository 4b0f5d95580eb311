"""``make bench``: figures of the running suite beside the framework's baselines.

Starts the whole suite in a vhost and a data folder of its own, drives it over HTTP from this
process (threads, one ``requests.Session`` each) and over raw RPC from a separate eventlet
process, prints a table and writes the same figures to ``var/bench/latest.json``.
Speed targets are judged here, never in timed tests.
"""

import sys


def say(message):
    """Progress on stderr, so that stdout carries the table alone."""
    print(f"bench: {message}", file=sys.stderr, flush=True)
