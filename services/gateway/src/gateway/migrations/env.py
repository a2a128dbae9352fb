from bp_common.migrations import run_env
from gateway.base import Base
from gateway.keys import models  # noqa: F401  (registers the tables)

run_env(Base.metadata)
