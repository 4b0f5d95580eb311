"""``make bench``: figures of the running suite beside the framework's baselines.

Starts the whole suite, one process per service as ``make run-split`` does, in a vhost and a
data folder of its own, drives it over HTTP from this process (threads, one
``requests.Session`` each) and over raw RPC from a separate eventlet process, prints a table
and writes the same figures to ``var/bench/latest.json``.
Speed targets are judged here, never in timed tests.
"""

import sys
import warnings

# The suite's helpers the bench imports (its tables, its sandboxes' names) import Nameko, hence
# eventlet, whose announcement of its maintenance mode would bury the bench's own messages.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


def say(message):
    """Progress on stderr, so that stdout carries the table alone."""
    print(f"bench: {message}", file=sys.stderr, flush=True)
