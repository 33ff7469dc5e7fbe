"""A loopback TCP proxy to "restart" a server without touching it (fault injection).

    proxy = TcpProxy(5432).start()       # 127.0.0.1:<proxy.port> -> 127.0.0.1:5432
    proxy.cut()                          # kill every connection and refuse new ones
    proxy.restore()                      # accept again (on the same port)
    proxy.stop()

The machine's PostgreSQL is shared by other test processes, so a test never restarts it:
a client connected through this proxy sees exactly what a restart looks like (its
connections reset, then connection refused until the server is back).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.connections_made = 0
        self.cuts = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> TcpProxy:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._call(self._listen())
        return self

    def _call(self, coroutine: object) -> object:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self.target)
        except OSError:
            client.close()
            return
        self.connections_made += 1
        self._writers.update((client, upstream))

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    writer.close()

        await asyncio.gather(pipe(client_reader, upstream), pipe(upstream_reader, client))
        self._writers.difference_update((client, upstream))

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()  # RST, as a dying server's kernel would send
        self._writers.clear()

    def cut(self) -> None:
        """Reset every proxied connection and refuse new ones (the server "went down")."""
        self.cuts += 1
        self._call(self._cut())

    def restore(self) -> None:
        """Accept connections again on the same port (the server "came back")."""
        self._call(self._listen())

    def stop(self) -> None:
        if self._loop is None:
            return
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None
