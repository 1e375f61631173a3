"""Starting the real Needletail binary and a real redis-server on free ports, for the
compatibility tests and the fuzzers."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary():
    if os.environ.get("NEEDLETAIL_BINARY"):
        return os.environ["NEEDLETAIL_BINARY"]
    candidates = [os.path.join(ROOT, ".build", c, "needletail") for c in ("release", "debug")]
    existing = [c for c in candidates if os.path.exists(c)]
    if not existing:
        raise RuntimeError("build Needletail first (swift build -c release)")
    return max(existing, key=os.path.getmtime)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A server process with its own port and directory; stopped and removed at teardown."""

    def __init__(self, argv_for, name):
        self.name = name
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"compat-{name}-")
        self.log_path = os.path.join(self.dir, "server.log")
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(argv_for(self.port, self.dir), cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64):
                        return
            except OSError:
                time.sleep(0.05)
        log = self.log()
        self.stop()
        raise RuntimeError(f"{name} did not start:\n{log}")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_needletail(*extra):
    return Process(lambda port, d: [binary(), "--port", str(port), "--dir", d, "--save", "", *extra], "needletail")


def start_redis(*extra):
    return Process(lambda port, d: ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no", *extra], "redis")
