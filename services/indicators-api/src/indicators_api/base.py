"""This service's declarative base: its metadata holds its own tables, outbox and inbox only."""

from bp_common.events.outbox import Outbox
from bp_common.events.store import messaging_tables
from bp_common.orm import ServiceBase, new_metadata


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)
# For event handlers, which get no request dependencies; the same table and source as the
# runtime's outbox.
outbox = Outbox(messaging.outbox, source="/indicators")
