"""Live, in one process, on both databases: the rate limit keyed on who is asking, idempotency keys,
webhook endpoints and their signed deliveries, readiness, and ladder locks that never deadlock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest

from api import rate_limit
from api.app import create_app
from api.ids import global_id
from config import settings
from models import clock
from models.live import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from models.tasks import Task, TaskEvent
from models.units import Unit
from models.users import UserRole
from tasks.machinery import dispatch, jobs
from tasks.queue.workflow import create_task
from tests.live_support import webhook_receiver
from tests.security_support import post
from tests.support import data_of, error_codes, sign_in

NORMAL = '{ unit(code: "education") { name } }'
COMMENT = """mutation($id: ID!, $text: String!) { taskComment(id: $id, input: {text: $text}) {
  task { id version } userErrors { code } } }"""
CREATE_ENDPOINT = """mutation($input: WebhookEndpointCreateInput!) { webhookEndpointCreate(input: $input) {
  endpoint { id url eventKinds enabled } secret userErrors { field code message } } }"""
DELIVERIES = """query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { enabled disabledReason
  deliveries(first: 50) { totalCount nodes { id messageId eventKind status attempts responseCode payload } } } } }"""


@pytest.fixture
async def limited(database: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """An app allowing 5 requests a minute, from an empty window."""
    monkeypatch.setattr(settings(), "rate_limit_per_minute", 5)
    rate_limit.reset_for_tests()
    transport = httpx.ASGITransport(app=create_app(database))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    rate_limit.reset_for_tests()


async def _status(http: httpx.AsyncClient, authorization: str | None) -> int:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return (await http.post("/graphql", json={"query": NORMAL}, headers=headers)).status_code


async def test_spelling_the_authorization_header_differently_gets_no_fresh_bucket(limited: httpx.AsyncClient) -> None:
    token = await sign_in("education")
    spellings = [f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"  Bearer   {token}  ", f"bEaReR {token}"]
    assert [await _status(limited, s) for s in spellings] == [200] * 5

    assert await _status(limited, f"Bearer {token}") == 429
    assert await _status(limited, f"bearer  {token}") == 429
    assert await _status(limited, f"Bearer {await sign_in('police')}") == 200  # another user: their own count


async def test_made_up_tokens_count_against_the_callers_address(limited: httpx.AsyncClient) -> None:
    statuses = [await _status(limited, f"Bearer kc_made-up-{n}") for n in range(5)]
    assert statuses == [200] * 5  # answered (an authentication error), and counted

    assert await _status(limited, "Bearer kc_made-up-6") == 429
    assert await _status(limited, None) == 429  # the same address without a token
    assert await _status(limited, f"Bearer {await sign_in('education')}") == 200  # signed in: the user's count


async def test_readyz_says_the_database_answers(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    alive = await client.get("/healthz")

    assert ready.status_code == 200 and ready.json() == {"status": "ok", "database": "ok"}
    assert alive.status_code == 200


async def _a_task_of(unit_code: str, title: str = "幂等：任务") -> Task:
    task, _ = await create_task(title=title, unit=await Unit.get(code=unit_code), due=clock.today() + timedelta(days=5))
    return task


async def test_a_retried_mutation_with_the_same_key_returns_the_first_answer(client: httpx.AsyncClient) -> None:
    token = await sign_in("education")
    task = await _a_task_of("education")
    ask = {"query": COMMENT, "variables": {"id": global_id("Task", task.id), "text": "已电话联系"}}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "retry-1"}

    first = await client.post("/graphql", json=ask, headers=headers)
    again = await client.post("/graphql", json=ask, headers=headers)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert data_of(first.json())["taskComment"]["task"]["version"] == 1
    assert again.headers.get("idempotent-replayed") == "true" and "idempotent-replayed" not in first.headers
    assert await TaskEvent.filter(task_id=task.id, action="COMMENTED").count() == 1  # ran once

    other = {"query": COMMENT, "variables": {"id": global_id("Task", task.id), "text": "另一条"}}
    reused = await client.post("/graphql", json=other, headers=headers)
    assert reused.status_code == 422 and error_codes(reused.json()) == ["IDEMPOTENCY_KEY_REUSED"]
    assert await TaskEvent.filter(task_id=task.id, action="COMMENTED").count() == 1

    colleague = await sign_in("education", name="另一位联络员")  # keys are per user
    theirs = await client.post("/graphql", json=ask, headers={**headers, "Authorization": f"Bearer {colleague}"})
    assert theirs.status_code == 200 and "idempotent-replayed" not in theirs.headers
    assert await TaskEvent.filter(task_id=task.id, action="COMMENTED").count() == 2


async def test_a_key_on_a_read_or_without_a_token_changes_nothing(client: httpx.AsyncClient) -> None:
    token = await sign_in("education")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "read-1"}
    first = await client.post("/graphql", json={"query": NORMAL}, headers=headers)
    second = await client.post("/graphql", json={"query": NORMAL}, headers=headers)
    anonymous = await client.post("/graphql", json={"query": COMMENT, "variables": {"id": "x", "text": "y"}},
                                  headers={"Idempotency-Key": "anon"})  # fmt: skip

    assert first.status_code == second.status_code == 200 and "idempotent-replayed" not in second.headers
    assert error_codes(anonymous.json()) == ["UNAUTHENTICATED"]
    too_long = await client.post("/graphql", json={"query": NORMAL}, headers={**headers, "Idempotency-Key": "k" * 300})
    assert too_long.status_code == 400 and error_codes(too_long.json()) == ["BAD_USER_INPUT"]


async def _admin() -> str:
    return await sign_in("leading-group-office", UserRole.ADMIN, "管理员")


async def test_only_an_admin_registers_an_endpoint_and_its_secret_is_shown_once(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings(), "webhook_allowed_hosts", "127.0.0.1")
    hook = {"url": "http://127.0.0.1:9/hooks", "eventKinds": ["TASK_CREATED"]}
    liaison = await sign_in("education")
    refused = (await post(client, CREATE_ENDPOINT, liaison, {"input": hook})).json()
    assert data_of(refused)["webhookEndpointCreate"]["userErrors"][0]["code"] == "FORBIDDEN"

    admin = await _admin()
    made = data_of((await post(client, CREATE_ENDPOINT, admin, {"input": hook})).json())["webhookEndpointCreate"]
    assert made["userErrors"] == [] and made["secret"].startswith("whsec_")
    assert made["endpoint"]["eventKinds"] == ["TASK_CREATED"] and made["endpoint"]["enabled"]
    ask_secret = "{ webhookEndpoints { nodes { secret } } }"
    assert error_codes((await post(client, ask_secret, admin)).json()) == ["GRAPHQL_VALIDATION_FAILED"]
    found = await post(client, "{ node(id: $id) { id } }".replace("$id", f'"{made["endpoint"]["id"]}"'), liaison)
    assert data_of(found.json())["node"] is None  # not a liaison's to see

    private = {"url": "http://10.1.2.3/hooks", "eventKinds": ["TASK_CREATED"]}
    blocked = data_of((await post(client, CREATE_ENDPOINT, admin, {"input": private})).json())
    assert blocked["webhookEndpointCreate"]["userErrors"][0]["field"] == "url"
    assert await WebhookEndpoint.all().count() == 1


async def test_deliveries_are_signed_retried_and_recorded(client: httpx.AsyncClient, monkeypatch) -> None:
    monkeypatch.setattr(settings(), "webhook_allowed_hosts", "127.0.0.1")
    monkeypatch.setattr(settings(), "webhook_backoff_seconds", 0.0)
    admin = await _admin()
    with webhook_receiver() as receiver:
        hook = {"url": receiver.url, "eventKinds": ["TASK_CREATED", "TASK_CHANGED"]}
        made = data_of((await post(client, CREATE_ENDPOINT, admin, {"input": hook})).json())["webhookEndpointCreate"]
        receiver.secret, endpoint_id = made["secret"], made["endpoint"]["id"]
        receiver.failing = True
        task = await _a_task_of("education", "回调：新任务")
        await jobs.process_outbox()  # queues the delivery, and this process posts it at once (no Redis)
        await dispatch.settle()
        await jobs.deliver_webhooks()  # the retry (no back-off here)
        delivery = await WebhookDelivery.get(event_kind="task.created")
        assert delivery.status is DeliveryStatus.PENDING and delivery.attempts == 2 and delivery.response_code == 500

        receiver.failing = False
        await jobs.deliver_webhooks()
        await jobs.deliver_webhooks()  # nothing left to send: nothing sent twice

        shown = data_of((await post(client, DELIVERIES, admin, {"id": endpoint_id})).json())["node"]
    sent = shown["deliveries"]["nodes"]
    assert [(d["eventKind"], d["status"], d["attempts"], d["responseCode"]) for d in sent] == [
        ("TASK_CREATED", "DELIVERED", 3, 200)
    ]
    assert all(r.verified for r in receiver.received)  # every attempt signed (standardwebhooks verifies)
    assert [r.message_id for r in receiver.received] == [sent[0]["messageId"]] * 3  # one id across retries
    assert [r.payload for r in receiver.accepted()] == [sent[0]["payload"]]
    payload = sent[0]["payload"]
    assert payload["type"] == "task.created" and payload["data"]["taskIds"] == [global_id("Task", task.id)]
    assert set(payload["data"]) <= {"eventId", "taskIds", "unitIds", "caseIds"}  # ids only, no personal data


async def test_an_endpoint_that_keeps_failing_is_disabled_and_its_admin_told(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings(), "webhook_allowed_hosts", "127.0.0.1")
    monkeypatch.setattr(settings(), "webhook_backoff_seconds", 0.0)
    monkeypatch.setattr(settings(), "webhook_disable_after_failures", 3)
    admin = await _admin()
    with webhook_receiver() as receiver:
        receiver.failing = True
        hook = {"url": receiver.url, "eventKinds": ["TASK_CREATED"]}
        made = data_of((await post(client, CREATE_ENDPOINT, admin, {"input": hook})).json())["webhookEndpointCreate"]
        receiver.secret = made["secret"]
        await _a_task_of("police", "回调：一直失败")
        await jobs.process_outbox()
        await dispatch.settle()
        for _ in range(5):
            await jobs.deliver_webhooks()

        shown = data_of((await post(client, DELIVERIES, admin, {"id": made["endpoint"]["id"]})).json())["node"]
        assert len(receiver.received) == 3  # disabled after the third failure: no fourth attempt
    assert shown["enabled"] is False and "3" in shown["disabledReason"]
    office = await Unit.get(code="leading-group-office")
    told = await Task.filter(assignee_unit_id=office.id, title__contains="回调地址已停用")
    assert len(told) == 1

    retry = (
        """mutation($id: ID!) { webhookDeliveryRetry(id: $id) { delivery { status attempts } userErrors { code } } }"""
    )
    again = data_of((await post(client, retry, admin, {"id": shown["deliveries"]["nodes"][0]["id"]})).json())
    assert again["webhookDeliveryRetry"] == {"delivery": {"status": "PENDING", "attempts": 0}, "userErrors": []}


async def test_two_ladder_sweeps_over_the_same_cases_in_opposite_orders_both_finish(client) -> None:
    """Locks are taken in id order, and a lost lock race is retried: neither sweep fails, nothing is made twice."""
    from models.cases import Case
    from models.children import Student
    from tasks.ladder.steps import advance_cases
    from tests.ladder_support import record_absence
    from tests.support import DEMO_PRIMARY_PUPILS, sign_in_head_teacher

    teacher = await sign_in_head_teacher()
    for pupil in await Student.filter(citizen_id__in=list(DEMO_PRIMARY_PUPILS)):
        await record_absence(client, teacher, pupil, date(2026, 9, 3))
    ids = await Case.all().order_by("id").values_list("id", flat=True)
    assert len(ids) == 2
    later = date(2026, 9, 8)  # day 4 of absence: steps 2 and 3 fall due for both cases

    with clock.as_of(clock.parse_moment(later.isoformat())):
        created = await asyncio.gather(advance_cases(ids, later), advance_cases(list(reversed(ids)), later))
        again = await advance_cases(ids, later)

    assert sum(created) > 0 and again == 0
    keys = await Task.filter(case_id__in=ids).values_list("unique_key", flat=True)
    assert len(keys) == len(set(keys))
