"""Replaying a dead letter: once the cause is fixed, an operator has the event a handler gave
up on delivered again to that handler alone, so that what it had to do — a citizen's erasure
after an ``account.deleted`` (GDPR art. 17) — is done, and no fault loses an event.

The stored envelope goes back unchanged, event id included, to the subscriber's own queue
through the default exchange: the other subscribers of the event, which handled it, get
nothing, and the handler's inbox still absorbs a second delivery. The letter is deleted only
once the broker confirmed the event: a crash in between delivers it twice, never loses it.
"""

from sqlalchemy import delete, select

from contracts import events
from contracts.errors import Conflict, NotFound, ServiceUnavailable
from servicekit.inbox import consumer_name
from servicekit.logging import get_logger
from servicekit.outbox import confirmed_publisher, event_headers
from servicekit.tables import dead_letters

log = get_logger(__name__)

DEFAULT_EXCHANGE = ""


def subscriber_of(consumer, body):
    """The event type of ``body`` and its subscriber that ``consumer`` names; Conflict when the
    body is no event of the contracts or the consumer no longer subscribes to it."""
    type_name = body.get("type") if isinstance(body, dict) else None
    event_type = events.EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if event_type is None:
        raise Conflict(f"The dead letter of {consumer} holds no event of the contracts: it "
                       "cannot be replayed.")
    for subscriber in event_type.subscribers:
        if consumer_name(subscriber.service, subscriber.method) == consumer:
            return event_type, subscriber
    raise Conflict(f"{consumer} no longer handles {event_type.name}: its dead letter cannot be "
                   "replayed.")


def replay_dead_letter(access, amqp_uri, dead_letter_id):
    """Publishes the dead letter's event to its consumer's queue, then deletes the letter;
    returns what names the replay."""
    with access.transaction() as session:
        letter = session.execute(
            select(dead_letters.c.consumer, dead_letters.c.body)
            .where(dead_letters.c.id == dead_letter_id)).first()
    if letter is None:
        raise NotFound(f"No dead letter {dead_letter_id}.")
    event_type, subscriber = subscriber_of(letter.consumer, letter.body)
    event_id = str(letter.body.get("event_id"))[:200]
    try:
        confirmed_publisher(amqp_uri).publish(
            letter.body,
            exchange=DEFAULT_EXCHANGE,
            routing_key=event_type.queue_name(subscriber),
            headers=event_headers(f"{subscriber.service}.replay.{event_id}",
                                  letter.body.get("correlation_id")),
        )
    except Exception as error:  # the broker is away or refused it: the letter stays
        log.warning("dead_letter.replay_failed", consumer=letter.consumer,
                    event_type=event_type.name, event_id=event_id, error=type(error).__name__)
        raise ServiceUnavailable("The broker did not take the event; its dead letter is kept. "
                                 "Try again shortly.") from error
    with access.transaction() as session:
        session.execute(delete(dead_letters).where(dead_letters.c.id == dead_letter_id))
    log.info("dead_letter.replayed", consumer=letter.consumer, event_type=event_type.name,
             event_id=event_id)
    return {"dead_letter_id": dead_letter_id, "event_id": event_id, "consumer": letter.consumer}
