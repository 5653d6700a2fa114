"""The fuzz run: requests made from the service's own OpenAPI document, plus the
inputs attackers send, against a running stack; every answer is tallied.

schemathesis turns each operation of ``/api/v1/customers/openapi.json`` into
Hypothesis strategies, positive (bodies and parameters the schema allows) and
negative (ones it does not). Each drawn case may then be made hostile (NUL and
other control characters, deep nesting, bodies over the limit, extreme dates,
forged cursors, unknown query parameters, NFD spellings of a real email) and
is pointed, most of the time, at real ids so that it reaches the actors and
the read model instead of stopping at a 404. Half the requests carry an admin
token, half a customer's own token.

What counts as a failure: any status of 500 or more (a 503 is the only one
the API answers on purpose, for a dependency outage; during the run there is
none, so it counts too), and any error that is not ``application/problem+json``
or lacks the security headers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.result import Ok

from tests.support.hostile import (
    CONTROL_CHARACTERS,
    EXTREME_DAYS,
    EXTREME_MOMENTS,
    FORGED_CURSORS,
    nested,
    nested_json,
    nfd,
)

OPENAPI = "/api/v1/customers/openapi.json"
MAX_ROUNDS = 10
MUTATIONS = (
    "none",
    "none",
    "control",
    "deep",
    "huge",
    "extreme_date",
    "cursor",
    "unknown_query",
    "nfd_email",
)
DATE_FIELDS = frozenset({"date_of_birth", "created_from", "created_to", "placed_at"})
SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "content-security-policy")


@dataclasses.dataclass(frozen=True)
class Target:
    """A running stack and what the fuzz run may aim at in it."""

    base_url: str
    admin_token: str
    customer_token: str
    customer_id: str
    customer_email: str
    address_id: str
    segment_id: str
    # Segments that existed before the run (the run removes every other one).
    segments_before: frozenset[str]


@dataclasses.dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    by_caller: Counter[str] = dataclasses.field(default_factory=Counter)
    by_mutation: Counter[str] = dataclasses.field(default_factory=Counter)
    not_sent: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        callers = ", ".join(f"{who}: {n}" for who, n in sorted(self.by_caller.items()))
        mutations = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.by_mutation.items()))
        return (
            f"{self.requests} requests ({callers}); statuses {statuses}; "
            f"mutations {mutations}; {self.not_sent} refused by the client library; "
            f"{len(self.failures)} failures"
        )


@dataclasses.dataclass
class _Request:
    method: str
    path_template: str
    path_parameters: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, str]
    body: Any  # NOT_SET, a JSON value, or raw bytes


def run(target: Target, budget: int, seed: int = 1) -> Tally:
    """Send about ``budget`` requests; return what came back."""
    schema = schemathesis.openapi.from_url(target.base_url + OPENAPI)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    per_operation = max(5, budget // (len(operations) * 2))
    tally = Tally()
    rng = random.Random(seed)  # noqa: S311 - picks test inputs, not secrets
    with httpx.Client(base_url=target.base_url, timeout=30) as client:
        try:
            _fuzz(client, target, operations, budget, per_operation, seed, rng, tally)
        finally:
            _remove_segments_made_since(client, target)
    return tally


def _fuzz(
    client: httpx.Client,
    target: Target,
    operations: list[Any],
    budget: int,
    per_operation: int,
    seed: int,
    rng: random.Random,
    tally: Tally,
) -> None:
    for request, caller, kind in directed(target):
        token = target.customer_token if caller == "customer" else target.admin_token
        request.headers["authorization"] = f"Bearer {token}"
        _send(client, request, caller, kind, tally)
    # Hypothesis may draw fewer examples than asked (it stops at duplicates):
    # rounds with other seeds until the budget is spent.
    for round_seed in range(seed, seed + MAX_ROUNDS):
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode)
                _drive(client, target, strategy, per_operation, round_seed, rng, tally)
        if tally.requests >= budget:
            break


def _segment_ids(client: httpx.Client, admin: dict[str, str]) -> set[str]:
    listed = client.get("/api/v1/segments", headers=admin)
    listed.raise_for_status()
    return {segment["id"] for segment in listed.json()["segments"]}


def _remove_segments_made_since(client: httpx.Client, target: Target) -> None:
    """Segments the run created would hold customers of the tests that follow."""
    admin = {"authorization": f"Bearer {target.admin_token}"}
    for segment_id in _segment_ids(client, admin) - target.segments_before:
        client.delete(f"/api/v1/segments/{segment_id}", headers=admin)


def _drive(
    client: httpx.Client,
    target: Target,
    strategy: st.SearchStrategy[Any],
    examples: int,
    seed: int,
    rng: random.Random,
    tally: Tally,
) -> None:
    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, mutation=st.sampled_from(MUTATIONS))
    def one(case: Any, mutation: str) -> None:
        request = _Request(
            method=case.method.upper(),
            path_template=case.path,
            path_parameters=dict(case.path_parameters or {}),
            query=dict(case.query or {}),
            headers={
                str(k): str(v)
                for k, v in (case.headers or {}).items()
                if str(k).lower() != "authorization"  # the caller's token decides
            },
            body=case.body,
        )
        as_customer = rng.random() < 0.5
        _aim(request, target, as_customer, rng)
        _mutate(request, mutation, target, rng)
        token = target.customer_token if as_customer else target.admin_token
        request.headers["authorization"] = f"Bearer {token}"
        _send(client, request, "customer" if as_customer else "admin", mutation, tally)

    # Unsatisfiable: nothing to negate in this operation (no parameters, no body).
    with contextlib.suppress(Unsatisfiable):
        one()


def directed(target: Target) -> list[tuple[_Request, str, str]]:
    """Each hostile input at each place it can go, once (before the random part)."""
    customers = "/api/v1/customers"
    own = f"{customers}/{target.customer_id}"
    plan: list[tuple[_Request, str, str]] = []

    def add(kind: str, method: str, path: str, query: Any = None, body: Any = NOT_SET) -> None:
        for caller in ("admin", "customer"):
            request = _Request(method, path, {}, dict(query or {}), {}, body)
            plan.append((request, caller, kind))

    for cursor in FORGED_CURSORS:
        add("cursor", "GET", customers, {"cursor": cursor})
        add("cursor", "GET", customers, {"cursor": cursor, "sort": "name"})
        add("cursor", "GET", f"/api/v1/segments/{target.segment_id}/customers", {"cursor": cursor})
    for moment in EXTREME_MOMENTS + EXTREME_DAYS:
        add("extreme_date", "GET", customers, {"created_from": moment, "created_to": moment})
        add("extreme_date", "POST", customers, body={"email": _email(), "date_of_birth": moment})
        add("extreme_date", "PATCH", own, body={"date_of_birth": moment})
        rule = {"field": "last_login_at", "operator": "lt", "value": moment}
        add("extreme_date", "POST", "/api/v1/segments", body={"name": _email(), "rules": [rule]})
    for bad in CONTROL_CHARACTERS:
        for field in ("first_name", "last_name", "phone", "registration_source", "legacy_id"):
            add("control", "POST", customers, body={"email": _email(), field: f"x{bad}"})
        add("control", "POST", customers, body={"email": f"a{bad}{_email()}"})
        add("control", "PATCH", own, body={"metadata": {f"k{bad}": {"v": f"x{bad}"}}})
        add("control", "PATCH", f"{own}/preferences", body={"custom_preferences": {"k": bad}})
        add("control", "POST", f"{own}/addresses", body={**_ADDRESS, "city": f"X{bad}"})
        segment = {
            "name": f"s{bad}",
            "description": bad,
            "rules": [{"field": "status", "operator": "eq", "value": bad}],
        }
        add("control", "POST", "/api/v1/segments", body=segment)
        for name in ("email", "q", "group"):
            add("control", "GET", customers, {name: f"a{bad}"})
        add(
            "control",
            "POST",
            f"{customers}/login",
            body={"email": f"a{bad}@x.io", "password": bad * 9},
        )
    for depth in (9, 33, 256, 600, 999):
        add("deep", "PATCH", f"{own}/preferences", body=nested_json(depth, "custom_preferences"))
        add("deep", "PATCH", own, body=nested_json(depth, "metadata"))
        rule = {"field": "status", "operator": "in", "value": nested(min(depth, 20))}
        add("deep", "POST", "/api/v1/segments", body={"name": _email(), "rules": [rule]})
    for size in (20_000, 70_000, 1_000_000, 2_100_000):
        add("huge", "PATCH", f"{own}/preferences", body={"custom_preferences": {"x": "y" * size}})
    add("unknown_query", "GET", customers, {"ids": target.customer_id, "phone": "+14155550123"})
    for spelling in (nfd(target.customer_email), nfd(target.customer_email.upper())):
        add(
            "nfd_email",
            "POST",
            f"{customers}/register",
            body={"email": spelling, "password": "x" * 12},
        )
        add(
            "nfd_email",
            "POST",
            f"{customers}/login",
            body={"email": spelling, "password": "x" * 12},
        )
        add("nfd_email", "POST", f"{customers}/password-reset", body={"email": spelling})
        add("nfd_email", "GET", customers, {"email": spelling})
    return plan


def _email() -> str:
    return f"fuzz-{uuid.uuid4().hex[:10]}@example.com"


_ADDRESS = {
    "address_line_1": "123 Main St",
    "city": "New York",
    "state_province": "NY",
    "postal_code": "10001",
    "country_code": "US",
}


def _aim(request: _Request, target: Target, as_customer: bool, rng: random.Random) -> None:
    """Point most requests at things that exist (the token's own customer for a customer)."""
    real = {
        "customer_id": target.customer_id,
        "address_id": target.address_id,
        "segment_id": target.segment_id,
    }
    for name in request.path_parameters:
        if name in real and ((as_customer and name == "customer_id") or rng.random() < 0.8):
            request.path_parameters[name] = real[name]


def _strings(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every string inside a JSON value (no deeper than it is)."""
    found: list[tuple[Any, ...]] = []
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            found.append(where)
        elif isinstance(item, dict):
            stack.extend((v, (*where, k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, (*where, n)) for n, v in enumerate(item))
    return found


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return value


def _mutate(request: _Request, mutation: str, target: Target, rng: random.Random) -> None:
    has_json_body = request.body is not NOT_SET and not isinstance(request.body, bytes)
    body_object = has_json_body and isinstance(request.body, dict)
    if mutation == "control":
        bad = rng.choice(CONTROL_CHARACTERS)
        if has_json_body and (paths := _strings(request.body)):
            where = rng.choice(paths)
            request.body = _set(request.body, where, f"{_get(request.body, where)}{bad}x")
        elif body_object:
            request.body[f"k{bad}"] = "v"
        else:
            request.query[rng.choice(["q", "email", "group", "cursor", "status"])] = f"a{bad}"
    elif mutation == "deep" and body_object and request.body:
        field = rng.choice(sorted(request.body))
        depth = rng.choice([9, 33, 256, 999, 5000])
        if depth < 300:
            request.body[field] = nested(depth)
        else:
            request.body = nested_json(depth, str(field))
    elif mutation == "huge" and has_json_body:
        size = rng.choice([70_000, 2_100_000])
        request.body = {"padding": "x" * size, **(request.body if body_object else {})}
    elif mutation == "extreme_date":
        moment = rng.choice(EXTREME_MOMENTS + EXTREME_DAYS)
        if body_object:
            request.body[rng.choice(sorted(DATE_FIELDS))] = moment
        else:
            request.query[rng.choice(["created_from", "created_to"])] = moment
    elif mutation == "cursor":
        request.query["cursor"] = rng.choice(FORGED_CURSORS)
        if rng.random() < 0.5:
            request.query["sort"] = rng.choice(["name", "created_at"])
    elif mutation == "unknown_query":
        request.query[rng.choice(["ids", "phone", "limit2", "Status"])] = "x"
    elif mutation == "nfd_email":
        spelling = rng.choice([str.upper, str.lower, str.title])(target.customer_email)
        email = nfd(spelling) if rng.random() < 0.5 else unicodedata.normalize("NFC", spelling)
        if body_object:
            request.body["email"] = email
        else:
            request.query["email"] = email


def _query_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_query_value(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value)


def _send(
    client: httpx.Client, request: _Request, caller: str, mutation: str, tally: Tally
) -> None:
    try:
        path = request.path_template.format(
            **{
                k: httpx.URL(path=str(v)).raw_path.decode()
                for k, v in request.path_parameters.items()
            }
        )
        content: bytes | None = None
        headers = dict(request.headers)
        if isinstance(request.body, bytes):
            content = request.body
        elif request.body is not NOT_SET:
            content = json.dumps(request.body).encode()
        if content is not None:
            headers["content-type"] = "application/json"
        params = {k: _query_value(v) for k, v in request.query.items()}
        response = client.request(
            request.method, path, params=params, headers=headers, content=content
        )
    except (httpx.InvalidURL, httpx.LocalProtocolError, ValueError, TypeError, KeyError):
        tally.not_sent += 1  # not a request a client library lets through
        return
    except httpx.TransportError as exc:  # reset, closed or timed out by the server
        tally.requests += 1
        tally.by_caller[caller] += 1
        tally.by_mutation[mutation] += 1
        tally.failures.append(f"{request.method} {request.path_template}: {exc!r}")
        return
    tally.requests += 1
    tally.statuses[response.status_code] += 1
    tally.by_caller[caller] += 1
    tally.by_mutation[mutation] += 1
    what = f"{request.method} {path} ({caller}, {mutation})"
    if response.status_code >= 500:
        tally.failures.append(f"{what}: {response.status_code} {response.text[:300]}")
    elif response.status_code >= 400 and not response.headers.get("content-type", "").startswith(
        "application/problem+json"
    ):
        tally.failures.append(f"{what}: {response.status_code} is not problem+json")
    if any(name not in response.headers for name in SECURITY_HEADERS):
        tally.failures.append(f"{what}: {response.status_code} without the security headers")


def prepare_target(base_url: str, admin_token: str, customer_token: Callable[[str], str]) -> Target:
    """A customer (with an email outside ASCII), one of its addresses and a segment."""
    email = f"zoë-fuzz-{uuid.uuid4().hex[:8]}@example.com"
    admin = {"authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=base_url, headers=admin, timeout=30) as client:
        before = frozenset(_segment_ids(client, admin))
        customer = client.post(
            "/api/v1/customers", json={"email": email, "first_name": "Fuzz", "last_name": "Target"}
        )
        customer.raise_for_status()
        customer_id = customer.json()["customer"]["id"]
        address = client.post(f"/api/v1/customers/{customer_id}/addresses", json=_ADDRESS)
        address.raise_for_status()
        segment = client.post(
            "/api/v1/segments",
            json={
                "name": f"fuzz-{uuid.uuid4().hex[:8]}",
                "rules": [{"field": "total_orders", "operator": "gte", "value": 0}],
            },
        )
        segment.raise_for_status()
    return Target(
        base_url=base_url,
        admin_token=admin_token,
        customer_token=customer_token(customer_id),
        customer_id=customer_id,
        customer_email=email,
        address_id=address.json()["address"]["id"],
        segment_id=segment.json()["segment"]["id"],
        segments_before=before,
    )
