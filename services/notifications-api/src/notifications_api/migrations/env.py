from bp_common.migrations import run_env
from notifications_api.app import SPEC

run_env(SPEC.metadata)
