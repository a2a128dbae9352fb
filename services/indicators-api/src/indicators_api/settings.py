from pydantic_settings import SettingsConfigDict

from bp_common.settings import ServiceSettings


class IndicatorsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INDICATORS_")

    service_name: str = "indicators-api"
    database_url: str = "sqlite+aiosqlite:///var/indicators.db"

    # The IATI import's own body limit (the gateway's per-route limit must be at least this).
    iati_max_body_bytes: int = 200 * 1024 * 1024
    # The reporting organisation of an export of the whole Process.
    iati_secretariat: str = "ICMPD"
    iati_secretariat_identifier: str = "XI-IATI-ICMPD"
    iati_secretariat_name: str = "International Centre for Migration Policy Development"
