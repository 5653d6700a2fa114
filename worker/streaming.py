"""A streaming subscription: events pulled from the sidecar over gRPC.

Dapr's streaming subscriptions deliver a topic to whichever process opens the
stream, not to the app port: the worker receives events beside the API
process, under the same app id (one consumer group), without a port of its
own, and the sidecar's app-health pauses do not stop it. Each event is
handled in a task of its own (at most ``concurrency`` at a time) and answered
SUCCESS, RETRY (Dapr redelivers it later) or DROP. A broken stream is opened
again, with a growing pause, until the worker stops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
from dapr.proto import api_service_v1, api_v1, appcallback_v1

from observability.logging import get_logger
from worker.pacing import pause

log = get_logger(__name__)

_STATUS = appcallback_v1.TopicEventResponse.TopicEventResponseStatus


class Answer(enum.Enum):
    SUCCESS = _STATUS.Value("SUCCESS")
    RETRY = _STATUS.Value("RETRY")
    DROP = _STATUS.Value("DROP")


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    type: str
    source: str
    topic: str
    content_type: str
    data: bytes


Handler = Callable[[Delivery], Awaitable[Answer]]


@dataclasses.dataclass
class StreamState:
    """What the worker's status report says about one stream (times: this process's
    monotonic clock)."""

    connected: bool = False
    received: int = 0
    last_received_at: float | None = None
    last_error: str | None = None
    # Since when the stream is down (None: open), and since when every event it
    # delivered was answered RETRY (None: the last one was handled).
    down_since: float | None = dataclasses.field(default_factory=time.monotonic)
    failing_since: float | None = None

    def opened(self) -> None:
        self.connected, self.last_error, self.down_since = True, None, None

    def closed(self) -> None:
        if self.connected or self.down_since is None:
            self.down_since = time.monotonic()
        self.connected = False

    def answered(self, answer: Answer) -> None:
        if answer is Answer.RETRY:
            self.failing_since = self.failing_since or time.monotonic()
        else:
            self.failing_since = None

    def seconds(self, since: float | None) -> float | None:
        return None if since is None else time.monotonic() - since


class TopicStream:
    def __init__(
        self,
        address: str,
        api_token: str | None,
        pubsub: str,
        topic: str,
        handler: Handler,
        concurrency: int = 64,
    ) -> None:
        self._address = address
        self._metadata = (("dapr-api-token", api_token),) if api_token else ()
        self._pubsub = pubsub
        self.topic = topic
        self._handler = handler
        self._slots = asyncio.Semaphore(concurrency)
        self.state = StreamState()

    async def run(self, stop: asyncio.Event) -> None:
        wait = 0.5
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self._session(stop)
            except (grpc.aio.AioRpcError, OSError) as exc:
                self.state.last_error = type(exc).__name__
                code = exc.code().name if isinstance(exc, grpc.aio.AioRpcError) else ""
                log.warning("event stream broke", topic=self.topic, error=code or str(exc))
            finally:
                self.state.closed()
            if time.monotonic() - started > 30:
                wait = 0.5  # it ran a while: start over with short pauses
            await pause(stop, wait)
            wait = min(wait * 2, 10.0)

    async def _session(self, stop: asyncio.Event) -> None:
        answers: asyncio.Queue[api_v1.SubscribeTopicEventsRequestAlpha1 | None] = asyncio.Queue()
        async with grpc.aio.insecure_channel(self._address) as channel:
            stub = api_service_v1.DaprStub(channel)
            call = stub.SubscribeTopicEventsAlpha1(self._requests(answers), metadata=self._metadata)
            stopping = asyncio.create_task(stop.wait())
            try:
                await call.read()  # the initial response: the subscription stands
                self.state.opened()
                log.info("event stream open", topic=self.topic)
                reading = asyncio.create_task(self._read(call, answers))
                done, _ = await asyncio.wait(
                    {reading, stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                if reading in done:
                    reading.result()  # raises what broke the stream
                else:
                    reading.cancel()
            finally:
                stopping.cancel()
                await answers.put(None)
                call.cancel()

    async def _requests(
        self, answers: asyncio.Queue[api_v1.SubscribeTopicEventsRequestAlpha1 | None]
    ) -> AsyncIterator[api_v1.SubscribeTopicEventsRequestAlpha1]:
        yield api_v1.SubscribeTopicEventsRequestAlpha1(
            initial_request=api_v1.SubscribeTopicEventsRequestInitialAlpha1(
                pubsub_name=self._pubsub, topic=self.topic
            )
        )
        while (answer := await answers.get()) is not None:
            yield answer

    async def _read(
        self,
        call: grpc.aio.StreamStreamCall,
        answers: asyncio.Queue[api_v1.SubscribeTopicEventsRequestAlpha1 | None],
    ) -> None:
        tasks: set[asyncio.Task[None]] = set()
        while True:
            response = await call.read()
            if response is grpc.aio.EOF:
                raise OSError("the sidecar closed the event stream")
            message = response.event_message
            self.state.received += 1
            self.state.last_received_at = time.time()
            delivery = Delivery(
                id=message.id,
                type=message.type,
                source=message.source,
                topic=message.topic,
                content_type=message.data_content_type,
                data=bytes(message.data),
            )
            await self._slots.acquire()
            task = asyncio.create_task(self._answer(delivery, answers))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _answer(
        self,
        delivery: Delivery,
        answers: asyncio.Queue[api_v1.SubscribeTopicEventsRequestAlpha1 | None],
    ) -> None:
        try:
            answer = await self._handler(delivery)
        except Exception:
            log.exception("event handler failed; Dapr will redeliver", topic=self.topic)
            answer = Answer.RETRY
        finally:
            self._slots.release()
        self.state.answered(answer)
        processed = api_v1.SubscribeTopicEventsRequestProcessedAlpha1(
            id=delivery.id, status=appcallback_v1.TopicEventResponse(status=answer.value)
        )
        await answers.put(api_v1.SubscribeTopicEventsRequestAlpha1(event_processed=processed))
