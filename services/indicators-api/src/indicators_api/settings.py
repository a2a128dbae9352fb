from pydantic_settings import SettingsConfigDict

from bp_common.settings import ServiceSettings


class IndicatorsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INDICATORS_")

    service_name: str = "indicators-api"
    database_url: str = "sqlite+aiosqlite:///var/indicators.db"
