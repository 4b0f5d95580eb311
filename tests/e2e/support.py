"""What the end-to-end tests share."""

import time


def wait_for(produce, accept, seconds=20.0, interval=0.05):
    """``produce()`` again until ``accept`` holds for it, for at most ``seconds``; its last
    value either way, for the test to assert on."""
    deadline = time.monotonic() + seconds
    while True:
        value = produce()
        if accept(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)
