"""Where a request came from: direct, service invocation, or a sidecar callback."""

from __future__ import annotations

import pytest

from service.callers import Scope
from service.origin import CALLBACK, DIRECT, Origin, Refused, Way, classify, is_canonical

TOKEN = b"app-token"
ME = "customer-service"
CALLERS = {"crm": Scope.ADMIN, "orders": Scope.READ, "gateway": Scope.FORWARD}
# What daprd stamps on a remote service invocation (seen on daprd 1.18.3).
REMOTE = [
    (b"dapr-api-token", TOKEN),
    (b"dapr-caller-app-id", b"crm"),
    (b"dapr-callee-app-id", ME.encode()),
    (b"dapr-caller-namespace", b"default"),
    (b"forwarded", b"for=192.0.2.2;by=192.0.2.2;host=vm"),
    (b"x-forwarded-for", b"192.0.2.2"),
]
# An actor call through the sidecar's actor API, and an event delivery.
ACTOR_CALL = [
    (b"dapr-api-token", TOKEN),
    (b"dapr-api-call", b"true"),
    (b"dapr-caller-app-id", ME.encode()),
    (b"dapr-caller-namespace", b"default"),
]
DELIVERY = [(b"dapr-api-token", TOKEN), (b"pubsubname", b"customer-pubsub")]


def judge(path: str, headers: list[tuple[bytes, bytes]], token: bytes | None = TOKEN) -> Origin:
    return classify(path, headers, token, ME, CALLERS)


def refused(path: str, headers: list[tuple[bytes, bytes]]) -> Refused:
    with pytest.raises(Refused) as caught:
        judge(path, headers)
    return caught.value


def test_a_request_without_the_app_token_is_direct() -> None:
    assert judge("/api/v1/customers/1", []) == DIRECT
    # Stamps mean nothing without the token only the sidecar has.
    stamped = [(k, v) for k, v in REMOTE if k != b"dapr-api-token"]
    assert judge("/api/v1/customers/1", stamped) == DIRECT


def test_a_remote_invocation_names_its_caller_and_scope() -> None:
    assert judge("/api/v1/customers/1", REMOTE) == Origin(Way.INVOCATION, "crm", Scope.ADMIN)


def test_an_unlisted_caller_has_no_scope() -> None:
    headers = [(k, b"intruder" if k == b"dapr-caller-app-id" else v) for k, v in REMOTE]
    assert judge("/api/v1/customers/1", headers) == Origin(Way.INVOCATION, "intruder", None)


def test_self_invocation_arrives_unstamped_and_names_nobody() -> None:
    headers = [(b"dapr-api-token", TOKEN), (b"dapr-caller-app-id", b"crm")]
    # No callee stamp: the caller header is the client's own, not the sidecar's.
    assert judge("/api/v1/customers", headers) == Origin(Way.INVOCATION, None, None)


def test_a_call_meant_for_another_app_names_nobody() -> None:
    headers = [(k, b"other-app" if k == b"dapr-callee-app-id" else v) for k, v in REMOTE]
    assert judge("/api/v1/customers/1", headers).caller is None


def test_a_repeated_caller_header_is_refused() -> None:
    headers = [*REMOTE, (b"dapr-caller-app-id", b"crm")]
    assert refused("/api/v1/customers/1", headers).status == 403
    headers = [*REMOTE, (b"dapr-callee-app-id", ME.encode())]
    assert refused("/api/v1/customers/1", headers).slug == "ambiguous-caller"


def test_sidecar_callbacks_reach_the_sidecar_only_routes() -> None:
    assert judge("/actors/Customer/c1/method/get", ACTOR_CALL) == CALLBACK
    assert judge("/events/order-events", DELIVERY) == CALLBACK
    assert judge("/dapr/config", [(b"dapr-api-token", TOKEN)]) == CALLBACK


@pytest.mark.parametrize(
    "path",
    [
        "/actors/Customer/c1/method/update",
        "/actors/Customer/c1",
        "/events/order-events",
        "/dapr/subscribe",
        "/Actors/Customer/c1/method/get",
        "/EVENTS/customer-events",
        "/healthz",
    ],
)
def test_service_invocation_never_reaches_a_sidecar_only_route(path: str) -> None:
    assert refused(path, REMOTE).status == 403


@pytest.mark.parametrize(
    "path",
    ["/actors//Customer/c1", "/api/v1/../../actors/Customer/c1", "/api/./v1", "//actors/x", "x"],
)
def test_paths_that_are_not_canonical_are_refused(path: str) -> None:
    assert not is_canonical(path)
    assert refused(path, REMOTE).status == 404
    assert refused(path, []).status == 404


def test_sidecar_only_routes_need_the_app_token() -> None:
    for headers in ([], [(b"dapr-api-token", b"guess")], [(b"dapr-api-token", b"")]):
        assert refused("/actors/Customer/c1/method/get", headers).status == 401


def test_a_repeated_app_token_is_refused_wherever_it_goes() -> None:
    doubled = [(b"dapr-api-token", TOKEN), (b"dapr-api-token", TOKEN)]
    assert refused("/dapr/config", doubled).status == 400
    assert refused("/api/v1/customers", doubled).status == 400


def test_without_a_configured_token_nothing_can_be_told_apart() -> None:
    # Development only: settings refuse to start without one elsewhere.
    assert judge("/actors/Customer/c1/method/get", [], token=None) == CALLBACK
    assert judge("/api/v1/customers", REMOTE, token=None) == DIRECT
