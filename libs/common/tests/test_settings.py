import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import SecretStr, ValidationError

from bp_common.security import IdentityAlgorithm
from bp_common.settings import Environment, ServiceSettings
from bp_common.testing import identity_key_pair

VAULT_SECRET = "a 32-byte or longer secret from the vault"


def test_development_accepts_the_default_secret() -> None:
    assert ServiceSettings(environment=Environment.DEVELOPMENT).identity_secret


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="identity_secret"):
        ServiceSettings(environment=Environment.PRODUCTION)


def test_production_accepts_a_real_secret() -> None:
    settings = ServiceSettings(
        environment=Environment.PRODUCTION, identity_secret=SecretStr(VAULT_SECRET)
    )
    assert settings.identity_secret.get_secret_value() == VAULT_SECRET


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
            identity_secret=SecretStr(VAULT_SECRET),
            crash_before_offset_commit_after=10,
        )


def test_an_hs256_secret_shorter_than_the_hash_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        ServiceSettings(identity_secret=SecretStr("s3cr3t"))


def test_with_eddsa_a_service_needs_the_public_key_and_no_shared_secret() -> None:
    with pytest.raises(ValidationError, match="identity_public_key is required"):
        ServiceSettings(identity_algorithm=IdentityAlgorithm.EDDSA)
    _, public_pem = identity_key_pair(IdentityAlgorithm.EDDSA)
    settings = ServiceSettings(
        environment=Environment.PRODUCTION,
        identity_algorithm=IdentityAlgorithm.EDDSA,
        identity_public_key=public_pem,
    )
    assert isinstance(settings.identity_verification_key(), Ed25519PublicKey)


def test_a_public_key_for_another_algorithm_is_refused_at_start_up() -> None:
    _, public_pem = identity_key_pair(IdentityAlgorithm.EDDSA)
    with pytest.raises(ValidationError, match="not a key for RS256"):
        ServiceSettings(identity_algorithm=IdentityAlgorithm.RS256, identity_public_key=public_pem)
