"""The gateway's own database: API keys only (access data, not domain data)."""

from bp_common.orm import ServiceBase, new_metadata


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()
