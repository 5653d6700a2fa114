"""The Dapr resources under components/ say what docs/architecture.md needs them to say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.stack import COMPONENTS_DIR, render_components


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((COMPONENTS_DIR / name).read_text())
    return document


def metadata(component: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in component["spec"]["metadata"]}


def test_the_state_store_is_the_outbox_enabled_actor_store() -> None:
    store = load("statestore.yaml")
    meta = metadata(store)

    assert store["metadata"]["name"] == "customer-store"
    assert (store["spec"]["type"], store["spec"]["version"]) == ("state.postgresql", "v2")
    assert meta["actorStateStore"] == "true"
    assert meta["outboxPublishPubsub"] == "customer-pubsub"
    assert meta["outboxPublishTopic"] == "customer-events"
    assert meta["outboxDiscardWhenMissingState"] == "true"
    assert store["scopes"] == ["customer-service"]


def test_pubsub_concurrency_lifts_the_outbox_throughput_cap() -> None:
    pubsub = load("pubsub.yaml")

    assert pubsub["metadata"]["name"] == "customer-pubsub"
    assert pubsub["spec"]["type"] == "pubsub.redis"
    # About `concurrency` events/s get through the outbox's 1 s hold; the
    # seed's 200 writes/s needs well above that.
    assert int(metadata(pubsub)["concurrency"]) >= 400


def test_rendering_changes_only_the_addresses(tmp_path: Path) -> None:
    render_components(tmp_path, "postgresql://u@127.0.0.1:1/db", "127.0.0.1:2")

    store = yaml.safe_load((tmp_path / "statestore.yaml").read_text())
    pubsub = yaml.safe_load((tmp_path / "pubsub.yaml").read_text())
    assert metadata(store) == {
        **metadata(load("statestore.yaml")),
        "connectionString": "postgresql://u@127.0.0.1:1/db",
    }
    assert metadata(pubsub) == {**metadata(load("pubsub.yaml")), "redisHost": "127.0.0.1:2"}
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    resolution = config["spec"].pop("nameResolution")
    expected = load("config.yaml")
    # Sidecars of one stack resolve each other through one file of that stack.
    assert resolution["component"] == expected["spec"].pop("nameResolution")["component"]
    assert resolution["configuration"]["connectionString"] == str(
        tmp_path.parent / "nameresolution.db"
    )
    assert config == expected


def test_how_many_events_the_topic_keeps_is_configurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Events hold personal data until the stream is trimmed (README "Data protection").
    assert int(metadata(load("pubsub.yaml"))["maxLenApprox"]) == 1_000_000
    monkeypatch.setenv("CUSTOMER_PUBSUB_MAX_LEN", "50000")
    render_components(tmp_path, "postgresql://u@127.0.0.1:1/db", "127.0.0.1:2")
    pubsub = yaml.safe_load((tmp_path / "pubsub.yaml").read_text())
    assert metadata(pubsub)["maxLenApprox"] == "50000"
    outbox = yaml.safe_load((tmp_path / "outbox-pubsub.yaml").read_text())
    assert metadata(outbox) == {**metadata(load("outbox-pubsub.yaml")), "redisHost": "127.0.0.1:2"}
