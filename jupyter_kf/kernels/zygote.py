"""Kernel fork server ("zygote"): import ipykernel once, fork a fresh kernel process per request.

Run as a script (``python zygote.py``) by the interpreter of the kernelspec; it needs only the
standard library and ipykernel, not jupyter_kf. Protocol: JSON lines. The zygote writes
``{"ready": true, "pid": N}`` once its imports are done, then for each request line
``{"id", "argv", "cwd", "env", "stdio"}`` it forks a child that becomes
``IPKernelApp.launch_instance(argv)`` and answers ``{"id", "pid"}`` (or ``{"id", "error"}``).

Why forking is safe here: the zygote is single-threaded and has created no zmq context, event
loop or thread before it forks (it only imported modules), so each child starts like a new
process would, without paying the ~0.3 s of imports. Each child reads its own connection file.

Lifetime: the zygote runs in its own session (Ctrl-C in the terminal reaches only the runner,
which shuts kernels down itself). When its stdin closes (the runner exited, even by SIGKILL)
it kills every kernel it forked and exits; kernels also die with the zygote (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
OVERLAY_ENV = "JUPYTER_KF_OVERLAY"  # {"lower", "upper", "work"}: see enter_overlay
# What a kernel imports while it initializes (measured: debugpy alone is ~0.12 s). Importing them
# starts no thread and creates no zmq context.
PRELOAD = [
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",  # with debugpy marked absent below: the kernels get no debugger
    "IPython.core.completer",
    "IPython.extensions",
    "jupyter_client.session",
    "sqlite3",
    "pdb",
    "pydoc",
    "gzip",
    "mimetypes",
    "unicodedata",
    "http.server",
    "jupyter_kf_converter.runtime",  # what every step notebook's load cell imports
    "cloudpickle",  # what the runtime saves most values with
    "faulthandler",
    "tornado.platform.asyncio",
]
# Step kernels are run by papermill, never debugged: without debugpy (~0.12 s of imports) the
# kernel reports no debugger. User code may still import debugpy (the mark is undone in children).
NOT_PRELOADED = ["debugpy"]
_children: set[int] = set()
_connection_files: dict[int, str] = {}  # live child -> its connection file
_ipc_dirs: set[str] = set()  # folders holding kernels' IPC socket files


def _reap(*_: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _children.discard(pid)
        _connection_files.pop(pid, None)  # its manager removed its files


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:  # not Linux: the kernel's own parent poller (JPY_PARENT_PID) still applies
        pass
    if os.getppid() != parent:  # the parent died between fork and prctl
        os._exit(1)


def enter_overlay(spec: dict) -> None:
    """Give this process (single-threaded: a fresh fork) its own mount namespace in which the
    run's folder ``spec["upper"]`` is an overlay: the snapshot's tree (``lower``, hardlinks to
    the store's objects) below, the run's folder itself above. Reads come from the objects;
    any change (write, truncate, append, chmod, rename, delete) is copied up into the run's
    folder first, so no step, root included, can change an object through it. As an ordinary
    user this needs an unprivileged user namespace (the user is mapped to itself)."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.geteuid(), os.getegid()

    def check(ok: bool, what: str) -> None:
        if not ok:
            err = ctypes.get_errno()
            raise OSError(err, f"overlay for the run's folder: {what}: {os.strerror(err)}")

    check(libc.unshare(CLONE_NEWNS if uid == 0 else CLONE_NEWNS | CLONE_NEWUSER) == 0, "unshare")
    if uid != 0:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0, "private mounts")
    work = os.path.join(spec["work"], str(os.getpid()))  # one per mount: overlay empties its own
    os.makedirs(work, exist_ok=True)
    # index=off: the run's kernels share one upper folder (steps share the run's folder).
    opts = f"lowerdir={spec['lower']},upperdir={spec['upper']},workdir={work},index=off"
    if uid != 0:
        opts += ",userxattr"
    target = spec["upper"].encode()
    check(libc.mount(b"overlay", target, b"overlay", 0, opts.encode()) == 0, "mount")


def _limit_threads() -> None:
    """A thread limit in the kernel's env (OMP_NUM_THREADS: parallel sweep trials) applies to
    the BLAS/OpenMP libraries preloaded here too: they read the variable when they loaded."""
    n = os.environ.get("OMP_NUM_THREADS")
    if not n or "numpy" not in sys.modules:
        return
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(n))
    except Exception:  # noqa: BLE001  (no threadpoolctl, or a bad value: run unlimited)
        pass


def _child(request: dict, zygote_pid: int) -> None:
    """Runs in the forked child: become a kernel; never returns."""
    code = 1
    try:
        _die_with_parent(zygote_pid)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        os.setpgid(0, 0)  # its own group: killing a kernel also kills what it spawned
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        out = (
            os.open(request["stdio"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            if request.get("stdio")
            else devnull
        )
        os.dup2(out, 1)
        os.dup2(out, 2)
        for name in NOT_PRELOADED:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
        if "numpy" in sys.modules:  # its global random state was seeded once, in the zygote
            sys.modules["numpy"].random.seed()
        os.environ.clear()
        os.environ.update(request.get("env") or {})
        os.environ["JPY_PARENT_PID"] = str(zygote_pid)
        overlay = os.environ.pop(OVERLAY_ENV, None)
        if overlay:
            enter_overlay(json.loads(overlay))
        if os.environ.get("JUPYTER_KF_WRITE_LOG"):
            _log_writes(os.environ["JUPYTER_KF_WRITE_LOG"])
        _limit_threads()
        if request.get("cwd"):
            os.chdir(request["cwd"])
        sys.argv = [sys.executable, *request["argv"]]
        sys.path[0] = ""  # like `python -m ipykernel_launcher`: the cwd comes first
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=request["argv"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _log_writes(path: str) -> None:
    """Append the absolute path of every file this kernel's Python code opens for writing (or
    renames into place) to ``path``: the runner keeps a step's files by who wrote them, not by
    when they changed (steps running at once share one folder). An audit hook (PEP 578): it sees
    open(), os.open() and os.rename/replace, not writes done in C (those fall back to timing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def hook(event: str, args: tuple) -> None:
        try:
            if event == "open":
                name, mode, flags = args
                if isinstance(name, int) or name is None:
                    return
                if not ((isinstance(mode, str) and any(c in mode for c in "wax+")) or
                        (isinstance(flags, int) and flags & _WRITE_FLAGS)):
                    return
            elif event in ("os.rename", "os.replace"):
                name = args[1]
            else:
                return
            name = os.fsdecode(name)
            if "\n" not in name:
                os.write(fd, (os.path.abspath(name) + "\n").encode("utf-8", "surrogateescape"))
        except Exception:  # an audit hook must never break the code it watches
            pass

    sys.addaudithook(hook)


def _preload(names: list[str]) -> dict:
    """Import modules that the pipeline's steps import. The runner sends only fork-safe ones
    (numpy, pandas, scikit-learn...: their native thread pools handle fork). Python threads are
    still not allowed: once one exists, nothing more is imported (reported as failed)."""
    import gc
    import threading

    done, failed = [], []
    for name in names:
        if threading.active_count() != 1:
            failed.append(f"{name}: a thread is running")
            continue
        try:
            __import__(name)
            done.append(name)
        except BaseException as exc:  # broken or absent: the kernel will say so itself
            failed.append(f"{name}: {type(exc).__name__}")
    gc.collect()
    gc.freeze()
    return {"preloaded": done, "failed": failed}


def main() -> None:
    os.setsid()
    del sys.path[0]  # this script's folder: modules are found as a kernel finds them
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    proto_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints must never corrupt the protocol stream
    # The expensive part, done once. None of these start threads or create a zmq context.
    for name in NOT_PRELOADED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    for name in [*PRELOAD, *sys.argv[1:]]:  # extra modules may be named on the command line
        try:
            __import__(name)
        except ImportError:
            pass
    if len(os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else [0]) != 1:
        raise RuntimeError("the kernel fork server must be single-threaded before it forks")
    import gc

    gc.collect()
    gc.freeze()  # children's collections then skip the zygote's objects: fewer copy-on-write faults
    signal.signal(signal.SIGCHLD, _reap)
    me = os.getpid()
    proto_out.write(json.dumps({"ready": True, "pid": me}) + "\n")
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        if "preload" in request:
            proto_out.write(json.dumps({"id": request.get("id"), **_preload(request["preload"])}) + "\n")
            continue
        try:
            pid = os.fork()
        except OSError as exc:
            proto_out.write(json.dumps({"id": request.get("id"), "error": str(exc)}) + "\n")
            continue
        if pid == 0:
            proto_out.close()
            _child(request, me)
        _children.add(pid)
        argv = request.get("argv") or []
        if "-f" in argv[:-1]:
            _connection_files[pid] = argv[argv.index("-f") + 1]
            _note_ipc_dir(_connection_files[pid])
        proto_out.write(json.dumps({"id": request.get("id"), "pid": pid}) + "\n")
    live = [(pid, _connection_files.get(pid)) for pid in list(_children)]
    for pid, _ in live:  # the runner is gone: leave nothing behind
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for _, conn_file in live:
        if conn_file:
            _remove_kernel_files(conn_file)
    for folder in _ipc_dirs:  # the runner's socket folders: every kernel of it is gone now
        _clear_socket_folder(folder)


def _remove_kernel_files(conn_file: str) -> None:
    """A killed kernel's connection file and IPC socket files (its manager may be gone too)."""
    try:
        with open(conn_file) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return
    paths = [conn_file]
    if info.get("transport") == "ipc":
        paths += [
            f"{info['ip']}-{info[k]}"
            for k in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
            if k in info
        ]
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


def _note_ipc_dir(conn_file: str) -> None:
    try:
        with open(conn_file) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return
    if info.get("transport") == "ipc" and info.get("ip"):
        _ipc_dirs.add(os.path.dirname(info["ip"]))


def _clear_socket_folder(folder: str) -> None:
    try:
        for entry in os.scandir(folder):
            if entry.is_socket():
                os.unlink(entry.path)
        os.rmdir(folder)
    except OSError:
        pass


if __name__ == "__main__":
    main()
