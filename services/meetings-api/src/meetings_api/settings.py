from pydantic_settings import SettingsConfigDict

from bp_common.settings import ServiceSettings


class MeetingsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MEETINGS_")

    service_name: str = "meetings-api"
    database_url: str = "sqlite+aiosqlite:///var/meetings.db"
    # Where the public API (the gateway) is reached: the calendar feed links back to it.
    public_base_url: str = "http://127.0.0.1:8000"
    # The dialogue the meetings belong to: the reports' page header.
    dialogue_name: str = "Budapest Process"
    # A report is rendered on one of this many threads (each PDF takes a core for a while), and
    # answered with a 503 problem when it takes longer than this: less than the gateway's
    # upstream timeout (10 s by default), so the caller gets this service's answer.
    report_threads: int = 2
    report_timeout_s: float = 9.0
