"""The local DynamoDB and Secrets Manager: moto's server, one request at a time.

Two differences from moto as shipped, both about TransactWriteItems:

- moto checks a transaction's conditions and then writes, and on a cancelled transaction it
  restores a copy of the whole table taken when the transaction began. Two transactions served at
  once can therefore lose each other's writes, which real DynamoDB never does (its transactions are
  serializable). Serving one request at a time gives the emulator the isolation the service relies
  on; connections are still accepted concurrently, so concurrency tests still race real requests.
- That copy of the whole table is taken once per item of every transaction, so each transaction
  costs time in proportion to the table's size and a test run slows as it fills the table. Here a
  transaction remembers only the items it touches and puts those back when it is cancelled.

Usage: python infra/emulator.py HOST PORT
"""

import copy
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

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

_one_at_a_time = threading.Lock()


class _TablesAreNotCopied:
    """Stands in for the copy module inside moto's DynamoDB backend: tables are not copied."""

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _touched_items(backend, transact_items):
    touched = []
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        name = op.get("TableName")
        if name not in backend.tables:
            continue
        table = backend.tables[name]
        if op_type == "Put":
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op.get("Key")
        if key is None:
            continue
        before = backend.get_item(name, key)
        touched.append((name, key, before.to_json()["Attributes"] if before else None))
    return touched


def _transact_write_items(self, transact_items):
    touched = _touched_items(self, transact_items)
    try:
        return _moto_transact_write_items(self, transact_items)
    except Exception:
        for name, key, attributes in reversed(touched):
            if attributes is None:
                self.delete_item(name, key)
            else:
                self.put_item(name, attributes)
        raise


DynamoDBBackend.transact_write_items = _transact_write_items
dynamodb_models.copy = _TablesAreNotCopied


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
