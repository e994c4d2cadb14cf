"""The local DynamoDB and Secrets Manager: moto's server, one request at a time.

Three differences from moto as shipped, all about TransactWriteItems:

- moto checks a transaction's conditions and then writes, and on a cancelled transaction it
  restores a copy of the whole table taken when the transaction began. Two transactions served at
  once can therefore lose each other's writes, which real DynamoDB never does (its transactions are
  serializable). Serving one request at a time gives the emulator the isolation the service relies
  on; connections are still accepted concurrently, so concurrency tests still race real requests.
- That copy of the whole table is taken once per item of every transaction, so each transaction
  costs time in proportion to the table's size and a test run slows as it fills the table. Here a
  transaction remembers only the items it touches and puts those back when it is cancelled.
- moto ignores `ClientRequestToken`. Here, as on DynamoDB, a transaction sent again with the same
  token within 10 minutes of its success is answered with the first answer and not run again
  (the SDK sends it again when the first answer comes too late), and the same token with another
  request is refused with `IdempotentParameterMismatchException`.

Every DynamoDB request also books the capacity units DynamoDB would bill for it, per partition
(`GET /_ward/calls`, `units`), for the benchmark's figures.

A base-table Query reads only its partition (moto's own walks and sorts the whole table, so
listings grew slower with every account any test made).

And two switches for tests, under `/_ward/` on the emulator's own port:

- `GET /_ward/calls`: every call each function has made since the emulator started, as IAM would
  authorise it: `{"calls": [{"function", "action", "resource", "count"}]}`. A function is named by
  the `app/<name>` part of its SDK user agent; a `TransactWriteItems` counts as the per-item actions
  IAM checks (`dynamodb:PutItem`, `UpdateItem`, `DeleteItem`, `ConditionCheckItem`), a
  `TransactGetItems` as `GetItem`s. Beside them, `"requests": [{"function", "operation", "count"}]`
  counts the requests themselves (a transaction is one), the round trips a route costs
  (`operation` is the `X-Amz-Target`, e.g. `DynamoDB_20120810.GetItem`), and `"units":
  [{"function", "partition", "read", "write"}]` the capacity units DynamoDB would bill, per
  partition key (a write unit per KB of the larger of the item before and after, at least one,
  also when a condition refuses the write, twice that in a transaction; a read unit per 4 KB read
  consistently, half as much eventually; requests a fault rule refused cost nothing, as a
  throttled request costs nothing on DynamoDB). `DELETE /_ward/calls` forgets all three.
- `POST /_ward/faults` `{"operation", "match", "fault", "times", "function"}`: the next `times`
  requests of that operation whose body contains `match` (and, if given, that come from that
  function) fail the way DynamoDB fails under contention and overload, before anything is applied:
  `fault` is `TransactionConflict`, `TransactionThrottled` or `TransactionConditionFailed` (a
  transaction cancelled with reason `TransactionConflict`, `ThrottlingError` or
  `ConditionalCheckFailed` for the first item that matches), `TransactionConflictException` (a plain write colliding with a transaction),
  `ProvisionedThroughputExceededException`, `ThrottlingException`, `drop` (the connection is
  closed without an answer), `hang` (a database that accepts a request and never answers it:
  the request is held, unapplied, until its rule is cleared, and then its connection is closed),
  or `late` (the request is applied, and its answer sent only after `delay` seconds, 3 by
  default: past the client's attempt timeout, so that the client sends it again).
  `operation` `*` is every operation (of DynamoDB and Secrets Manager alike), a list names several,
  and an empty `match` matches every body. With `"rate": N`, the first N matching requests of
  every second are served and only those beyond fail: a partition that DynamoDB throttles above
  its capacity (`served` counts the ones let through). `DELETE /_ward/faults[?match=...]` clears every rule (or those of that
  match); `GET` lists them with the number of times each has fired.

Usage: python infra/emulator.py HOST PORT
"""

import collections
import copy
import hashlib
import inspect
import io
import json
import os
import re
import socket
import signal
import sys
import threading
import time
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

import moto.dynamodb.models as dynamodb_models
from moto.core import DEFAULT_ACCOUNT_ID
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


# --- A Query reads one partition ----------------------------------------------------------------

_moto_query = Table.query
_moto_query_signature = inspect.signature(_moto_query)


def _query_one_partition(self, *args, **kwargs):
    """moto answers a Query by listing and sorting every item of the table, so its time grows with
    the table; DynamoDB reads the one partition. A base-table Query is shown only the items of its
    partition key, so a listing costs here what the items it returns cost, as in AWS. (Requests are
    served one at a time, so the items seen are swapped in and out without a race.)"""
    called = _moto_query_signature.bind(self, *args, **kwargs).arguments
    hash_key = called.get("hash_key")
    if called.get("index_name") is not None or hash_key is None or not self.range_key_attr:
        return _moto_query(self, *args, **kwargs)
    partition = list(self.items.get(hash_key, {}).values())
    self.all_items = lambda: partition
    try:
        return _moto_query(self, *args, **kwargs)
    finally:
        del self.all_items


Table.query = _query_one_partition


# --- Calls per function, as IAM authorises them ---------------------------------------------

_calls = {}
_requests = {}
_calls_lock = threading.Lock()
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_APP_NAME = re.compile(r"(?:^|\s)app/([A-Za-z0-9!#$%&'*+.^_`|~-]+)")


def _function_of(environ):
    for header in ("HTTP_X_AMZ_USER_AGENT", "HTTP_USER_AGENT"):
        found = _APP_NAME.search(environ.get(header, ""))
        if found:
            return found.group(1)
    return "unknown"


def _table(name, index=None):
    return f"table:{name}" + (f"/index/{index}" if index else "")


def _authorised_actions(target, body):
    """(action, resource) pairs that IAM checks for one request."""
    service, _, operation = target.partition(".")
    if service.startswith("secretsmanager"):
        return [(f"secretsmanager:{operation}", f"secret:{body.get('SecretId', '')}")]
    if not service.startswith("DynamoDB"):
        return []
    if operation in ("TransactWriteItems", "TransactGetItems"):
        pairs = []
        for entry in body.get("TransactItems", []):
            for kind, op in entry.items():
                pairs.append((f"dynamodb:{_TRANSACT_ACTIONS.get(kind, kind)}", _table(op.get("TableName"))))
        return pairs
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", _table(name)) for name in body.get("RequestItems", {})]
    return [(f"dynamodb:{operation}", _table(body.get("TableName"), body.get("IndexName")))]


def _record(function, target, pairs):
    with _calls_lock:
        request = (function, target)
        _requests[request] = _requests.get(request, 0) + 1
        for action, resource in pairs:
            key = (function, action, resource)
            _calls[key] = _calls.get(key, 0) + 1


# --- Faults of real DynamoDB, injected -------------------------------------------------------

_faults = []
_faults_lock = threading.Lock()
_ERROR_TYPES = {
    "TransactionConflictException": (
        "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
        "Transaction is ongoing for the item",
    ),
    "ProvisionedThroughputExceededException": (
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    ),
    "ThrottlingException": (
        "com.amazon.coral.availability#ThrottlingException",
        "Rate of requests exceeds the allowed throughput.",
    ),
}
# A transaction cancelled for one of these reasons on the item that matches.
_CANCELLATIONS = {
    "TransactionConflict": ("TransactionConflict", "Transaction is ongoing for the item"),
    "TransactionThrottled": ("ThrottlingError", "Throughput exceeds the current capacity of your table or index."),
    "TransactionConditionFailed": ("ConditionalCheckFailed", "The conditional request failed"),
}
_FAULTS = set(_ERROR_TYPES) | set(_CANCELLATIONS) | {"drop", "hang", "late"}


def _operations(rule):
    named = rule["operation"]
    return set(named) if isinstance(named, list) else {named}


def _within_rate(rule):
    """For a rule with a `rate`: whether this request is one of the first `rate` of the last
    second (then it is served, as DynamoDB serves a partition below its capacity)."""
    now = time.monotonic()
    window = rule.setdefault("_window", [])
    window[:] = [at for at in window if now - at < 1.0]
    if len(window) < rule["rate"]:
        window.append(now)
        rule["served"] = rule.get("served", 0) + 1
        return True
    return False


def _matching_fault(operation, function, raw):
    text = raw.decode("utf-8", "replace")
    with _faults_lock:
        for rule in _faults:
            if rule["remaining"] <= 0 or not _operations(rule) & {operation, "*"}:
                continue
            if rule.get("function") and rule["function"] != function:
                continue
            if rule["match"] not in text:
                continue
            if rule.get("rate") is not None and _within_rate(rule):
                return None
            rule["remaining"] -= 1
            rule["fired"] += 1
            return rule
    return None


def _json_response(start_response, status, body):
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(payload)))])
    return [payload]


def _held(rule):
    with _faults_lock:
        return any(held is rule for held in _faults)


def _inject(rule, body, environ, start_response):
    fault = rule["fault"]
    if fault == "hang":
        while _held(rule):
            time.sleep(0.05)
        fault = "drop"
    if fault == "drop":
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        start_response("500 Internal Server Error", [])
        return []
    if fault in _CANCELLATIONS:
        code, message = _CANCELLATIONS[fault]
        items = body.get("TransactItems", [])
        reasons = [{"Code": "None"} for _ in items]
        hit = next((i for i, item in enumerate(items) if rule["match"] in json.dumps(item)), 0)
        if reasons:
            reasons[hit] = {"Code": code, "Message": message}
        codes = ", ".join(reason["Code"] for reason in reasons)
        return _json_response(start_response, "400 Bad Request", {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            "CancellationReasons": reasons,
        })
    error_type, message = _ERROR_TYPES[fault]
    return _json_response(start_response, "400 Bad Request", {"__type": error_type, "message": message})


def _content_length(environ):
    try:
        return max(int(environ.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _switches(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    if path == "/_ward/calls":
        if method == "DELETE":
            with _calls_lock:
                _calls.clear()
                _requests.clear()
                _units.clear()
        with _calls_lock:
            calls = [
                {"function": f, "action": a, "resource": r, "count": c} for (f, a, r), c in sorted(_calls.items())
            ]
            requests = [
                {"function": f, "operation": o, "count": c} for (f, o), c in sorted(_requests.items())
            ]
            units = [
                {"function": f, "partition": p, "read": r, "write": w} for (f, p), (r, w) in sorted(_units.items())
            ]
        return _json_response(start_response, "200 OK", {"calls": calls, "requests": requests, "units": units})
    if path == "/_ward/faults":
        if method == "POST":
            length = _content_length(environ)
            rule = json.loads(environ["wsgi.input"].read(length) or b"{}")
            match = rule.get("match")
            everything = rule.get("operation") == "*"
            if rule.get("fault") not in _FAULTS or not rule.get("operation") or not isinstance(match, str) or not (match or everything):
                return _json_response(start_response, "400 Bad Request", {"error": f"fault must be one of {sorted(_FAULTS)}, with an operation and a non-empty match (or operation *)"})
            rule = {**rule, "remaining": int(rule.get("times", 1)), "fired": 0}
            with _faults_lock:
                _faults.append(rule)
        elif method == "DELETE":
            only = parse_qs(environ.get("QUERY_STRING", "")).get("match")
            with _faults_lock:
                _faults[:] = [rule for rule in _faults if only and rule["match"] not in only]
        with _faults_lock:
            shown = [{k: v for k, v in rule.items() if not k.startswith("_")} for rule in _faults]
            return _json_response(start_response, "200 OK", {"faults": shown})
    return _json_response(start_response, "404 Not Found", {"error": "unknown switch"})


def switched(app):
    """Answers /_ward/ itself; records every call; fails the calls a fault rule matches."""

    def application(environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/_ward/"):
            return _switches(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            length = _content_length(environ)
            if length:
                raw = environ["wsgi.input"].read(length)
            elif environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
                raw = environ["wsgi.input"].read()
            else:
                raw = b""
            environ["wsgi.input"] = io.BytesIO(raw)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            function = _function_of(environ)
            # For `serialized`, which books the request's capacity units.
            environ["ward.body"], environ["ward.function"] = body, function
            _record(function, target, _authorised_actions(target, body))
            rule = _matching_fault(target.partition(".")[2], function, raw)
            if rule is not None and rule["fault"] == "late":
                # Applied and answered, but only after the client has given up waiting.
                answer = app(environ, start_response)
                time.sleep(float(rule.get("delay", 3.0)))
                return answer
            if rule is not None:
                return _inject(rule, body, environ, start_response)
        return app(environ, start_response)

    return application


_units = {}  # (function, partition) -> [read units, write units]


def _size(attributes):
    """An item's size as DynamoDB bills it, near enough: names and values in bytes."""

    def value_size(value):
        kind, inner = next(iter(value.items()))
        if kind in ("S", "B"):
            return len(inner) if isinstance(inner, bytes) else len(inner.encode("utf-8"))
        if kind == "N":
            return len(inner.lstrip("-").replace(".", "")) // 2 + 2
        if kind in ("BOOL", "NULL"):
            return 1
        if kind in ("SS", "BS"):
            return sum(len(item) if isinstance(item, bytes) else len(item.encode("utf-8")) for item in inner)
        if kind == "NS":
            return sum(len(item) // 2 + 2 for item in inner)
        if kind == "L":
            return 3 + sum(1 + value_size(item) for item in inner)
        if kind == "M":
            return 3 + sum(1 + len(key.encode("utf-8")) + value_size(item) for key, item in inner.items())
        return 0

    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in (attributes or {}).items())


def _backend(environ):
    region = re.search(r"Credential=[^/]+/\d+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return dynamodb_models.dynamodb_backends[DEFAULT_ACCOUNT_ID][region.group(1) if region else "us-east-1"]


def _stored(backend, table, key):
    try:
        item = backend.get_item(table, key)
    except Exception:
        return None
    return item.to_json()["Attributes"] if item else None


_SINGLE_WRITES = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}


def _write_entries(operation, body):
    """A write request's items in the shape of a transaction's (`{"Put": {...}}`, ...)."""
    if operation in _SINGLE_WRITES:
        return [{_SINGLE_WRITES[operation]: body}]
    if operation == "TransactWriteItems":
        return body.get("TransactItems", [])
    return []


def _partition(key):
    return (key or {}).get("pk", {}).get("S", "")


def _capacity(size, per):
    """Units of `per` bytes that `size` bytes take, at least one."""
    return max(1, -(-size // per))


def _count_units(function, environ, operation, body, run):
    """Runs the request and books the capacity units DynamoDB would bill for it, per partition:
    a write unit per KB of the larger of the item before and after (at least one, also when a
    condition refuses it), twice that in a transaction; a read unit per 4 KB read consistently,
    half as much eventually."""
    try:
        backend = _backend(environ)
        touched = _touched_items(backend, _write_entries(operation, body))
    except Exception:  # a request the bookkeeping cannot read is answered all the same
        return run()
    response = run()
    try:
        _book(function, backend, operation, body, touched, response)
    except Exception as error:  # the bookkeeping never changes an answer
        print(f"capacity units not booked for {operation}: {error!r}", file=sys.stderr)
    return response


def _book(function, backend, operation, body, touched, response):
    booked = []
    factor = 2 if operation == "TransactWriteItems" else 1
    for table, key, old in touched:
        size = max(_size(old), _size(_stored(backend, table, key)))
        booked.append((_partition(key), 0.0, factor * _capacity(size, 1024)))
    if operation in ("GetItem", "Query", "BatchGetItem"):
        try:
            answer = json.loads(b"".join(response))
        except ValueError:
            answer = {}
        consistent = 1.0 if body.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            read = _capacity(_size(answer.get("Item")), 4096)
            booked.append((_partition(body.get("Key")), consistent * read, 0))
        elif operation == "Query":
            pk = (body.get("ExpressionAttributeValues") or {}).get(":pk", {}).get("S", "")
            total = sum(_size(item) for item in answer.get("Items", []))
            booked.append((pk, consistent * _capacity(total, 4096), 0))
        else:
            for table, request in (body.get("RequestItems") or {}).items():
                factor_read = 1.0 if request.get("ConsistentRead") else 0.5
                for item in (answer.get("Responses") or {}).get(table, []):
                    booked.append((_partition(item), factor_read * _capacity(_size(item), 4096), 0))
    with _calls_lock:
        for partition, read, write in booked:
            units = _units.setdefault((function, partition), [0.0, 0])
            units[0] += read
            units[1] += write


# ClientRequestToken -> (a digest of the request less its token, status, headers, body, when),
# oldest first.
_answered = collections.OrderedDict()
_IDEMPOTENCY_SECS = 600
# The SDK sends a transaction again within seconds; beyond this many answers kept, the oldest go
# first, so that a long `make dev` under load does not grow without bound.
_ANSWERS_KEPT = 10_000


def _idempotent(app, environ, start_response, body):
    """A TransactWriteItems with a ClientRequestToken, as DynamoDB treats it (moto ignores the
    token): within 10 minutes of a success, the same request with the same token is answered
    with the first answer and not run again; the same token with another request is refused."""
    token = body.get("ClientRequestToken")
    if not token:
        return app(environ, start_response)
    request = hashlib.sha256(
        json.dumps({k: v for k, v in body.items() if k != "ClientRequestToken"}, sort_keys=True).encode()
    ).hexdigest()
    now = time.monotonic()
    while _answered and (len(_answered) > _ANSWERS_KEPT or now - next(iter(_answered.values()))[4] > _IDEMPOTENCY_SECS):
        _answered.popitem(last=False)
    if token in _answered:
        first, status, headers, answer, _ = _answered[token]
        if first != request:
            return _json_response(start_response, "400 Bad Request", {
                "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                "message": "The request uses the same client token as a previous, but non-identical request.",
            })
        start_response(status, headers)
        return [answer]
    seen = {}

    def noting(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers
        return start_response(status, headers, exc_info)

    answer = b"".join(app(environ, noting))
    if seen.get("status", "").startswith("200"):
        _answered[token] = (request, seen["status"], seen["headers"], answer, now)
    return [answer]


def serialized(app):
    def application(environ, start_response):
        with _one_at_a_time:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            operation = target.partition(".")[2]
            if not target.startswith("DynamoDB_"):
                return list(app(environ, start_response))
            # `switched` has read and parsed the body already.
            body = environ.get("ward.body", {})
            if operation == "TransactWriteItems":
                run = lambda: list(_idempotent(app, environ, start_response, body))  # noqa: E731
            else:
                run = lambda: list(app(environ, start_response))  # noqa: E731
            return _count_units(environ.get("ward.function", "unknown"), environ, operation, body, run)

    return application


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, switched(serialized(app)), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
