"""This service's declarative base: its metadata holds its own tables, outbox and inbox only."""

from bp_common.events.outbox import service_outbox
from bp_common.events.store import messaging_tables
from bp_common.orm import ServiceBase, new_metadata

SERVICE_NAME = "indicators"


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)
# For the event handlers, which get no request dependencies: events they emit leave exactly like
# those emitted by requests.
handler_outbox = service_outbox(messaging, SERVICE_NAME)
