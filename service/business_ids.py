"""VAT ids, checked by the country's own rules where python-stdnum knows them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat

if TYPE_CHECKING:
    from stdnum.util import NumberValidationModule

# A country prefix (ISO 3166, or EL for Greece and XI for Northern Ireland as the
# EU spells them) and the number; spaces, dots and dashes are dropped.
_SHAPE = re.compile(r"[A-Z]{2}[A-Z0-9+*]{2,14}")
_SEPARATORS = re.compile(r"[\s.\-/]")
_EU_PREFIXES = {"EL", "XI"} | {code.upper() for code in eu_vat.MEMBER_STATES}


def _country_rules(prefix: str) -> NumberValidationModule | None:
    try:
        return get_cc_module(prefix.lower(), "vat")
    except ImportError:
        return None


def vat_id(value: str) -> str:
    """``value`` in its compact form (``DE 136.695.976`` -> ``DE136695976``) if its
    country's rules accept it (EU VIES numbers, and every country python-stdnum
    has a VAT module for); a country without one gets the shape checked only."""
    compact = _SEPARATORS.sub("", value).upper()
    if not _SHAPE.fullmatch(compact):
        raise ValueError("must be a country prefix and the number, such as DE136695976")
    prefix = compact[:2]
    if prefix in _EU_PREFIXES:
        valid = bool(eu_vat.is_valid(compact))
    elif (rules := _country_rules(prefix)) is not None:
        # Some countries' modules take the number with its prefix, some without.
        valid = bool(rules.is_valid(compact) or rules.is_valid(compact[2:]))
    else:
        return compact
    if not valid:
        raise ValueError(f"is not a valid VAT id of {prefix}")
    return compact
