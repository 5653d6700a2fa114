"""Signatures on actor calls and on events: what they cover, how keys rotate."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from actors.invoker import ActorInvoker, InvalidActorAddress
from security import command_signature, event_signature
from security.command_secrets import CommandSecrets
from security.keyring import KeyringError
from security.macs import MacKeyring, framed

OLD = MacKeyring({"k1": b"1" * 32})
ROTATED = MacKeyring({"k2": b"2" * 32, "k1": b"1" * 32})
NOW = 1_800_000_000.0


def sign(keys: MacKeyring = OLD, method: str = "update", body: bytes = b"{}") -> str:
    return command_signature.sign(keys, "Customer", "c1", method, body, NOW)


def verify(
    signature: str | None,
    keys: MacKeyring = OLD,
    actor_type: str = "Customer",
    actor_id: str = "c1",
    method: str = "update",
    body: bytes = b"{}",
    now: float = NOW,
) -> bool:
    return command_signature.verify(keys, signature, actor_type, actor_id, method, body, now)


def test_a_signed_call_verifies() -> None:
    assert verify(sign())


@pytest.mark.parametrize(
    "changes",
    [
        {"actor_type": "UniqueKey"},
        {"actor_id": "c2"},
        {"method": "get"},
        {"body": b'{"status":"SUSPENDED"}'},
    ],
)
def test_the_signature_covers_type_id_method_and_body(changes: dict[str, Any]) -> None:
    assert not verify(sign(), **changes)


def test_missing_malformed_or_foreign_signatures_fail() -> None:
    assert not verify(None)
    assert not verify("")
    assert not verify("t=1;m=k1:abc")
    assert not verify(sign(MacKeyring({"k1": b"x" * 32})))
    assert not verify(sign().replace("k1:", "k9:"))


def test_a_signature_lives_sixty_seconds() -> None:
    signature = sign()
    assert verify(signature, now=NOW + 59)
    assert not verify(signature, now=NOW + 61)
    # From a clock a little ahead: tolerated; from the future: not.
    assert verify(signature, now=NOW - 4)
    assert not verify(signature, now=NOW - 30)


def test_rotation_signs_with_the_newest_key_and_verifies_with_every_key() -> None:
    assert sign(ROTATED).split(";m=")[1].startswith("k2:")
    assert verify(sign(OLD), keys=ROTATED)
    assert not verify(sign(ROTATED), keys=OLD)


def test_framing_keeps_parts_apart() -> None:
    assert framed("ab", "c") != framed("a", "bc")


def test_mac_keys_are_long_enough_and_named_once() -> None:
    with pytest.raises(KeyringError):
        MacKeyring({"k1": b"short"})
    with pytest.raises(KeyringError):
        MacKeyring.parse("k1:" + base64.b64encode(b"1" * 32).decode() + ",k1:")


DATA = {
    "customer_id": "c1",
    "version": 3,
    "snapshot": {"first_name": "Zoë <b>&", "score": 1.5, "total": 10.0, "tags": ["a"]},
}


def as_daprd_re_encodes(data: dict[str, object]) -> dict[str, object]:
    """Sorted keys, <>& escaped, 1.0 written 1 (Go's encoding/json)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    text = text.replace("10.0", "10").replace("<", "\\u003c").replace(">", "\\u003e")
    text = text.replace("&", "\\u0026")
    decoded: dict[str, object] = json.loads(text)
    return decoded


def test_an_event_signature_survives_daprds_re_encoding() -> None:
    signed = event_signature.signed(OLD, "customer.updated", DATA)
    assert event_signature.is_authentic(OLD, "customer.updated", as_daprd_re_encodes(signed))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: {**d, "version": 99},
        lambda d: {**d, "snapshot": {**d["snapshot"], "first_name": "Mallory"}},
        lambda d: {k: v for k, v in d.items() if k != event_signature.FIELD},
        lambda d: {**d, event_signature.FIELD: 7},
    ],
)
def test_a_changed_or_unsigned_event_is_not_authentic(tamper: object) -> None:
    signed = event_signature.signed(OLD, "customer.updated", DATA)
    assert not event_signature.is_authentic(OLD, "customer.updated", tamper(signed))  # type: ignore[operator]


def test_the_event_type_is_covered() -> None:
    signed = event_signature.signed(OLD, "customer.updated", DATA)
    assert not event_signature.is_authentic(OLD, "customer.deleted", signed)
    assert not event_signature.is_authentic(OLD, "customer.updated", "not a dict")


@pytest.mark.parametrize("actor_id", ["../../shutdown?x=", "a/b", "..", "x#y", "a%2Fb", "", "a b"])
async def test_actor_addresses_that_could_move_the_url_are_never_sent(actor_id: str) -> None:
    invoker = ActorInvoker(NoSidecar(), OLD)  # type: ignore[arg-type]
    with pytest.raises(InvalidActorAddress):
        await invoker.call("Customer", actor_id, "get")


class NoSidecar:
    def post(self, *_: object, **__: object) -> object:
        raise AssertionError("nothing may be sent")


def test_sealed_command_secrets_open_only_for_their_actor_and_field() -> None:
    secrets = CommandSecrets(ROTATED)
    sealed = secrets.seal("c1", "password", "hunter2 hunter2")
    assert "hunter2" not in json.dumps(sealed)
    assert secrets.open("c1", "password", sealed) == "hunter2 hunter2"
    assert secrets.open("c2", "password", sealed) is None
    assert secrets.open("c1", "code", sealed) is None
    assert CommandSecrets(OLD).open("c1", "password", sealed) is None  # k2 is not in OLD
    assert secrets.open("c1", "password", {"key_id": "k2", "ciphertext": "bm9wZQ=="}) is None
    assert secrets.open("c1", "password", "hunter2") is None


GO_ROUND_TRIPS = [
    # (what we signed, what daprd hands on after decoding into float64 and encoding)
    (1e16, 10000000000000000),
    (2.0**53 + 2, 9007199254740994),
    (1e21, 1e21),
    (1.5, 1.5),
    (-0.0, 0),
    (10.0, 10),
]


@pytest.mark.parametrize(("signed_value", "delivered_value"), GO_ROUND_TRIPS)
def test_numbers_as_daprd_rewrites_them_keep_the_signature(
    signed_value: float, delivered_value: float
) -> None:
    signed = event_signature.signed(OLD, "customer.updated", {**DATA, "n": signed_value})
    delivered = {**signed, "n": delivered_value}
    assert event_signature.is_authentic(OLD, "customer.updated", delivered)
