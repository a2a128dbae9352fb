"""This service's declarative base: its metadata holds its own tables, outbox and inbox only."""

from bp_common.events.store import messaging_tables
from bp_common.orm import ServiceBase, new_metadata

SERVICE_NAME = "notifications"


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)
