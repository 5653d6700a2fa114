"""Each field set is declared once (the domain's dataclasses, PREFERENCE_DEFAULTS);
what has to spell it again for a type checker or for SQL (the HTTP schemas, the
command, the migrations) is checked against that declaration here, so a field
added to the domain and missed elsewhere fails a test instead of vanishing."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from pydantic import BaseModel

from domain.commands import CreateCustomer
from domain.model import (
    ADDRESS_DOCUMENT,
    ADDRESS_FIELDS,
    PREFERENCE_DEFAULTS,
    PROFILE_DOCUMENT,
    PROFILE_FIELDS,
    Customer,
)
from domain.profile import UPDATABLE_FIELDS
from readmodel.projection import ADDRESS_COLUMNS, CUSTOMER_COLUMNS, PREFERENCE_COLUMNS
from service import schemas
from tests.unit.builders import add_address, new_customer

MIGRATIONS = Path(__file__).parents[2] / "migrations"
# What the API adds to an address: whose it is and which defaults it holds.
ADDRESS_VIEW = {"customer_id", "is_default", "is_default_shipping", "is_default_billing"}
# The profile's default address ids: in the read model, flags on the address rows.
DEFAULT_IDS = {"default_shipping_address_id", "default_billing_address_id"}
_NOT_COLUMNS = re.compile(r"(PRIMARY|UNIQUE|CONSTRAINT|FOREIGN|CHECK)\b", re.IGNORECASE)


def _items(body: str) -> list[str]:
    """The comma-separated items of a CREATE TABLE body (commas inside parentheses stay)."""
    items, depth, current = [], 0, ""
    for char in body:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return [*items, current]


def migrated_columns() -> dict[str, set[str]]:
    """Every table's columns after all the migrations, read from their SQL."""
    tables: dict[str, set[str]] = {}
    for path in sorted(MIGRATIONS.glob("[0-9]*.sql")):
        if path.name.endswith(".rollback.sql"):
            continue
        sql = re.sub(r"--[^\n]*", "", path.read_text())
        for table, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\n\);", sql, re.DOTALL):
            items = [item.split()[0] for item in _items(body) if item.strip()]
            tables[table] = {item for item in items if not _NOT_COLUMNS.match(item)}
        for table, column in re.findall(
            r"ALTER TABLE (\w+) ADD COLUMN (?:IF NOT EXISTS )?(\w+)", sql
        ):
            tables[table].add(column)
    return tables


def test_the_migrations_have_a_column_for_everything_the_projection_writes() -> None:
    tables = migrated_columns()

    generated = {"projected_at", "name_sort", "name_search"}
    assert tables["customers"] == {*CUSTOMER_COLUMNS, *generated}
    assert tables["customer_addresses"] == set(ADDRESS_COLUMNS)
    assert tables["customer_preferences"] == set(PREFERENCE_COLUMNS)


def test_the_projection_keeps_every_field_of_a_customer() -> None:
    assert set(PROFILE_DOCUMENT) - DEFAULT_IDS <= set(CUSTOMER_COLUMNS)
    assert {"is_default_shipping", "is_default_billing"} <= set(ADDRESS_COLUMNS)
    assert set(ADDRESS_DOCUMENT) <= set(ADDRESS_COLUMNS)
    assert set(PREFERENCE_DEFAULTS) <= set(PREFERENCE_COLUMNS)


def test_the_read_models_list_shows_only_what_it_keeps() -> None:
    columns = migrated_columns()["customers"]
    assert set(schemas.CustomerSummary.model_fields) - {"score"} <= columns


def fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_the_customer_bodies_are_the_profile_a_client_sets() -> None:
    assert fields(schemas.CustomerCreate) == set(PROFILE_FIELDS)
    assert fields(schemas.CustomerUpdate) == UPDATABLE_FIELDS
    assert fields(schemas.RegisterRequest) - {"password"} < set(PROFILE_FIELDS)
    assert schemas.ADMIN_FIELDS <= UPDATABLE_FIELDS
    command = {f.name for f in dataclasses.fields(CreateCustomer)}
    assert command == {*PROFILE_FIELDS, "customer_id", "fingerprint"}


def test_the_customer_reply_is_the_profile_document_and_its_order_statistics() -> None:
    orders = {"total_orders", "total_spent", "last_order_at"}
    assert fields(schemas.CustomerOut) == {*PROFILE_DOCUMENT, "two_factor_enabled", *orders}
    assert set(new_customer().view()) == fields(schemas.CustomerOut)


def test_the_address_bodies_and_reply_are_the_address_declared_once() -> None:
    assert fields(schemas.AddressCreate) == {*ADDRESS_FIELDS, "customer_id", "is_default"}
    assert fields(schemas.AddressUpdate) == {*ADDRESS_FIELDS, "is_default"}
    assert fields(schemas.AddressOut) == {*ADDRESS_DOCUMENT, *ADDRESS_VIEW}
    customer = add_address(new_customer(), "a1")
    assert set(customer.address_view(customer.addresses[0])) == fields(schemas.AddressOut)


def test_the_preference_bodies_carry_every_flag() -> None:
    assert set(PREFERENCE_DEFAULTS) < fields(schemas.PreferencesUpdate)
    out = fields(schemas.PreferencesOut)
    assert set(new_customer().current_preferences().to_document()) == out


def test_a_customer_document_reads_back_as_the_same_customer() -> None:
    customer = add_address(new_customer(legacy_id="CRM-7"), "a1", is_default=True)

    assert Customer.from_document(customer.to_document()) == customer
    assert set(customer.addresses[0].to_document()) == set(ADDRESS_DOCUMENT)
