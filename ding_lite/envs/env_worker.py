"""Env worker processes: the loop a worker runs, and the parent's handle on one worker.

A worker builds its envs itself, from the env config, with :func:`~ding_lite.envs.manager.make_env`; no env
object ever crosses a process boundary. It receives (by multiprocessing's pickling, between our own
processes only) a :class:`WorkerSpec`: the env config as plain dicts, lists and scalars, and the env class
or ``env_fn`` by reference (its module and name, which the worker imports). Then it answers requests, one
at a time, on its pipe:

=================================  =========================================================================
request                            answer
=================================  =========================================================================
``('step', [action, ...])``        ``('ok', [(reward, terminated, truncated, extras), ...])``; observations
                                   go to the ``step`` bank (:mod:`ding_lite.envs.obs_slots`); ``extras`` is
                                   the env's ``last_episode_extras`` where the episode ended, else None
``('reset', [(row, seed), ...])``  ``('ok', None)``: env ``row`` seeded (when ``seed`` is not None) and reset,
                                   its observation in the ``reset`` bank
``('seed', [seed, ...])``          ``('ok', None)``
``('state', None)``                ``('ok', [env.state_dict(), ...])``
``('load', [state, ...])``         ``('ok', None)``
``('close', None)``                none: the worker closes its envs and exits
=================================  =========================================================================

Actions, rewards and states are small python values. ``row`` is the env's manager index. After building its
envs a worker sends ``('ready', None)``. An exception in an env is answered with ``('error', row, text)``
(``row`` None when no env was involved) and ends the worker; the manager replaces it. A worker exits when
its pipe closes (the manager is gone), and ignores SIGINT: Ctrl-C reaches the manager, which shuts it down.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from ding_lite.envs.base import BaseEnv
from ding_lite.envs.obs_slots import Layout, ObsSlots


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to build its envs: plain data and references only."""

    env_cfg: dict[str, Any]
    env_cls: type[BaseEnv] | None
    env_fn: Callable[[], Any] | None
    rows: tuple[int, ...]
    shm_name: str
    layout: Layout
    env_num: int


@dataclass(frozen=True)
class Failure:
    """Why a worker failed; ``row`` is the env that raised, None when the worker died or hung."""

    row: int | None
    reason: str


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """The worker process: build the envs, then answer requests until ``close`` or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    host = _Host(spec)
    try:
        host.build()
        conn.send(("ready", None))
        while True:
            try:
                command, arg = conn.recv()
            except (EOFError, OSError):
                break
            if command == "close":
                break
            conn.send(("ok", host.answer(command, arg)))
    except Exception as err:  # the manager reports it and replaces this worker
        traceback.print_exc()
        conn.send(("error", host.row, f"{type(err).__name__}: {err}"))
        return
    host.close()


class _Host:
    """The envs of one worker; ``row`` is the env a request is at (None between requests), for blame."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.row: int | None = None
        self.envs: dict[int, BaseEnv] = {}
        self.slots: ObsSlots | None = None

    def build(self) -> None:
        from ding_lite.envs.manager import make_env  # the manager module imports this one

        spec = self.spec
        self.slots = ObsSlots.attach(spec.shm_name, spec.layout, spec.env_num)
        for row in spec.rows:
            self.row = row
            self.envs[row] = make_env(spec.env_cfg, spec.env_fn, spec.env_cls)
        self.row = None

    def answer(self, command: str, arg: Any) -> Any:
        """Carry out one request (module docstring); returns the answer's payload."""
        slots, rows = self.slots, self.spec.rows
        assert slots is not None
        reply: Any = None
        if command == "step":
            reply = [self._step(row, action, slots) for row, action in zip(rows, arg, strict=True)]
        elif command == "reset":
            for row, seed in arg:
                self.row = row
                if seed is not None:
                    self.envs[row].seed(seed)
                slots.write("reset", row, self.envs[row].reset())
        elif command == "seed":
            for row, seed in zip(rows, arg, strict=True):
                self.row = row
                self.envs[row].seed(seed)
        elif command == "state":
            reply = [self.envs[row].state_dict() for row in rows]
        elif command == "load":
            for row, state in zip(rows, arg, strict=True):
                self.row = row
                self.envs[row].load_state_dict(state)
        else:
            raise ValueError(f"unknown worker request {command!r}")
        self.row = None
        return reply

    def _step(self, row: int, action: Any, slots: ObsSlots) -> tuple[Any, bool, bool, dict[str, float] | None]:
        self.row = row
        env = self.envs[row]
        obs, reward, terminated, truncated = env.step(action)
        slots.write("step", row, obs)
        extras = getattr(env, "last_episode_extras", None) if terminated or truncated else None
        return reward, bool(terminated), bool(truncated), None if extras is None else dict(extras)

    def close(self) -> None:
        for env in self.envs.values():
            env.close()
        if self.slots is not None:
            self.slots.close()


class Worker:
    """The parent's handle on one worker process hosting the envs ``spec.rows``."""

    def __init__(self, ctx: BaseContext, spec: WorkerSpec) -> None:
        self.spec = spec
        self.conn, child_conn = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(  # type: ignore[attr-defined]
            target=worker_main, args=(child_conn, spec), name=f"ding-env-worker-{spec.rows[0]}", daemon=True
        )
        self.process.start()
        child_conn.close()

    @property
    def rows(self) -> tuple[int, ...]:
        return self.spec.rows

    def send(self, command: str, arg: Any = None) -> None:
        """Send a request; a worker that already died is found by :func:`gather`."""
        with contextlib.suppress(OSError):  # BrokenPipeError and ConnectionResetError are OSErrors
            self.conn.send((command, arg))

    def finish(self, grace: float = 1.0) -> None:
        """Wait up to ``grace`` seconds for the worker to exit (after a ``close`` request), then kill it."""
        self.process.join(grace)
        self.kill()

    def kill(self) -> None:
        """Kill the process (SIGKILL) and reap it; idempotent."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()

    def death(self, during: str) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        how = f"was killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exited ({code})"
        return f"its worker {how} during {during}"


def gather(workers: Sequence[Worker], timeout: float | None, during: str) -> tuple[dict[int, Any], dict[int, Failure]]:
    """The answers of the workers (by position in ``workers``) to their last request, waiting at most
    ``timeout`` seconds (None: without limit); workers that raised, died or did not answer are failures."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pending = dict(enumerate(workers))
    replies: dict[int, Any] = {}
    failures: dict[int, Failure] = {}
    while pending:
        waitables: dict[Any, int] = {}
        for k, worker in pending.items():
            waitables[worker.conn] = k
            waitables[worker.process.sentinel] = k
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready = wait(list(waitables), remaining)
        if not ready:
            for k in pending:
                failures[k] = Failure(None, f"it did not answer {during} within {timeout:g} s")
            break
        for obj in ready:
            k = waitables[obj]
            if k not in pending:  # its pipe and its sentinel were both ready
                continue
            worker = pending.pop(k)
            try:
                answer = worker.conn.recv() if worker.conn.poll() else None
            except (EOFError, OSError):
                answer = None
            if answer is None:
                failures[k] = Failure(None, worker.death(during))
            elif answer[0] == "error":
                failures[k] = Failure(answer[1], f"{during} raised {answer[2]}")
            else:
                replies[k] = answer[1]
    return replies, failures


def worker_context(name: str) -> BaseContext:
    """The start method the ``context`` key names; 'fork' runs as 'forkserver': a forked copy of a process
    running torch threads can deadlock."""
    method = "forkserver" if name == "fork" else name
    if method not in multiprocessing.get_all_start_methods():
        method = "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["ding_lite.envs"])  # workers fork from a process that imported the envs
    return ctx


def shutdown(workers: Sequence[Worker]) -> None:
    """Ask every worker to exit, then reap each (killing those still running after a second)."""
    for worker in workers:
        worker.send("close")
    for worker in workers:
        worker.finish()
