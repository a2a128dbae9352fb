from pydantic import AliasChoices, Field
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
    # A report is rendered on one of this many threads (each PDF takes a core for a while).
    report_threads: int = 2
    # The gateway's timeout for the report route: REPORT_TIMEOUT_S is read by both, so they
    # agree. A render still running at report_render_deadline_s (a tenth earlier, leaving time
    # for the answer to travel) is answered with a 503 problem, this service's, not the
    # gateway's 504.
    report_timeout_s: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("MEETINGS_REPORT_TIMEOUT_S", "REPORT_TIMEOUT_S"),
    )

    @property
    def report_render_deadline_s(self) -> float:
        return self.report_timeout_s * 0.9
