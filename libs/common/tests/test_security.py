import base64
import hmac
import time
from typing import Any

import jwt
import orjson
import pytest
import time_machine

from bp_common.errors import Unauthenticated
from bp_common.security import (
    IDENTITY_LEEWAY_S,
    IDENTITY_MAX_AGE_S,
    Identity,
    IdentityAlgorithm,
    Role,
    VerificationKey,
    api_key_matches,
    generate_api_key,
    hash_api_key,
    load_signing_key,
    load_verification_key,
    parse_key_id,
    sign_identity,
    verify_identity,
)
from bp_common.testing import identity_key_pair

PEPPER = "pepper"
SECRET = "an identity secret of at least 32 bytes"
AUDIENCE = "meetings-api"
NOW = 1_900_000_000.0  # any instant: the clock is set wherever time matters


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


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A token built without PyJWT, as an attacker would: ``key`` None leaves it unsigned."""
    signing_input = f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(claims))}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), "sha256").digest()
    return f"{signing_input}.{b64(signature)}"


def refusal(token: str, key: VerificationKey = SECRET, **options: Any) -> str:
    with pytest.raises(Unauthenticated) as refused:
        verify_identity(token, key, **{"audience": AUDIENCE} | options)
    assert refused.value.status == 401
    return refused.value.code


def test_signed_identity_round_trips_with_the_standard_claims() -> None:
    identity = Identity(
        principal="k1", role=Role.PARTNER, organisation="IOM", country="BG", request_id="req-1"
    )
    with time_machine.travel(NOW, tick=False):
        token = sign_identity(identity, SECRET, audience=AUDIENCE)
        verified = verify_identity(token, SECRET, audience=AUDIENCE)
    assert verified == Identity(
        principal="k1",
        role=Role.PARTNER,
        organisation="IOM",
        country="BG",
        request_id="req-1",
        issued_at=int(NOW),
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert claims_of(token) == {
        "iss": "gateway",
        "aud": AUDIENCE,
        "sub": "k1",
        "role": "partner",
        "org": "IOM",
        "country": "BG",
        "iat": int(NOW),
        "exp": int(NOW) + IDENTITY_MAX_AGE_S,
        "jti": "req-1",
    }


def test_without_a_request_id_each_token_has_its_own_jti() -> None:
    identity = Identity(principal="k1", role=Role.VIEWER)
    first, second = (sign_identity(identity, SECRET, audience=AUDIENCE) for _ in range(2))
    assert claims_of(first)["jti"] != claims_of(second)["jti"]


def test_a_token_is_valid_until_its_expiry_give_or_take_the_leeway() -> None:
    with time_machine.travel(NOW, tick=False):
        token = sign_identity(Identity(principal="k1", role=Role.VIEWER), SECRET, audience=AUDIENCE)
    expired = NOW + IDENTITY_MAX_AGE_S + IDENTITY_LEEWAY_S
    with time_machine.travel(expired - 0.5, tick=False):
        assert verify_identity(token, SECRET, audience=AUDIENCE).principal == "k1"
    with time_machine.travel(expired, tick=False):
        assert refusal(token) == "identity_expired"


def test_a_token_from_the_future_beyond_the_leeway_is_refused() -> None:
    """A gateway whose clock runs ahead: tolerated within the leeway only."""
    with time_machine.travel(NOW + IDENTITY_LEEWAY_S + 1, tick=False):
        ahead = sign_identity(Identity(principal="k1", role=Role.VIEWER), SECRET, audience=AUDIENCE)
    with time_machine.travel(NOW + 1, tick=False):
        assert verify_identity(ahead, SECRET, audience=AUDIENCE).principal == "k1"
    with time_machine.travel(NOW, tick=False):
        assert refusal(ahead) == "identity_invalid"


def test_a_token_for_another_service_is_refused() -> None:
    token = sign_identity(Identity(principal="k1", role=Role.VIEWER), SECRET, audience="plan-api")
    assert refusal(token) == "identity_for_another_service"


def test_a_token_names_every_service_it_is_meant_for() -> None:
    token = sign_identity(
        Identity(principal="k1", role=Role.VIEWER), SECRET, audience=["plan-api", AUDIENCE]
    )
    assert verify_identity(token, SECRET, audience=AUDIENCE).principal == "k1"
    assert verify_identity(token, SECRET, audience="plan-api").principal == "k1"
    assert refusal(token, audience="indicators-api") == "identity_for_another_service"


def valid_claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "gateway",
        "aud": AUDIENCE,
        "sub": "k1",
        "role": "viewer",
        "org": None,
        "country": None,
        "iat": now,
        "exp": now + IDENTITY_MAX_AGE_S,
        "jti": "req-1",
    }


def test_the_hand_made_tokens_of_these_tests_are_accepted_when_valid() -> None:
    """So that the refusals below are due to what each one changes, not to how it is built."""
    token = hand_made({"alg": "HS256", "typ": "JWT"}, valid_claims(), SECRET.encode())
    assert verify_identity(token, SECRET, audience=AUDIENCE).principal == "k1"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"role": "emperor"},
        {"org": 42},
        {"iat": "yesterday"},
        {"sub": 7},
        *({claim: None} for claim in ("iss", "aud", "sub", "role", "iat", "exp", "jti")),
    ],
    ids=repr,
)
def test_a_token_with_a_wrong_or_missing_claim_is_refused(changes: dict[str, Any]) -> None:
    claims = {
        name: value
        for name, value in (valid_claims() | changes).items()
        if value is not None or name not in changes
    }
    assert refusal(hand_made({"alg": "HS256"}, claims, SECRET.encode())) == "identity_invalid"


def test_tampered_claims_or_signature_are_refused() -> None:
    viewer = sign_identity(Identity(principal="k1", role=Role.VIEWER), SECRET, audience=AUDIENCE)
    header, payload, signature = viewer.split(".")
    promoted = b64(orjson.dumps(claims_of(viewer) | {"role": "secretariat"}))
    assert refusal(f"{header}.{promoted}.{signature}") == "identity_invalid"
    raw = bytearray(base64.urlsafe_b64decode(signature + "="))
    raw[0] ^= 1
    assert refusal(f"{header}.{payload}.{b64(bytes(raw))}") == "identity_invalid"
    assert refusal(viewer, "another secret, long enough for HS256") == "identity_invalid"
    assert refusal("garbage") == "identity_invalid"


def test_an_unsigned_token_is_refused() -> None:
    """``alg: none`` (RFC 7519 6): whatever it claims, it proves nothing."""
    for alg in ("none", "None", "NONE"):
        assert refusal(hand_made({"alg": alg}, valid_claims(), None)) == "identity_invalid"


@pytest.mark.parametrize("algorithm", [IdentityAlgorithm.EDDSA, IdentityAlgorithm.RS256])
def test_an_asymmetric_identity_round_trips_and_refuses_hs256(
    algorithm: IdentityAlgorithm,
) -> None:
    private_pem, public_pem = identity_key_pair(algorithm)
    private = load_signing_key(algorithm, private_pem)
    public = load_verification_key(algorithm, public_pem)
    identity = Identity(principal="k1", role=Role.MEMBER, country="LV", request_id="r")
    token = sign_identity(identity, private, audience=AUDIENCE, algorithm=algorithm)
    assert jwt.get_unverified_header(token)["alg"] == algorithm.value
    verified = verify_identity(token, public, audience=AUDIENCE, algorithm=algorithm)
    assert (verified.principal, verified.role, verified.country) == ("k1", Role.MEMBER, "LV")
    # HS256 where the services hold a public key: keyed with the shared secret, or with the
    # public key itself (the key-confusion attack: the public key is no secret).
    for hs_key in (SECRET.encode(), public_pem.encode()):
        forged = hand_made({"alg": "HS256"}, valid_claims(), hs_key)
        assert refusal(forged, public, algorithm=algorithm) == "identity_invalid"
    # Signed by another key pair of the same kind.
    other = load_signing_key(algorithm, identity_key_pair(algorithm)[0])
    stranger = sign_identity(identity, other, audience=AUDIENCE, algorithm=algorithm)
    assert refusal(stranger, public, algorithm=algorithm) == "identity_invalid"


def test_an_hs256_service_refuses_an_asymmetric_token() -> None:
    private = load_signing_key(IdentityAlgorithm.EDDSA, identity_key_pair()[0])
    token = sign_identity(
        Identity(principal="k1", role=Role.VIEWER),
        private,
        audience=AUDIENCE,
        algorithm=IdentityAlgorithm.EDDSA,
    )
    assert refusal(token) == "identity_invalid"


def test_a_key_of_the_wrong_kind_is_refused_when_loaded() -> None:
    private_pem, public_pem = identity_key_pair(IdentityAlgorithm.EDDSA)
    with pytest.raises(ValueError, match="RS256"):
        load_signing_key(IdentityAlgorithm.RS256, private_pem)
    with pytest.raises(ValueError, match="RS256"):
        load_verification_key(IdentityAlgorithm.RS256, public_pem)
    with pytest.raises(ValueError):
        load_verification_key(IdentityAlgorithm.EDDSA, "not a PEM")
