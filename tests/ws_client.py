"""A WebSocket client for the tests and the load benchmarks."""
from __future__ import annotations


def ws_connect(url: str, headers=None):
    """A WebSocket client for the tests: simple_websocket's Client, minus a message-losing race.

    Its handshake reads the server's reply with one recv() and takes only the first event from
    it. Whatever else came in that same read (this server greets at once; the reading socket
    answers an unknown text with an error and closes) stays in wsproto's buffer, and the client's
    thread then waits for *new* bytes: a greeting shows up late, and an error plus close frame
    is lost (the connection ends as 1005). On a loaded machine that read merges them often
    (13 of 300 connections at load 4). This client handles those events before it waits."""
    from simple_websocket import Client

    class _Client(Client):
        def _thread(self):
            if not self._handle_events():   # what came with the handshake reply
                self.connected = False
                self.event.set()
                self.sock.close()
                return
            super()._thread()

    return _Client.connect(url, headers=headers)
