"""The typed actor boundary: one declaration per method, from which the SDK's
dispatch and the caller's client are derived, and the JSON on the wire."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import pytest
from dapr.actor.id import ActorId
from dapr.actor.runtime._type_information import ActorTypeInformation
from dapr.actor.runtime._type_utils import get_dispatchable_attrs
from dapr.actor.runtime.context import ActorRuntimeContext
from dapr.actor.runtime.runtime import ActorRuntime

from actors import codec
from actors.client import ActorClient
from actors.customer_actor import Customer, CustomerHandlers
from actors.customer_protocol import (
    CREATE,
    CUSTOMER,
    GET,
    GET_ADDRESSES,
    REGISTER,
    ChallengeAnswer,
    CustomerShown,
    Read,
    ReadCustomer,
    SecondFactor,
)
from actors.group_registry import GROUPS, CustomerGroupRegistry, GroupRegistryShell
from actors.hosting import HostedActor, PerCallActors, serve_per_call
from actors.key_claims import refusal_for
from actors.protocol import ActorType, FieldProblem, Refused
from actors.serialization import PlainJSONSerializer
from actors.unique_key_actor import UniqueKey, UniqueKeyShell
from actors.unique_key_protocol import UNIQUE_KEY, KeyRefusal
from domain import errors
from domain.commands import EraseIfDue
from domain.errors import DomainError, Refusal
from domain.sessions import Access
from service.actor_replies import PROBLEMS, refusal_problem

HOSTED = [
    (Customer, CUSTOMER, CustomerHandlers),
    (UniqueKey, UNIQUE_KEY, UniqueKeyShell),
    (CustomerGroupRegistry, GROUPS, GroupRegistryShell),
]


@pytest.mark.parametrize(("actor", "declared", "handlers"), HOSTED)
def test_the_sdk_dispatches_exactly_the_declared_methods(
    actor: type, declared: ActorType[Any], handlers: type
) -> None:
    dispatch = get_dispatchable_attrs(actor)

    assert ActorTypeInformation.create(actor).type_name == declared.name
    assert sorted(dispatch) == sorted(m.name for m in declared.methods)
    for method in declared.methods:
        takes = [] if method.request is None else ["request"]
        assert dispatch[method.name]["arg_names"] == takes, method.name
        assert dispatch[method.name]["method_name"] == method.name


@pytest.mark.parametrize(("actor", "declared", "handlers"), HOSTED)
def test_every_handler_takes_the_declared_request_and_answers_its_reply(
    actor: type, declared: ActorType[Any], handlers: type
) -> None:
    for method in declared.methods:
        hints = typing.get_type_hints(getattr(handlers, method.name))
        answer = typing.get_args(hints.pop("return"))
        assert method.reply in answer, method.name
        assert list(hints.values()) == ([] if method.request is None else [method.request])


def test_reminders_reach_the_customer_actor_only_as_an_erasure_check() -> None:
    """The SDK delivers a reminder only to a class that names Remindable itself."""
    assert ActorTypeInformation.create(Customer).is_remindable()


async def test_a_reminder_makes_the_actor_check_its_erasure_by_name_only() -> None:
    checked: list[object] = []

    class Shell:
        async def execute(self, command: object) -> Refused[Refusal]:
            checked.append(command)
            return Refused(Refusal.NOT_FOUND, "nothing is stored")  # nothing to erase

    handlers = CustomerHandlers(Shell(), None)  # type: ignore[arg-type]
    await handlers.reminder("erasure-due")
    await handlers.reminder("something-else")
    assert checked == [EraseIfDue()]


def test_the_wire_names_are_the_contract() -> None:
    assert (CUSTOMER.name, UNIQUE_KEY.name) == ("Customer", "UniqueKey")
    assert [m.name for m in CUSTOMER.methods] == [
        *("create", "update", "delete", "restore", "add_address", "update_address"),
        *("remove_address", "set_default_address", "update_preferences", "record_order"),
        *("register", "login", "complete_login", "start_totp", "confirm_totp", "disable_totp"),
        *("request_email_verification", "verify_email", "request_password_reset"),
        *("reset_password", "change_password", "request_email_change", "confirm_email_change"),
        *("send_notice", "request_erasure", "cancel_erasure", "erase_if_due"),
        *("create_wishlist", "rename_wishlist", "delete_wishlist", "add_wishlist_item"),
        "remove_wishlist_item",
        *("get", "get_addresses", "get_preferences"),
    ]
    assert [m.name for m in UNIQUE_KEY.methods] == ["claim", "release"]
    assert GROUPS.name == "CustomerGroupRegistry"
    assert [m.name for m in GROUPS.methods] == ["create_group", "update_group", "delete_group"]


def test_a_method_is_declared_once() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        CUSTOMER.method("get", ReadCustomer, CustomerShown)


def test_replies_and_refusals_keep_their_json_shape() -> None:
    read = CustomerShown(customer={"id": "c1", "version": 3})
    written = CustomerShown(customer={"id": "c1", "version": 3}, committed=True)
    refused = Refused(Refusal.INVALID, "1 field error(s)", (FieldProblem("email", "bad", "x"),))
    locked = Refused(Refusal.UNAVAILABLE, "too many", retry_after=60)

    assert codec.encode_reply(read) == {"ok": True, "customer": {"id": "c1", "version": 3}}
    assert codec.encode_reply(written)["committed"] is True
    assert codec.encode_reply(refused) == {
        "ok": False,
        "error": {
            "code": "invalid",
            "detail": "1 field error(s)",
            "errors": [{"field": "email", "message": "bad", "code": "x"}],
        },
    }
    assert codec.encode_reply(locked) == {
        "ok": False,
        "error": {"code": "unavailable", "detail": "too many", "retry_after": 60},
    }
    for reply in (read, written, refused, locked):
        assert codec.decode_reply(CUSTOMER, GET, codec.encode_reply(reply)) == reply


def test_a_factor_not_given_is_not_sent() -> None:
    answer = ChallengeAnswer(challenge_digest="d", recovery_digest="r")
    assert codec.encode(answer) == {"challenge_digest": "d", "recovery_digest": "r"}
    assert codec.encode(SecondFactor()) == {}


def test_the_actor_id_overrides_the_id_a_create_names() -> None:
    created = codec.decode_request(CUSTOMER, CREATE, {"email": "a@b.co", "customer_id": "x"}, "c1")
    registered = codec.decode_request(
        CUSTOMER, REGISTER, {"profile": {"email": "a@b.co"}, "password_hash": "h",
                             "verification_digest": "d", "delivery": {}}, "c1"
    )  # fmt: skip

    assert getattr(created, "customer_id", None) == "c1"
    assert getattr(getattr(registered, "profile", None), "customer_id", None) == "c1"


@pytest.mark.parametrize("payload", [{"email": 42}, ["not", "an", "object"], "text"])
def test_a_request_that_is_not_the_methods_is_a_bad_command(payload: object) -> None:
    refused = codec.decode_request(CUSTOMER, CREATE, payload, "c1")
    assert isinstance(refused, Refused)
    assert refused.code is Refusal.BAD_COMMAND
    assert refused.detail.startswith("not a valid CreateCustomer: ")


async def test_the_generated_actor_decodes_calls_its_handler_and_encodes() -> None:
    class Handlers:
        async def get(self, query: ReadCustomer) -> CustomerShown:
            return CustomerShown(customer={"include_deleted": query.include_deleted})

        async def get_addresses(self, query: Read) -> Refused[Refusal]:
            assert query.access is None  # an empty request names no session
            return Refused(Refusal.NOT_FOUND, "customer c1 does not exist")

    actor = types.SimpleNamespace(handlers=Handlers(), id=types.SimpleNamespace(id="c1"))

    shown = await Customer.get(actor, None)
    refused = await Customer.get_addresses(actor, None)
    bad = await Customer.get(actor, {"include_deleted": "maybe"})

    assert shown == {"ok": True, "customer": {"include_deleted": False}}
    assert refused["error"]["code"] == "not_found"
    assert bad["error"]["code"] == "bad_command"


class FakeInvoker:
    """The sidecar's side of ``ActorInvoker.call``: it answers in turn."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, str, object]] = []

    async def call(self, actor_type: str, actor_id: str, method: str, payload: object) -> object:
        self.calls.append((actor_type, actor_id, method, payload))
        return self.answers.pop(0)


async def test_the_client_sends_the_declared_request_and_reads_the_typed_reply() -> None:
    invoker = FakeInvoker(
        {"ok": True, "addresses": [{"id": "a1"}], "version": 2},
        {"ok": True, "customer": {"id": "c1", "version": 2}},
    )
    client = ActorClient(invoker, CUSTOMER)  # type: ignore[arg-type]

    shown = await client.call("c1", GET_ADDRESSES, Read())
    assert shown.address("a1") == {"id": "a1"}  # type: ignore[union-attr]
    await client.call("c1", GET, ReadCustomer(include_deleted=True, access=Access(3)))

    assert invoker.calls == [
        ("Customer", "c1", "get_addresses", {}),
        ("Customer", "c1", "get", {"include_deleted": True, "access": {"epoch": 3}}),
    ]


@pytest.mark.parametrize(
    "answer",
    [
        {"ok": False, "error": {"code": "no_such_code", "detail": "?"}},
        {"ok": True, "version": 2},
        ["not", "a", "reply"],
    ],
)
async def test_an_answer_that_is_not_the_methods_reply_is_unexpected(answer: object) -> None:
    client = ActorClient(FakeInvoker(answer), CUSTOMER)  # type: ignore[arg-type]
    with pytest.raises(codec.UnexpectedReply):
        await client.call("c1", GET_ADDRESSES, Read())


async def test_a_client_calls_only_its_actor_types_methods() -> None:
    client = ActorClient(FakeInvoker({}), UNIQUE_KEY)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a method of UniqueKey"):
        await client.call("k", GET, ReadCustomer())


def test_every_refusal_is_one_problem() -> None:
    assert set(PROBLEMS) == set(Refusal)
    for code in Refusal:
        problem = refusal_problem(Refused(code, "detail"))
        assert problem.status >= 400
        assert problem.slug


def test_every_domain_error_carries_a_refusal_of_its_own() -> None:
    kinds = [
        kind
        for kind in vars(errors).values()
        if isinstance(kind, type) and issubclass(kind, DomainError) and kind is not DomainError
    ]
    codes = [kind.code for kind in kinds]
    assert all(isinstance(code, Refusal) for code in codes)
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("reason", list(KeyRefusal))
def test_every_refusal_of_a_key_claim_is_a_refusal_of_the_customers_command(
    reason: KeyRefusal,
) -> None:
    refused = refusal_for(reason, "email-abc")
    assert refused.code in (Refusal.EMAIL_TAKEN, Refusal.CONFLICT, Refusal.UNAVAILABLE)


async def test_each_call_gets_a_fresh_actor_and_none_is_kept() -> None:
    """Several processes may serve one sidecar: none may keep an actor's copy."""
    made: list[str] = []

    class Handlers:
        async def get(self, query: ReadCustomer) -> CustomerShown:
            return CustomerShown(customer={"object": id(self)})

    def factory(ctx: ActorRuntimeContext, actor_id: ActorId) -> HostedActor:
        made.append(str(actor_id.id))
        return Customer(ctx, actor_id, Handlers())

    serializer = PlainJSONSerializer()
    await ActorRuntime.register_actor(
        Customer,
        message_serializer=serializer,
        state_serializer=serializer,
        actor_factory=factory,
        actor_client=types.SimpleNamespace(),  # no sidecar: these actors never call one
    )
    await serve_per_call(Customer)
    try:
        replies = [
            json.loads(await ActorRuntime.dispatch("Customer", "c1", "get", b"{}")) for _ in (1, 2)
        ]
        await ActorRuntime.deactivate("Customer", "c1")  # nothing kept: nothing to drop
        await ActorRuntime.deactivate("Customer", "never-called")
        manager = ActorRuntime._actor_managers["Customer"]
    finally:
        ActorRuntime._actor_managers.pop("Customer", None)

    assert made == ["c1", "c1"]
    assert all(reply["ok"] for reply in replies)
    assert isinstance(manager, PerCallActors)
    assert manager._active_actors == {}
