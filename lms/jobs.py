"""Background jobs on Celery: a Redis broker when configured, in-process otherwise.

With ``LMS_CELERY_BROKER_URL`` set (``redis://host:6379/0``), ``enqueue`` sends a
task to the broker once the caller's transaction commits, and ``lms worker`` /
``lms beat`` run it and the periodic tasks. Unset, ``enqueue`` runs the task at
once in the calling process, so the demo needs nothing but Python.

Every task is acknowledged late (``acks_late``, ``task_reject_on_worker_lost``):
a worker killed half-way leaves the message on the broker and another worker
runs it again, so tasks are written to be idempotent. Pass ids to tasks, never
ORM objects. The request id of the page that started a job is carried into the
job's log lines, and every job is counted and timed in ``lms.metrics``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import click
from celery import Celery, Task
from celery.schedules import crontab, schedule
from celery.signals import worker_ready
from flask import Flask, current_app, g, has_app_context
from flask.cli import with_appcontext
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.local import LocalProxy

logger = logging.getLogger(__name__)

#: The one Celery application of the process; ``init_app`` configures it from Flask's config.
celery = Celery("lms")
#: Periodic tasks for beat: name -> (task name, schedule), filled by ``periodic``.
PERIODIC: dict[str, tuple[str, Any]] = {}
#: Tasks sent whenever a worker starts: task name -> keyword arguments (``at_worker_start``).
AT_WORKER_START: dict[str, dict[str, Any]] = {}

# Seconds a message may stay unacknowledged on Redis before it is handed to another
# worker: the time after which a killed worker's job is redone. Longer than any
# single task run (bulk issuance runs one chunk per task) and any retry countdown.
DEFAULT_VISIBILITY_TIMEOUT = 900


class FlaskTask(Task):
    """Run the task inside an application context, with the caller's request id."""

    abstract = True
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from lms import metrics

        started = time.perf_counter()
        outcome = "failed"
        try:
            if has_app_context() and g.get("lms_inline_jobs"):  # in-process, from ``enqueue``
                result = self.run(*args, **kwargs)
            else:  # on a worker: a context (and database session) of its own
                with _flask_app().app_context():
                    g.request_id = _request_id_of(self.request) or self.request.id
                    try:
                        result = self.run(*args, **kwargs)
                    finally:
                        _remove_session()
            outcome = "succeeded"
            return result
        except Exception as error:
            from celery.exceptions import Retry

            if isinstance(error, Retry):
                outcome = "retried"
            raise
        finally:
            metrics.JOBS.labels(self.name, outcome).inc()
            metrics.JOB_DURATION.labels(self.name).observe(time.perf_counter() - started)


def _request_id_of(request: Any) -> str | None:
    value = getattr(request, "request_id", None)
    if value is None and isinstance(getattr(request, "headers", None), dict):
        value = request.headers.get("request_id")
    return value


def _remove_session() -> None:
    from lms.extensions import db

    db.session.remove()


# Celery's documented way to change every task's base; celery-types has it read-only.
celery.Task = FlaskTask  # type: ignore[misc]
_state: dict[str, Flask] = {}


def _flask_app() -> Flask:
    app = _state.get("app")
    if app is None:
        from lms import create_app

        app = _state["app"] = create_app()
    return app


def task(**options: Any) -> Callable:
    """Declare a task on the shared Celery app (``bind=True`` to get ``self``)."""
    return celery.task(**options)


def periodic(name: str, every: Any) -> Callable:
    """Declare a task and run it on beat at ``every`` (seconds or a ``crontab``)."""

    def decorator(function: Callable) -> Any:
        declared = celery.task(name=name)(function)
        PERIODIC[name] = (name, every if not isinstance(every, int | float) else schedule(every))
        return declared

    return decorator


def at_worker_start(task_: Any, **kwargs: Any) -> None:
    """Send ``task_`` with ``kwargs`` each time a worker starts: recovery after a crash.

    A job is sent to the broker only after its transaction commits; a process
    killed between the two leaves committed work whose job never left. A task
    registered here finds such work and sends the jobs again.
    """
    AT_WORKER_START[task_.name] = kwargs


@worker_ready.connect
def _on_worker_ready(sender: Any = None, **_signal: Any) -> None:
    for name, kwargs in AT_WORKER_START.items():
        celery.send_task(name, kwargs=kwargs)
        logger.info("job %s%r sent at worker start", name, kwargs)


def eager(app: Flask | None = None) -> bool:
    """Return whether jobs run in-process (no broker configured)."""
    return not (app or current_app).config.get("CELERY_BROKER_URL")


def enqueue(task_: Any, *args: Any, countdown: float | None = None) -> None:
    """Run ``task_`` with ``args``: after the commit on the broker, or now in-process.

    In-process failures are logged, not raised: the caller's work stands, and
    the job can be run again (every task is idempotent).
    """
    from lms.extensions import db

    if eager():
        try:
            with _inline():
                task_.apply(args=args, throw=True)
        except Exception:
            logger.exception("job %s%r failed in-process", task_.name, args)
        return
    client: Celery = current_app.extensions["celery_client"]
    headers = {"request_id": g.get("request_id")}
    session = db.session()

    def send(*_ignored: Any) -> None:
        client.send_task(task_.name, args=args, headers=headers, countdown=countdown)
        logger.info("job %s%r sent to the broker", task_.name, args)

    if session.in_transaction():
        # A worker must find the rows the caller is writing: send after they commit.
        session.info.setdefault(_PENDING, []).append(send)
    else:
        send()


_PENDING = "lms_jobs_pending"


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    for send in session.info.pop(_PENDING, []):
        send()


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        dropped = session.info.pop(_PENDING, [])
        if dropped:
            logger.info("%s jobs not sent: their transaction rolled back", len(dropped))


@contextmanager
def _inline() -> Iterator[None]:
    """Mark tasks run here as in-process: they share the caller's session and never commit."""
    g.lms_inline_jobs = g.get("lms_inline_jobs", 0) + 1
    try:
        yield
    finally:
        g.lms_inline_jobs -= 1


def run_periodic_now() -> dict[str, Any]:
    """Run every periodic task once in this process (cron without a broker); return results."""
    from lms.extensions import db

    results = {}
    for name, (task_name, _every) in sorted(PERIODIC.items()):
        with _inline():
            results[name] = celery.tasks[task_name].apply(throw=True).result
        db.session.commit()
    return results


def init_app(app: Flask) -> None:
    """Configure Celery from the ``CELERY_*`` settings; add ``lms worker``, ``beat``, ``jobs``."""
    broker = app.config.get("CELERY_BROKER_URL")
    config: dict[str, Any] = {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": app.config.get("LOG_FORMAT") != "json",
        "broker_connection_retry_on_startup": True,
        "task_ignore_result": False,
        "result_expires": 24 * 3600,
        "timezone": "UTC",
        "beat_schedule": {
            name: {"task": task_name, "schedule": every}
            for name, (task_name, every) in PERIODIC.items()
        },
    }
    if broker:
        visibility = int(app.config.get("CELERY_VISIBILITY_TIMEOUT") or DEFAULT_VISIBILITY_TIMEOUT)
        config.update(
            broker_url=broker,
            result_backend=app.config.get("CELERY_RESULT_BACKEND") or broker,
            broker_transport_options={
                "visibility_timeout": visibility,
                # Look for a killed worker's messages every few seconds, not every
                # 10 x 10 s that kombu's defaults add up to.
                "unacked_restore_interval": max(1, min(10, visibility // 3)),
                "unacked_restore_throttle": 1,
            },
            result_backend_transport_options={"visibility_timeout": visibility},
            task_always_eager=False,
        )
    else:
        config.update(broker_url="memory://", result_backend="cache+memory://")
    # The worker runs the tasks of the shared app, configured by the one Flask app of
    # its process. Each Flask app sends through a client of its own, so apps built
    # side by side (tests, the CLI) never share a broker connection by accident.
    celery.conf.update(config)
    _state["app"] = app
    client = Celery("lms", set_as_current=False)
    client.conf.update(config)
    app.extensions["celery"] = celery
    app.extensions["celery_client"] = client
    app.cli.add_command(worker_command)
    app.cli.add_command(beat_command)
    app.cli.add_command(jobs_group)


def _refresh_schedule() -> None:
    celery.conf.beat_schedule = {
        name: {"task": task_name, "schedule": every}
        for name, (task_name, every) in PERIODIC.items()
    }


def _require_broker() -> None:
    if eager():
        raise click.ClickException(
            "LMS_CELERY_BROKER_URL is not set: jobs run inside the web process and need no worker."
        )


@click.command("worker", context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def worker_command(celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker for background jobs (extra arguments go to ``celery worker``)."""
    _require_broker()
    _state["app"] = cast("LocalProxy[Flask]", current_app)._get_current_object()
    _refresh_schedule()
    celery.worker_main(["worker", "--loglevel=INFO", *celery_args])


@click.command("beat", context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def beat_command(celery_args: tuple[str, ...]) -> None:
    """Run Celery beat, which sends the periodic jobs (run exactly one per site)."""
    _require_broker()
    _refresh_schedule()
    schedule_file = f"{current_app.instance_path}/celerybeat-schedule"
    celery.start(["beat", "--loglevel=INFO", f"--schedule={schedule_file}", *celery_args])


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs."""


@jobs_group.command("periodic")
@with_appcontext
def jobs_periodic_command() -> None:
    """Run every periodic job once, here (for cron on a site without a broker)."""
    for name, result in run_periodic_now().items():
        click.echo(f"{name}: {result}")


@jobs_group.command("list")
def jobs_list_command() -> None:
    """List the periodic jobs and their schedules."""
    for name, (_task_name, every) in sorted(PERIODIC.items()):
        click.echo(f"{name}: {every}")


def commit() -> None:
    """Commit a job's work on a worker; run in-process, only flush (the caller commits)."""
    from lms.extensions import db

    if g.get("lms_inline_jobs"):
        db.session.flush()
    else:
        db.session.commit()


__all__ = [
    "at_worker_start",
    "celery",
    "commit",
    "crontab",
    "enqueue",
    "init_app",
    "periodic",
    "task",
]
