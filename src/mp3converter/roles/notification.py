"""The notification role: emails the owner when a job succeeds or fails, and sends the
owner's webhooks (registered here, through the gateway)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

import httpx
from fastapi import FastAPI

from mp3converter import bootstrap
from mp3converter.adapters.mailer import Mailer, build_mailer
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.rabbitmq import MessageHandler
from mp3converter.adapters.webhook_deliveries import DeliveryStore
from mp3converter.adapters.webhook_sender import WebhookSender, http_client
from mp3converter.adapters.webhook_store import WebhookStore
from mp3converter.api.deps import RoleState
from mp3converter.api.routes import webhooks as webhook_routes
from mp3converter.config import Settings
from mp3converter.contracts import JOB_EVENT, AnyJobEvent
from mp3converter.usecases.emails import UnbuildableEmail
from mp3converter.usecases.notify import Notifier
from mp3converter.usecases.webhook_delivery import DeliveryWorker, forget_finished
from mp3converter.usecases.webhooks import Webhooks
from mp3converter.web.server import finish_app

ROLE = "notification"


def webhooks_and_worker(
    settings: Settings, db: Database, mailer: Mailer, outbound: httpx.AsyncClient
) -> tuple[Webhooks, DeliveryWorker]:
    """The webhook use case and the worker that sends its deliveries, sharing one wake-up."""
    hooks, deliveries = WebhookStore(db), DeliveryStore(db)
    sender = WebhookSender(
        outbound, settings.webhook_targets, timeout_seconds=settings.webhook_timeout_seconds
    )
    webhooks = Webhooks(
        hooks, deliveries, sender, settings.max_webhooks_per_user, settings.public_base_url
    )
    worker = DeliveryWorker(
        hooks,
        deliveries,
        sender,
        settings.webhook_retries,
        settings.webhook_disable_after_failures,
        mailer,
        settings.smtp_from,
        added=webhooks.added,
    )
    return webhooks, worker


@asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[RoleState]:
    """MongoDB, RabbitMQ, the mailer and the JWKS client; the notification queue is consumed
    and webhook deliveries are sent meanwhile."""
    async with AsyncExitStack() as stack:
        db, broker = await stack.enter_async_context(bootstrap.database_and_broker(settings, ROLE))
        http = await stack.enter_async_context(httpx.AsyncClient())
        revoked = await stack.enter_async_context(bootstrap.revocation_list(http, settings))
        outbound = await stack.enter_async_context(http_client(settings.webhook_timeout_seconds))
        mailer = build_mailer(settings)
        links = bootstrap.download_links(settings)
        notifier = Notifier(db, mailer, sender=settings.smtp_from, links=links)
        webhooks, worker = webhooks_and_worker(settings, db, mailer, outbound)

        async def on_event(event: AnyJobEvent) -> None:
            # Deliveries first (stored once per event): an email that cannot go yet, and so
            # requeues the event, does not hold the webhooks back.
            await webhooks.on_job_event(event)
            await notifier.notify(event)

        handler = MessageHandler(JOB_EVENT.validate_json, on_event, permanent=(UnbuildableEmail,))
        subscription = await broker.consume(broker.topology.notification, handler)
        stack.push_async_callback(subscription.stop)
        await stack.enter_async_context(bootstrap.in_background(worker.run()))
        forgetting = forget_finished(DeliveryStore(db), settings.sweep_interval_seconds)
        await stack.enter_async_context(bootstrap.in_background(forgetting))
        yield RoleState(
            role=ROLE,
            settings=settings,
            checks=bootstrap.store_and_broker_checks(db, broker),
            verifier=bootstrap.jwks_verifier(http, settings, revoked),
            revocation_list=revoked,
            webhooks=webhooks,
        )


def create_app(settings: Settings) -> FastAPI:
    """The notification role's app: the webhook routes (the gateway forwards to them)."""
    app = FastAPI(title="mp3converter notification", lifespan=partial(lifespan, settings))
    app.include_router(webhook_routes.router)
    return finish_app(app, ROLE)
