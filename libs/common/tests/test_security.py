import time

import pytest

from bp_common.errors import Unauthenticated
from bp_common.security import (
    Identity,
    Role,
    api_key_matches,
    generate_api_key,
    hash_api_key,
    parse_key_id,
    sign_identity,
    verify_identity,
)

PEPPER = "pepper"
SECRET = "identity-secret"


def test_generated_keys_are_unique_prefixed_and_carry_their_id() -> None:
    first, second = generate_api_key(), generate_api_key()
    assert first.secret != second.secret
    assert first.secret.startswith("bp_")
    assert parse_key_id(first.secret) == first.key_id


def test_only_the_keyed_hash_matches_the_key() -> None:
    key = generate_api_key().secret
    stored = hash_api_key(key, PEPPER)
    assert key not in stored
    assert api_key_matches(key, stored, PEPPER)
    assert not api_key_matches(key + "x", stored, PEPPER)
    assert not api_key_matches(key, stored, "another pepper")


@pytest.mark.parametrize("bad", ["", "bp__x", "xx_id_secret", "bp_id_"])
def test_malformed_keys_have_no_id(bad: str) -> None:
    assert parse_key_id(bad) is None


def test_signed_identity_round_trips() -> None:
    identity = Identity(principal="k1", role=Role.PARTNER, organisation="IOM", request_id="r")
    verified = verify_identity(sign_identity(identity, SECRET), SECRET)
    assert (verified.principal, verified.role, verified.organisation) == ("k1", Role.PARTNER, "IOM")


def test_tampered_or_foreign_identity_is_refused() -> None:
    token = sign_identity(Identity(principal="k1", role=Role.VIEWER), SECRET)
    signature = token.split(".")[1]
    forged = sign_identity(Identity(principal="k1", role=Role.SECRETARIAT), SECRET).split(".")[0]
    with pytest.raises(Unauthenticated):
        verify_identity(f"{forged}.{signature}", SECRET)
    with pytest.raises(Unauthenticated):
        verify_identity(token, "another secret")
    with pytest.raises(Unauthenticated):
        verify_identity("garbage", SECRET)


def test_stale_identity_is_refused() -> None:
    old = Identity(principal="k1", role=Role.VIEWER, issued_at=int(time.time()) - 3600)
    with pytest.raises(Unauthenticated):
        verify_identity(sign_identity(old, SECRET), SECRET)
