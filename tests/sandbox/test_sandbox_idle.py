"""`Sandbox.wait_idle`: tests that kill a client wait for its last request to be answered
(and logged) before they read or clear the sandbox's logs for the next client."""

import http.client

import pytest


def test_wait_idle_waits_for_open_connections(sandbox_factory):
    sb = sandbox_factory()
    sb.wait_idle(timeout=1)  # nothing open: returns at once
    client = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=5)
    client.request("GET", "/nowhere")  # answered, and the connection is kept alive
    client.getresponse().read()
    with pytest.raises(TimeoutError, match="open connections"):
        sb.wait_idle(timeout=0.3)
    client.close()
    sb.wait_idle(timeout=5)  # the client has gone: its handler ends
