"""The shared rate-limit storage and the refusal of per-process counters."""

from __future__ import annotations

import logging
import multiprocessing

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from lms import create_app
from lms.ratelimit import SQLiteStorage, configured_workers


@pytest.fixture
def storage(tmp_path) -> SQLiteStorage:
    return storage_from_string(f"lms+sqlite:///{tmp_path / 'limits.sqlite3'}")


def test_the_scheme_is_registered_with_limits(storage):
    assert isinstance(storage, SQLiteStorage)
    assert storage.check()


def test_counts_expire_and_reset(storage):
    assert storage.incr("a", 60) == 1
    assert storage.incr("a", 60, amount=2) == 3
    assert storage.get("a") == 3
    assert storage.get("b") == 0
    assert storage.get_expiry("a") > storage.get_expiry("b")
    storage.clear("a")
    assert storage.get("a") == 0
    storage.incr("gone", 0)  # a window that has already ended
    assert storage.get("gone") == 0
    assert storage.incr("gone", 60) == 1  # a new window starts from zero
    storage.incr("c", 60)
    assert storage.reset() == 2
    assert storage.get("c") == 0


def test_a_limit_holds_with_flask_limiters_strategy(storage):
    limiter = FixedWindowRateLimiter(storage)
    item = parse("3 per minute")
    assert [limiter.hit(item, "login", "x") for _ in range(5)] == [True] * 3 + [False] * 2
    assert limiter.hit(item, "login", "y")


def _hammer(path: str, times: int) -> None:
    storage = storage_from_string(f"lms+sqlite:///{path}")
    for _ in range(times):
        storage.incr("shared", 600)


@pytest.mark.parametrize("processes", [4, 8])
def test_processes_share_the_counts(tmp_path, processes):
    # All of them open the new file at once: the first ones race to switch it to WAL.
    path = str(tmp_path / "shared.sqlite3")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_hammer, args=(path, 50)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert storage_from_string(f"lms+sqlite:///{path}").get("shared") == 50 * processes


def test_a_bad_uri_is_refused():
    with pytest.raises(ValueError, match="lms\\+sqlite:///"):
        SQLiteStorage("lms+sqlite:///")


@pytest.mark.parametrize(
    ("argv", "environ", "workers"),
    [
        (["gunicorn", "-w", "4", "wsgi:app"], {}, 4),
        (["/usr/bin/gunicorn", "--workers=3", "wsgi:app"], {}, 3),
        (["gunicorn", "-w2", "wsgi:app"], {}, 2),
        (["/venv/lib/python3.11/site-packages/gunicorn/__main__.py", "-w", "2"], {}, 2),
        (["gunicorn", "wsgi:app"], {"GUNICORN_CMD_ARGS": "--bind :80 --workers 5"}, 5),
        (["gunicorn", "wsgi:app"], {"WEB_CONCURRENCY": "6"}, 6),
        (["flask", "run", "-w", "9"], {}, 1),  # not gunicorn: its -w means something else
        (["pytest"], {}, 1),
    ],
)
def test_worker_count_is_read_from_the_command(argv, environ, workers):
    assert configured_workers(argv, environ) == workers


def _app(tmp_path, **config):
    return create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k" * 32, **config})


def test_default_counts_in_a_file_of_the_instance(tmp_path):
    app = _app(tmp_path)
    uri = app.config["RATELIMIT_STORAGE_URI"]
    assert uri == f"lms+sqlite:///{tmp_path / 'ratelimits.sqlite3'}"


def test_memory_storage_is_refused_unless_allowed(tmp_path):
    with pytest.raises(RuntimeError, match="every worker"):
        _app(tmp_path, RATELIMIT_STORAGE_URI="memory://")


def test_memory_storage_with_several_workers_logs_an_error(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("sys.argv", ["gunicorn", "-w", "2", "wsgi:app"])
    with caplog.at_level(logging.WARNING, logger="lms.ratelimit"):
        _app(tmp_path, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_MEMORY_ALLOWED=True)
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "2 workers" in record.getMessage()
