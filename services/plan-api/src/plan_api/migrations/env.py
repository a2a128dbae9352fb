from bp_common.migrations import run_env
from plan_api.app import SPEC

run_env(SPEC.metadata)
