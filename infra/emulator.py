"""The local DynamoDB and Secrets Manager: moto's server, one request at a time.

moto checks a transaction's conditions and then writes, and on a cancelled transaction it restores
a copy of the whole table taken when the transaction began. Two transactions served at once can
therefore lose each other's writes, which real DynamoDB never does (its transactions are
serializable). Serving one request at a time gives the emulator the isolation the service relies
on; connections are still accepted concurrently, so concurrency tests still race real requests.

Usage: python infra/emulator.py HOST PORT
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

_one_at_a_time = threading.Lock()


def serialized(app):
    def application(environ, start_response):
        with _one_at_a_time:
            return list(app(environ, start_response))

    return application


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serialized(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
