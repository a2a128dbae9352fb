"""This service's declarative base: its metadata holds its own tables, outbox and inbox only."""

from bp_common.events.outbox import Outbox
from bp_common.events.store import messaging_tables
from bp_common.orm import ServiceBase, new_metadata

SERVICE_NAME = "plan"


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)

# The event handlers' outbox: the same table and source as the runtime's, so events emitted while
# consuming leave exactly like those emitted by requests.
handler_outbox = Outbox(messaging.outbox, source=f"/{SERVICE_NAME}")
