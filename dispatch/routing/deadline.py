"""A solve under a hard deadline: :func:`solve_within` runs :func:`~dispatch.routing.solve` in a child
process and kills it when it overruns.

Why a process, and not a signal or a thread: OR-Tools' search is C++ called from Python without
releasing the GIL. A loop inside it (issue 15: ``PickRandomPerformedVisit`` spinning in the
iterated local search) never returns to the interpreter, so ``SIGALRM`` handlers (RQ's
``job_timeout`` in the work horse, pytest-timeout's signal method) never run, and no watchdog
thread can run either (measured: pytest-timeout's thread method did not fire in 90 s). Only the
kernel can stop such a loop. So the solve runs in a child, the caller waits on a pipe with a
timeout (waiting releases the GIL) and ``SIGKILL``s the child at ``time_limit_s + grace``. Two more
guards make sure a stuck child never outlives its caller: the child asks the kernel to kill it
when its parent dies (``PR_SET_PDEATHSIG``, Linux), and arms ``SIGALRM`` with the default action
(terminate) for just after the deadline, which needs no Python code to run. RQ's ``job_timeout``
(its worker ``SIGKILL``s a work horse 60 s past it) stays the outermost backstop.

How the child starts: forked when the caller has a single thread (an RQ work horse: the engine
is already imported, a fork costs milliseconds); otherwise as a fresh interpreter
(``python -m dispatch.routing.deadline``, about 0.2 s to import the engine), because forking a
threaded process (a web server running tasks inline, a test run with a watchdog thread) can copy
a lock another thread holds. The fresh interpreter gets the caller's import path.

Payloads cross a pipe pickled: a 600-visit problem is a few megabytes and a few milliseconds.
"""

from __future__ import annotations

import ctypes
import importlib
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dispatch.routing.backend import ENGINE
from dispatch.routing.problem import RoutingProblem
from dispatch.routing.result import RoutingResult
from dispatch.routing.solver import SolveParams, solve

#: The hard deadline is the solver's own time limit plus this many seconds plus this share of it:
#: room for starting the child, building the model and decoding under load, never for searching.
GRACE_S = 5.0
GRACE_SHARE = 0.2

#: The child kills itself (kernel SIGALRM, default action) this long after the caller's deadline.
_SELF_DESTRUCT_AFTER_S = 2

_PR_SET_PDEATHSIG = 1


class SolveTimeout(RuntimeError):
    """The solve did not return by its hard deadline and was killed."""


class SolveCrashed(RuntimeError):
    """The child process died without an answer (killed by the system, out of memory, a crash)."""


def hard_deadline_s(time_limit_s: float) -> float:
    """Seconds after which a solve with ``time_limit_s`` is killed."""
    return time_limit_s + GRACE_S + GRACE_SHARE * time_limit_s


def solve_within(
    problem: RoutingProblem,
    time_limit_s: float,
    seed: int = 0,
    initial_routes: Mapping[str, Sequence[str]] | None = None,
    params: SolveParams | None = None,
    *,
    deadline_s: float | None = None,
    start: str | None = None,
    searches: int = 1,
) -> RoutingResult:
    """:func:`~dispatch.routing.solve` in a child process, killed after ``deadline_s``.

    ``deadline_s`` defaults to :func:`hard_deadline_s` of ``time_limit_s``. With ``searches`` > 1,
    that many searches run at once, each in its own process with its own seed (``seed``,
    ``seed + 1``, ...), and the plan serving the most visits at the lowest objective wins: a
    portfolio for a worker with spare cores (the search varies a lot from seed to seed; the best
    of two is better than either on average). Only when none of them answers does it raise. Raises
    :class:`SolveTimeout` when the child overran (it is dead by then), :class:`SolveCrashed` when
    it died without answering, and re-raises whatever ``solve`` raised (``ValueError``,
    :class:`~dispatch.routing.RoutingInvariantError`).
    """
    limit = hard_deadline_s(time_limit_s) if deadline_s is None else deadline_s
    initial = None if initial_routes is None else {key: list(value) for key, value in initial_routes.items()}
    if searches < 1:
        raise ValueError(f"searches must be >= 1, got {searches}")
    if searches == 1:
        return call_within(solve, (problem, time_limit_s, seed, initial, params), limit, start=start)
    calls = [(problem, time_limit_s, seed + k, initial, params) for k in range(searches)]
    answers = call_all_within(solve, calls, limit, start=start)
    results = [answer for succeeded, answer in answers if succeeded]
    if not results:
        raise answers[0][1]
    return min(results, key=lambda result: (len(result.unassigned), result.objective))


def call_all_within(
    target: Callable[..., Any], calls: Sequence[tuple[Any, ...]], deadline_s: float, *, start: str | None = None
) -> list[tuple[bool, Any]]:
    """``target(*args)`` for every ``args`` of ``calls``, each in its own child process, all at once.

    Every child is killed after ``deadline_s`` seconds. Returns, in order, ``(True, value)`` for
    each call that answered and ``(False, exception)`` for each that raised, overran
    (:class:`SolveTimeout`) or died (:class:`SolveCrashed`). ``start`` as for :func:`call_within`.
    """
    if start is None:
        start = "fork" if sys.platform == "linux" and threading.active_count() == 1 else "exec"
    if start == "fork":
        return _all_forked(target, calls, deadline_s)
    if start != "exec":
        raise ValueError(f"start must be 'fork' or 'exec', got {start!r}")
    # Fresh interpreters: one thread per child waits on its pipe (waiting releases the GIL).
    answers: list[tuple[bool, Any]] = [(False, _timed_out(deadline_s))] * len(calls)

    def wait(k: int) -> None:
        try:
            answers[k] = _executed(target, calls[k], deadline_s)
        except (SolveTimeout, SolveCrashed) as exc:
            answers[k] = (False, exc)

    threads = [threading.Thread(target=wait, args=(k,), name=f"routing-solve-{k}") for k in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def call_within(
    target: Callable[..., Any], args: tuple[Any, ...], deadline_s: float, *, start: str | None = None
) -> Any:
    """``target(*args)`` in a child process killed after ``deadline_s`` seconds (see the module).

    ``target`` and ``args`` must pickle (a module-level function, plain data). ``start`` forces
    ``"fork"`` or ``"exec"`` (a fresh interpreter); by default fork when single-threaded.
    """
    if start is None:
        start = "fork" if sys.platform == "linux" and threading.active_count() == 1 else "exec"
    if start == "fork":
        succeeded, payload = _forked(target, args, deadline_s)
    elif start == "exec":
        succeeded, payload = _executed(target, args, deadline_s)
    else:
        raise ValueError(f"start must be 'fork' or 'exec', got {start!r}")
    if not succeeded:
        raise payload
    return payload


def _timed_out(deadline_s: float) -> SolveTimeout:
    return SolveTimeout(
        f"the solver did not return within its hard deadline of {deadline_s:.0f} s and was stopped"
    )


def _forked(target: Callable[..., Any], args: tuple[Any, ...], deadline_s: float) -> tuple[bool, Any]:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_forked_child, args=(sender, target, args, deadline_s), name="routing-solve", daemon=True
    )
    child.start()
    sender.close()
    try:
        if not receiver.poll(deadline_s):
            raise _timed_out(deadline_s)
        try:
            return pickle.loads(receiver.recv_bytes())
        except EOFError:
            child.join(1.0)
            raise SolveCrashed(
                f"the solver process died without an answer (exit code {child.exitcode})"
            ) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()


def _all_forked(
    target: Callable[..., Any], calls: Sequence[tuple[Any, ...]], deadline_s: float
) -> list[tuple[bool, Any]]:
    """Fork one child per call (from this, the only thread), then wait for all of their answers."""
    context = multiprocessing.get_context("fork")
    children = []
    for k, args in enumerate(calls):
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_forked_child, args=(sender, target, args, deadline_s), name=f"routing-solve-{k}", daemon=True
        )
        child.start()
        sender.close()
        children.append((receiver, child))
    answers: list[tuple[bool, Any]] = [(False, _timed_out(deadline_s))] * len(calls)
    ends = time.monotonic() + deadline_s
    waiting = {receiver: k for k, (receiver, _) in enumerate(children)}
    try:
        while waiting and (left := ends - time.monotonic()) > 0:
            for receiver in multiprocessing.connection.wait(list(waiting), timeout=left):
                k = waiting.pop(receiver)
                try:
                    answers[k] = pickle.loads(receiver.recv_bytes())
                except EOFError:
                    child = children[k][1]
                    child.join(1.0)
                    answers[k] = (False, SolveCrashed(
                        f"the solver process died without an answer (exit code {child.exitcode})"))
    finally:
        for receiver, child in children:
            if child.is_alive():
                child.kill()
            child.join()
            receiver.close()
    return answers


def _executed(target: Callable[..., Any], args: tuple[Any, ...], deadline_s: float) -> tuple[bool, Any]:
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    child = subprocess.Popen(
        [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment
    )
    try:
        answer, _ = child.communicate(pickle.dumps((target, args, deadline_s)), timeout=deadline_s)
    except subprocess.TimeoutExpired:
        raise _timed_out(deadline_s) from None
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    if not answer:
        raise SolveCrashed(f"the solver process died without an answer (exit code {child.returncode})")
    return pickle.loads(answer)


def _outcome(target: Callable[..., Any], args: tuple[Any, ...], deadline_s: float) -> bytes:
    """In the child: guard against outliving the caller, call ``target``, pickle what happened."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(math.ceil(deadline_s) + _SELF_DESTRUCT_AFTER_S)
    try:
        outcome: tuple[bool, Any] = (True, target(*args))
    except Exception as exc:  # noqa: BLE001 - handed to the caller, who re-raises it
        outcome = (False, exc)
    try:
        return pickle.dumps(outcome)
    except Exception as exc:  # noqa: BLE001 - an answer that does not pickle is still an answer
        return pickle.dumps((False, RuntimeError(f"the solver's answer could not be sent back: {exc!r}")))


def _forked_child(sender: Any, target: Callable[..., Any], args: tuple[Any, ...], deadline_s: float) -> None:
    sender.send_bytes(_outcome(target, args, deadline_s))
    sender.close()


def _main() -> None:
    """``python -m dispatch.routing.deadline``: the fresh-interpreter child (pickles on stdin/stdout)."""
    importlib.import_module(ENGINE)  # before the clock starts, as a work horse has it preloaded
    target, args, deadline_s = pickle.loads(sys.stdin.buffer.read())
    with os.fdopen(os.dup(1), "wb") as out:
        os.dup2(2, 1)  # anything the engine prints goes to stderr, never into the answer
        out.write(_outcome(target, args, deadline_s))


if __name__ == "__main__":
    _main()
