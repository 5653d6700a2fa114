"""Signatures on actor method calls: only this service may command its actors.

Dapr lets anything that reaches a sidecar call any actor type (in Kubernetes,
every app of the namespace through its own sidecar). So every method call this
service makes carries an HMAC over the actor type, id, method, body and time,
and the actor host refuses a call whose signature is missing, wrong, or older
than ``MAX_AGE`` seconds.
"""

from __future__ import annotations

import re

from security.macs import MacKeyring, framed

HEADER = "x-customer-command-signature"
# The actor host's answer is signed too: whoever hosts an actor id (any app
# may register an actor type with placement) cannot forge what it replies.
REPLY_HEADER = "x-customer-reply-signature"
MAX_AGE = 60.0
# A little tolerance for clocks of different replicas.
MAX_SKEW = 5.0
_DOMAIN = "customer-service/actor-command/v1"
_REPLY_DOMAIN = "customer-service/actor-reply/v1"
_FORMAT = re.compile(r"t=(\d{1,15});m=(\S{1,200})")


def _message(actor_type: str, actor_id: str, method: str, millis: int, body: bytes) -> bytes:
    return framed(_DOMAIN, actor_type, actor_id, method, str(millis), body)


def sign(
    keys: MacKeyring, actor_type: str, actor_id: str, method: str, body: bytes, now: float
) -> str:
    millis = int(now * 1000)
    tag = keys.sign(_message(actor_type, actor_id, method, millis, body))
    return f"t={millis};m={tag}"


def verify(
    keys: MacKeyring,
    signature: str | None,
    actor_type: str,
    actor_id: str,
    method: str,
    body: bytes,
    now: float,
) -> bool:
    if not signature:
        return False
    match = _FORMAT.fullmatch(signature.strip())
    if match is None:
        return False
    millis = int(match.group(1))
    age = now - millis / 1000
    if age > MAX_AGE or age < -MAX_SKEW:
        return False
    return keys.verify(_message(actor_type, actor_id, method, millis, body), match.group(2))


def sign_reply(keys: MacKeyring, request_signature: str, status: int, body: bytes) -> str:
    """The signature of an answer to the call that carried ``request_signature``."""
    return keys.sign(framed(_REPLY_DOMAIN, request_signature, str(status), body))


def verify_reply(
    keys: MacKeyring, request_signature: str, status: int, body: bytes, signature: str | None
) -> bool:
    if not signature:
        return False
    return keys.verify(framed(_REPLY_DOMAIN, request_signature, str(status), body), signature)
