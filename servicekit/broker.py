"""Reaching the broker."""

from kombu import Connection


def broker_problem(amqp_uri):
    """Why the broker at ``amqp_uri`` cannot be reached, or None when it can."""
    try:
        with Connection(amqp_uri, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None
