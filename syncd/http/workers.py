"""The HTTP server in several processes (``server.workers``): one listening socket, shared.

One Python process serves HTTP on one core at most (the GIL), and the API spends most of a
request in Python. So the daemon binds ``server.listen`` once, serves it in its own process
as before (beside the scheduler), and starts ``workers - 1`` more processes that serve the
same application on the same socket: the kernel hands each new connection to a process
waiting in ``accept``, so an idle one takes it. Keep-alive connections that landed unevenly
are evened out afterwards (``syncd.http.balance``): each process's count is shared, and one
holding more than its share asks a client to reconnect.

The other processes only serve HTTP. They run no sync, take no lease and schedule nothing;
the daemon's process alone does (so a sync never runs twice because there are workers). What
they write goes through the store like any other writer's: API writes as in one process,
webhook events into the inbox, which the daemon's inbox job drains. ``/metrics`` and
``/readyz`` describe the daemon, so a worker asks the daemon's process for them on a
loopback socket only it listens on. A worker stops when told (SIGTERM, finishing the
requests in hand), and on its own when the daemon's process is gone.

Processes are started with ``spawn``: the daemon has threads running, which ``fork`` would
copy half-way through whatever they were doing. The socket travels to them pickled, as
``multiprocessing`` passes sockets.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
import uvicorn

from syncd.http.balance import ConnectionCounts, ConnectionSeat, HandOverExtraConnections
from syncd.http.threads import REQUEST_THREADS, RequestThreads

__all__ = ["ServerWorkers", "bind", "freeze_heap", "make_server", "serve_on"]

log = structlog.get_logger("syncd.http")

#: Seconds a worker is given to finish its requests after SIGTERM before it is killed.
STOP_SECONDS = 10.0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, ready to be shared by several processes."""
    host = host.strip("[]")  # an IPv6 address as server.listen writes it
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def freeze_heap() -> None:
    """Keep what the process has built so far out of the garbage collector's full passes.

    Call it once the application is built, before serving. Modules, routes, validators and
    models live as long as the process, yet every full collection walked all of them again:
    under the 50-client API load one took 0.1-0.6 s with every thread stopped, and those
    pauses made the slowest 1 % of answers. Frozen (``gc.freeze``), they are never walked
    again; what requests allocate is collected as before.
    """
    gc.collect()
    gc.freeze()


def make_server(
    app: Any,
    seat: ConnectionSeat | None = None,
    *,
    threads: int = REQUEST_THREADS,
    **config: Any,
) -> uvicorn.Server:
    """A uvicorn server for ``app`` (``config``: uvicorn's settings) running ``threads``
    requests at once (``syncd.http.threads``). With ``seat`` (one of several processes on a
    socket), it hands over connections while it holds more than its share of them."""
    server = uvicorn.Server(uvicorn.Config(app, **config))
    served: Any = RequestThreads(app, threads)
    if seat is not None:
        served = HandOverExtraConnections(
            served, seat, lambda: len(server.server_state.connections)
        )
    server.config.app = served
    return server


def serve_on(
    app: Any,
    sockets: list[socket.socket],
    started: Any = None,
    seat: ConnectionSeat | None = None,
    *,
    threads: int = REQUEST_THREADS,
    log_level: str = "warning",
) -> None:
    """Serve ``app`` on ``sockets`` in this process until SIGTERM/SIGINT, or until the
    process that started this one is gone (a worker must not outlive its daemon).
    ``started`` (a ``multiprocessing`` event) is set once the server accepts; ``seat`` is
    this process's place in the counts of connections that ``ServerWorkers`` shares."""
    server = make_server(
        app,
        seat,
        threads=threads,
        log_level=log_level,
        log_config=None,
        access_log=False,
        ws="none",
    )
    parent = os.getppid()

    def watch_parent() -> None:
        while not server.should_exit:
            if started is not None and server.started and not started.is_set():
                started.set()
            if os.getppid() != parent:
                server.should_exit = True
                return
            time.sleep(0.05 if started is not None and not started.is_set() else 0.5)

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    freeze_heap()
    server.run(sockets=sockets)


class ServerWorkers:
    """``count`` processes each calling ``target(sock, started, seat, *args)``: serving on the
    shared socket, and setting the ``started`` event once they accept (``serve_on`` does both).
    ``seat`` is the process's place in ``counts``, the connections each process holds; the
    process that starts them serves with ``counts.seat(0)`` (see ``make_server``).

    ``target`` and ``args`` must pickle (a module-level function and plain values): each
    process is started with ``spawn`` and builds its application itself.
    """

    def __init__(
        self,
        sock: socket.socket,
        count: int,
        target: Callable[..., None],
        args: tuple[Any, ...] = (),
    ) -> None:
        self._sock = sock
        self._count = count
        self._target = target
        self._args = args
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self._started: list[Any] = []
        #: Open connections of each process serving the socket, the starting one's at 0.
        self.counts = ConnectionCounts(count + 1)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.pid is not None]

    def start(self) -> None:
        self._started = []
        for index in range(self._count):
            started = self._context.Event()
            self._started.append(started)
            process = self._context.Process(
                target=self._target,
                args=(self._sock, started, self.counts.seat(index + 1), *self._args),
                name=f"syncd-http-{index + 1}",
                daemon=True,
            )
            process.start()
            self._processes.append(process)
        log.info("http_workers_started", workers=self._count, pids=self.pids)

    def wait_started(self, timeout: float) -> bool:
        """Until every process accepts connections (True), one died, or ``timeout`` (False)."""
        deadline = time.monotonic() + timeout
        for process, started in zip(self._processes, self._started, strict=True):
            while not started.wait(0.05):
                if not process.is_alive() or time.monotonic() > deadline:
                    return False
        return True

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM each (they finish the requests in hand), then kill what is left."""
        processes, self._processes = self._processes, []
        for process in processes:
            if process.is_alive() and process.pid is not None:
                try:
                    os.kill(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)

    def restart(self) -> None:
        """New processes in place of the running ones (after a reload of the configuration):
        the new ones are accepting before the old ones are told to stop."""
        old = self._processes
        self._processes = []
        self.start()
        self.wait_started(STOP_SECONDS)
        fresh, self._processes = self._processes, old
        self.stop()
        self._processes = fresh
