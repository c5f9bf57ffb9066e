"""The local cloud's HTTP server keeps connections alive as AWS endpoints do, without mixing up requests.

HTTP/1.1 connections are persistent unless a side says ``Connection: close``
(https://www.rfc-editor.org/rfc/rfc9112#section-9.3); the AWS SDKs pool and reuse them
(https://docs.aws.amazon.com/sdk-for-java/latest/developer-guide/http-configuration-apache.html: connection reuse),
so a kept connection must carry request after request, whatever the earlier requests' bodies looked like.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eventdeploy.localcloud.lifecycle import LocalCloudStatus

SQS_HEADERS = {"Content-Type": "application/x-amz-json-1.0",
               "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request, "
                                "SignedHeaders=host, Signature=0"}


def connection(localcloud: LocalCloudStatus) -> http.client.HTTPConnection:
    """A raw HTTP/1.1 connection to the local cloud."""
    parsed = urllib.parse.urlsplit(str(localcloud.endpoint))
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)


def sqs_call(conn: http.client.HTTPConnection, action: str, body: dict[str, Any],
             headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, dict[str, Any]]:
    """One SQS JSON call on ``conn``; the response (read) and its parsed body."""
    conn.request("POST", "/", body=json.dumps(body),
                 headers={**SQS_HEADERS, "X-Amz-Target": f"AmazonSQS.{action}", **(headers or {})})
    resp = conn.getresponse()
    data = resp.read()
    return resp, json.loads(data) if data else {}


def local_port(conn: http.client.HTTPConnection) -> int:
    """The client-side port of the connection's socket (the same port means the same TCP connection)."""
    assert conn.sock is not None
    return int(conn.sock.getsockname()[1])


def test_one_connection_carries_many_requests(localcloud: LocalCloudStatus) -> None:
    """Answers carry no ``Connection: close``, and the next request goes over the same TCP connection."""
    conn = connection(localcloud)
    try:
        resp, created = sqs_call(conn, "CreateQueue", {"QueueName": f"ka-{uuid.uuid4().hex[:8]}"})
        assert resp.status == 200 and resp.getheader("Connection") is None and not resp.will_close
        port = local_port(conn)
        for i in range(20):
            resp, _ = sqs_call(conn, "SendMessage", {"QueueUrl": created["QueueUrl"], "MessageBody": f"m{i}"})
            assert resp.status == 200
            assert local_port(conn) == port, "the client had to reconnect"
        resp, attrs = sqs_call(conn, "GetQueueAttributes", {"QueueUrl": created["QueueUrl"],
                                                            "AttributeNames": ["ApproximateNumberOfMessages"]})
        assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "20"
    finally:
        conn.close()


def test_client_connection_close_is_honoured(localcloud: LocalCloudStatus) -> None:
    """A request with ``Connection: close`` is answered with it, and the server closes the connection."""
    conn = connection(localcloud)
    try:
        resp, _ = sqs_call(conn, "ListQueues", {}, headers={"Connection": "close"})
        assert resp.status == 200 and resp.getheader("Connection") == "close" and resp.will_close
    finally:
        conn.close()


def test_http_1_0_clients_get_one_request_per_connection(localcloud: LocalCloudStatus) -> None:
    """An HTTP/1.0 request without keep-alive ends its connection after the answer (RFC 9112 §9.3)."""
    parsed = urllib.parse.urlsplit(str(localcloud.endpoint))
    with socket.create_connection((parsed.hostname, parsed.port), timeout=30) as sock:
        sock.sendall(b"GET /_localcloud/health HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):  # ends only because the server closes
            data += chunk
    assert data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n", 1)[0]
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["status"] == "running"


@contextmanager
def bare_server(app: Callable[..., Any]) -> Iterator[tuple[str, int]]:
    """The local cloud's HTTP server around ``app`` alone, on a free port, for behaviour no AWS API shows."""
    from eventdeploy.localcloud import http_server
    from tests.conftest import free_port

    server = http_server.make("127.0.0.1", free_port(), app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def ignores_body(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A WSGI app that answers without reading the request body."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def test_unread_body_does_not_leak_into_the_next_request() -> None:
    """An application that never reads a large body, then another request on the same connection: the first body is
    drained, not parsed as the second request."""
    with bare_server(ignores_body) as (host, port):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request("POST", "/first", body=b"x" * 300_000)
            first = conn.getresponse()
            assert (first.status, first.read()) == (200, b"ok")
            client_port = local_port(conn)
            conn.request("GET", "/second")
            second = conn.getresponse()
            assert (second.status, second.read()) == (200, b"ok")
            assert local_port(conn) == client_port
        finally:
            conn.close()


def test_chunked_request_bodies_are_read_and_the_connection_kept(localcloud: LocalCloudStatus) -> None:
    """A ``Transfer-Encoding: chunked`` request body reaches the service whole; the connection stays usable."""
    conn = connection(localcloud)
    try:
        _, created = sqs_call(conn, "CreateQueue", {"QueueName": f"chunk-{uuid.uuid4().hex[:8]}"})
        body = json.dumps({"QueueUrl": created["QueueUrl"], "MessageBody": "chunked " * 1000}).encode()
        pieces = [body[i:i + 1000] for i in range(0, len(body), 1000)]
        conn.request("POST", "/", body=iter(pieces), encode_chunked=True,
                     headers={**SQS_HEADERS, "X-Amz-Target": "AmazonSQS.SendMessage", "Transfer-Encoding": "chunked"})
        resp = conn.getresponse()
        assert resp.status == 200 and "MessageId" in json.loads(resp.read())
        resp, got = sqs_call(conn, "ReceiveMessage", {"QueueUrl": created["QueueUrl"], "WaitTimeSeconds": 1})
        assert got["Messages"][0]["Body"] == "chunked " * 1000
    finally:
        conn.close()


def test_expect_100_continue_gets_an_interim_answer(localcloud: LocalCloudStatus) -> None:
    """``Expect: 100-continue`` (boto3 sends it for S3 uploads) gets ``100 Continue`` before the body is sent."""
    parsed = urllib.parse.urlsplit(str(localcloud.endpoint))
    body = json.dumps({}).encode()
    with socket.create_connection((parsed.hostname, parsed.port), timeout=30) as sock:
        head = (f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n"
                "Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.ListQueues\r\n"
                f"Authorization: {SQS_HEADERS['Authorization']}\r\n\r\n")
        sock.sendall(head.encode())
        assert sock.recv(25).startswith(b"HTTP/1.1 100 Continue\r\n")


def test_s3_metadata_with_underscores_survives(aws: Callable[..., Any]) -> None:
    """User metadata keys keep their underscores (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html),
    as moto's own request handler preserves them."""
    s3 = aws("s3")
    bucket = f"meta-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v", Metadata={"build_id": "42", "team-name": "platform"})
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"build_id": "42", "team-name": "platform"}


def body_even_for_head(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A careless WSGI app that sends a body whatever the method."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def test_head_answers_carry_no_body_on_a_kept_connection() -> None:
    """A HEAD answer has headers only (https://www.rfc-editor.org/rfc/rfc9110#section-9.3.2), even when the
    application writes a body, so the next answer on the connection starts with its status line."""
    with bare_server(body_even_for_head) as address:
        with socket.create_connection(address, timeout=30) as sock:
            sock.sendall(b"HEAD /x HTTP/1.1\r\nHost: x\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"hello"):
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {data!r}"
                data += chunk
    head, get = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 5" in head
    assert get.startswith(b"HTTP/1.1 200"), f"HEAD answer carried a body: {data!r}"
