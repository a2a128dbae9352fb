import pytest
from pydantic import SecretStr, ValidationError

from bp_common.settings import Environment, ServiceSettings


def test_development_accepts_the_default_secret() -> None:
    assert ServiceSettings(environment=Environment.DEVELOPMENT).identity_secret


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="identity_secret"):
        ServiceSettings(environment=Environment.PRODUCTION)


def test_production_accepts_a_real_secret() -> None:
    settings = ServiceSettings(
        environment=Environment.PRODUCTION, identity_secret=SecretStr("s3cr3t-from-vault")
    )
    assert settings.identity_secret.get_secret_value() == "s3cr3t-from-vault"


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    from meetings_api.settings import MeetingsSettings
    from plan_api.settings import PlanSettings

    monkeypatch.setenv("MEETINGS_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    assert MeetingsSettings().database_url == "sqlite+aiosqlite:///x.db"
    assert PlanSettings().database_url != "sqlite+aiosqlite:///x.db"


def test_production_refuses_fault_test_crash_hooks() -> None:
    with pytest.raises(ValidationError, match="crash hooks"):
        ServiceSettings(
            environment=Environment.PRODUCTION,
            identity_secret=SecretStr("s3cr3t-from-vault"),
            crash_before_offset_commit_after=10,
        )
