"""The requests each phase repeats, against the service's HTTP API."""

from __future__ import annotations

import random
import time
import uuid
from urllib.parse import quote

import aiohttp

from service.schemas import ADDRESS_EXAMPLE, CREATE_EXAMPLE

SEARCH_TERMS = ["anna", "jose", "zoe", "garcia", "muller", "nguyen", "lefevre", "soren", "emma"]
ADDRESS = {k: v for k, v in ADDRESS_EXAMPLE.items() if k not in ("customer_id", "is_default")}


class ServiceRequests:
    """One method per kind of request; each answers whether it succeeded."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.created: list[str] = []
        self._run = f"{time.time_ns():x}"
        self._cursors: list[str] = []
        # (customer id, wishlist id) of every wishlist the wishlist phase made.
        self.wishlists: list[tuple[str, str]] = []

    async def create(self, session: aiohttp.ClientSession, n: int) -> bool:
        # Phases restart their counters; the email must never repeat (one per customer).
        body = {**CREATE_EXAMPLE, "email": f"bench-{self._run}-{uuid.uuid4().hex}@example.com"}
        async with session.post(f"{self.url}/api/v1/customers", json=body) as response:
            if response.status != 201:
                return False
            self.created.append((await response.json())["customer"]["id"])
            return True

    async def _ok(self, response: aiohttp.ClientResponse, status: int = 200) -> bool:
        await response.read()
        return response.status == status

    async def get(self, session: aiohttp.ClientSession, n: int) -> bool:
        customer_id = random.choice(self.created)
        async with session.get(f"{self.url}/api/v1/customers/{customer_id}") as response:
            return await self._ok(response)

    async def add_address(self, session: aiohttp.ClientSession, n: int) -> bool:
        path = f"{self.url}/api/v1/customers/{random.choice(self.created)}/addresses"
        async with session.post(path, json=ADDRESS) as response:
            return await self._ok(response, 201)

    async def list_addresses(self, session: aiohttp.ClientSession, n: int) -> bool:
        path = f"{self.url}/api/v1/customers/{random.choice(self.created)}/addresses"
        async with session.get(path) as response:
            return await self._ok(response)

    async def create_wishlist(self, session: aiohttp.ClientSession, n: int) -> bool:
        customer_id = random.choice(self.created)
        path = f"{self.url}/api/v1/customers/{customer_id}/wishlists"
        async with session.post(path, json={"name": f"list {n}"}) as response:
            if response.status != 201:
                await response.read()
                return False
            self.wishlists.append((customer_id, (await response.json())["wishlist"]["id"]))
            return True

    def _wishlist_path(self) -> str:
        customer_id, wishlist_id = random.choice(self.wishlists)
        return f"{self.url}/api/v1/customers/{customer_id}/wishlists/{wishlist_id}"

    async def add_wishlist_item(self, session: aiohttp.ClientSession, n: int) -> bool:
        # A new product each time: an item is added (the wishlist grows by one).
        body = {"product_id": f"SKU-{uuid.uuid4().hex[:12]}", "note": "bench"}
        async with session.post(f"{self._wishlist_path()}/items", json=body) as response:
            return await self._ok(response, 201)

    async def get_wishlist(self, session: aiohttp.ClientSession, n: int) -> bool:
        async with session.get(self._wishlist_path()) as response:
            return await self._ok(response)

    async def get_by_ids(self, session: aiohttp.ClientSession, n: int) -> bool:
        ids = ",".join(random.sample(self.created, min(100, len(self.created))))
        params = {"ids": ids}
        async with session.get(f"{self.url}/api/v1/customers", params=params) as response:
            return await self._ok(response)

    async def list_page(self, session: aiohttp.ClientSession, n: int) -> bool:
        params = {"limit": "50"}
        async with session.get(f"{self.url}/api/v1/customers", params=params) as response:
            return await self._ok(response)

    async def next_page(self, session: aiohttp.ClientSession, n: int) -> bool:
        params = {"limit": "50"}
        if self._cursors:
            params["cursor"] = random.choice(self._cursors)
        async with session.get(f"{self.url}/api/v1/customers", params=params) as response:
            body = await response.json()
            if body.get("next_cursor") and len(self._cursors) < 1000:
                self._cursors.append(body["next_cursor"])
            return response.status == 200

    async def filtered(self, session: aiohttp.ClientSession, n: int) -> bool:
        params = {"limit": "50", "status": "SUSPENDED", "group": "vip"}
        async with session.get(f"{self.url}/api/v1/customers", params=params) as response:
            return await self._ok(response)

    async def search(self, session: aiohttp.ClientSession, n: int) -> bool:
        params = {"limit": "20", "q": random.choice(SEARCH_TERMS)}
        async with session.get(f"{self.url}/api/v1/customers", params=params) as response:
            return await self._ok(response)


class BaselineRequests:
    """Point reads of the same customers' rows through the bare baseline app."""

    def __init__(self, url: str, customer_ids: list[str]) -> None:
        self._url = url
        self._keys = [quote(f"customer-service||customer:{cid}", safe="") for cid in customer_ids]

    async def read(self, session: aiohttp.ClientSession, n: int) -> bool:
        async with session.get(f"{self._url}/key/{random.choice(self._keys)}") as response:
            body = await response.json()
            return response.status == 200 and bool(body.get("found"))


class SpreadReads:
    """Gets of customers chosen at random among many (the scale phase)."""

    def __init__(self, url: str, customer_ids: list[str]) -> None:
        self._url = url
        self._ids = customer_ids

    async def get(self, session: aiohttp.ClientSession, n: int) -> bool:
        customer_id = random.choice(self._ids)
        async with session.get(f"{self._url}/api/v1/customers/{customer_id}") as response:
            await response.read()
            return response.status == 200
