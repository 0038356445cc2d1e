"""Runs the embedded SecantusDB server for social-events and stops it with its parent.

Arguments: SERVER_EXECUTABLE HOST PORT STORAGE_PATH REMOVE_STORAGE(0|1) [SERVER_OPTION...]

The server stops gracefully when this process's standard input closes (the parent
exited, however it exited) or when this process receives SIGTERM or SIGINT. With
REMOVE_STORAGE=1 the storage directory is deleted afterwards (test runs), but only after
such a stop: when the server dies on its own, its files stay for the restart.
"""
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading

executable, host, port, storage, remove_storage = sys.argv[1:6]
server_options = sys.argv[6:]


def stop_with_this_process(supervisor=os.getpid()):
    """In the server, before it starts: asks Linux to send it SIGTERM when this supervisor
    dies, however it dies, so that no server outlives its supervisor and keeps the port."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != supervisor:  # the supervisor died before the request took hold
        os._exit(1)


server = subprocess.Popen(
    [executable, "--host", host, "--port", port, "--storage-path", storage, *server_options],
    stdin=subprocess.DEVNULL,
    preexec_fn=stop_with_this_process,
)
stop_requested = threading.Event()


def kill_if_still_running():
    if server.poll() is None:
        server.kill()


def stop(*_):
    """Asks the server to stop (SIGTERM) and kills it if it has not within 15 seconds.
    Never waits itself: it also runs as a signal handler, while the main thread waits."""
    stop_requested.set()
    if server.poll() is None:
        server.terminate()
        killer = threading.Timer(15, kill_if_still_running)
        killer.daemon = True
        killer.start()


def stop_when_parent_goes():
    sys.stdin.read()
    stop()


threading.Thread(target=stop_when_parent_goes, daemon=True).start()
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
code = server.wait()
if remove_storage == "1" and stop_requested.is_set():
    shutil.rmtree(storage, ignore_errors=True)
sys.exit(code)
