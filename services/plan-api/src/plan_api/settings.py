from pydantic_settings import SettingsConfigDict

from bp_common.settings import ServiceSettings


class PlanSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PLAN_")

    service_name: str = "plan-api"
    database_url: str = "sqlite+aiosqlite:///var/plan.db"
