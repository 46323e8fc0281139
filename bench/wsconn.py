"""Client WebSocket connections for the load client: picows (fast) or websockets (fallback, and deflate offers).

Both give the same tiny interface: ``await connect(url, ...)`` -> object with ``send(text)``, ``await recv()``
(str, or None once closed) and ``close()``.
"""

from __future__ import annotations

import asyncio

try:
    from picows import WSError, WSListener, WSMsgType, ws_connect
except ImportError:  # picows is optional; websockets is the fallback
    WSListener, WSError = object, OSError
    ws_connect = None

try:
    from websockets.exceptions import WebSocketException
except ImportError:
    WebSocketException = OSError

# What a refused, dropped or timed-out connection raises (counted as a connect error, never hidden).
CONNECT_ERRORS = (OSError, asyncio.TimeoutError, EOFError, WSError, WebSocketException)


class _Listener(WSListener):
    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()
        self.transport = None

    def on_ws_connected(self, transport):
        self.transport = transport

    def on_ws_frame(self, transport, frame):
        kind = frame.msg_type
        if kind == WSMsgType.TEXT:
            self.queue.put_nowait(frame.get_payload_as_utf8_text())
        elif kind == WSMsgType.BINARY:
            self.queue.put_nowait(frame.get_payload_as_bytes().decode("utf-8", "replace"))
        elif kind == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport):
        self.queue.put_nowait(None)


class PicowsConn:
    library = "picows"

    def __init__(self, transport, listener: _Listener):
        self.transport, self.listener = transport, listener

    def send(self, text: str) -> None:
        self.transport.send(WSMsgType.TEXT, text.encode())

    async def recv(self) -> str | None:
        return await self.listener.queue.get()

    def close(self) -> None:
        if not self.transport.is_disconnected:
            self.transport.send_close()
            self.transport.disconnect()


class WebsocketsConn:
    library = "websockets"

    def __init__(self, ws):
        self.ws = ws

    def send(self, text: str) -> None:
        asyncio.ensure_future(self.ws.send(text))

    async def recv(self) -> str | None:
        import websockets

        try:
            message = await self.ws.recv()
        except websockets.ConnectionClosed:
            return None
        return message if isinstance(message, str) else message.decode("utf-8", "replace")

    def close(self) -> None:
        asyncio.ensure_future(self.ws.close())


async def connect(url: str, deflate: bool = False, timeout: float = 10.0):
    """Open one connection. ``deflate`` offers permessage-deflate like a browser (websockets client)."""
    if ws_connect is not None and not deflate:
        transport, listener = await ws_connect(_Listener, url, websocket_handshake_timeout=timeout)
        return PicowsConn(transport, listener)
    import websockets

    ws = await websockets.connect(
        url,
        compression="deflate" if deflate else None,
        max_queue=None,
        ping_interval=None,
        open_timeout=timeout,
        max_size=None,
    )
    return WebsocketsConn(ws)


def library(deflate: bool = False) -> str:
    return "picows" if ws_connect is not None and not deflate else "websockets"
