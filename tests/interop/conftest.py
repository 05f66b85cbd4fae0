"""A live server with the demo's certificates, and Digital Bazaar's verifier to judge them.

The server is the application served by werkzeug on 127.0.0.1 with a free
port, its own SQLite database and instance folder, and ``BASE_URL`` set to
where it listens, so every id in a credential can be fetched from it. The
demo loaders issue and revoke certificates through the normal operations;
the tests take the credentials as a holder gets them, from the PDF downloaded
from the server and from the credential's own id.
``verify.mjs`` (run with Node) is the outside verifier; ``npm ci`` in this
folder installs its pinned packages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from certificates import issuer
from certificates.models import Certificate
from certificates.pdf import extract_credential
from lms import create_app
from lms.auth.operations import find_user_by_email
from lms.extensions import db

HERE = Path(__file__).parent
VERIFIER = HERE / "verify.mjs"
GENUINE_HOLDER = "stefan.marinov@example.org"
REVOKED_HOLDER = "jonas.weber@example.org"


@dataclass
class LiveServer:
    """The running application and the certificates the demo issued on it."""

    app: Flask
    origin: str
    genuine: dict[str, Any]
    revoked: dict[str, Any]


def _code_of(email: str) -> str:
    """Return the verification code of the certificate the demo issued to ``email``."""
    user = find_user_by_email(email)
    assert user is not None, f"the demo has no {email}"
    code = db.session.scalar(sa.select(Certificate.code).where(Certificate.user_id == user.id))
    assert code is not None, f"the demo issued no certificate to {email}"
    return code


def _download(url: str) -> bytes:
    """GET ``url`` from the live server, as a holder's browser would."""
    assert url.startswith("http://127.0.0.1:"), url
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback only
        return response.read()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """Serve the demo on 127.0.0.1 (a free port) until the session ends."""
    instance = tmp_path_factory.mktemp("interop-instance")
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "interop-secret-key-" * 2,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'interop.sqlite3'}",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": None,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    origin = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = origin
    with app.app_context():
        db.create_all()
        for loader in app.extensions["lms_demo_loaders"]:
            loader()
        db.session.commit()
        genuine_pdf = f"{origin}/certificates/{_code_of(GENUINE_HOLDER)}.pdf"
        revoked_json = issuer.credential_url(_code_of(REVOKED_HOLDER))
        db.session.remove()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        genuine = json.loads(extract_credential(_download(genuine_pdf)))
        revoked = json.loads(_download(revoked_json))
        yield LiveServer(app, origin, genuine, revoked)
    finally:
        server.shutdown()
        thread.join()
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture(scope="session")
def verifier() -> Iterator[subprocess.Popen]:
    """``verify.mjs`` running under Node for the session, answering one request a line."""
    node = shutil.which("node")
    assert node, "Node.js is required for the interop tests (.ci/run installs it)"
    assert (HERE / "node_modules" / "@digitalbazaar" / "vc").is_dir(), (
        f"run `npm ci` in {HERE} first"
    )
    with subprocess.Popen(  # noqa: S603 - a fixed script; requests go on stdin
        [node, str(VERIFIER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    ) as process:
        yield process  # leaving closes the pipes; Node ends at the end of its input


@pytest.fixture
def verify_with_digital_bazaar(live_server, verifier):
    """Have Digital Bazaar's verifier judge a credential: ``verify(credential, resolver=...)``.

    ``resolver`` is ``"plain"`` or ``"did-io"``; ``documents`` maps URLs to documents
    the verifier takes as given (to hand it a key directly).
    """

    def verify(
        credential: dict[str, Any],
        *,
        resolver: str = "plain",
        documents: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request = {
            "credential": credential,
            "origin": live_server.origin,
            "resolver": resolver,
            "documents": documents or {},
        }
        verifier.stdin.write(json.dumps(request) + "\n")
        verifier.stdin.flush()
        answer = verifier.stdout.readline()
        assert answer, f"the verifier stopped (exit status {verifier.poll()})"
        return json.loads(answer)

    return verify
