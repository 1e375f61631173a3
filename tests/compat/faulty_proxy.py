"""A TCP proxy between a replica and its master that damages what the master sends while
keeping the connection open: it swallows bytes, cuts them out of the middle of a chunk, or
(in random mode) drops, duplicates and corrupts chunks of the stream."""
import random
import socket
import threading


class FaultyProxy:
    def __init__(self, target_port, seed=0):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.swallowing = False
        self.cut = None            # (skip, length): drop `length` bytes after `skip` bytes of the next chunk
        self.random = None         # (loss, duplicate, corrupt) probabilities per chunk
        self.rng = random.Random(seed)
        self.connections = 0
        self.damaged = 0
        self.closed = False
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.connections += 1
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _damage(self, chunk):
        with self.lock:
            if self.swallowing:
                self.damaged += 1
                return b""
            if self.cut is not None:
                skip, length = self.cut
                if len(chunk) > skip + length:
                    self.cut = None
                    self.damaged += 1
                    return chunk[:skip] + chunk[skip + length:]
                return chunk
            # Random damage is aimed at the stream: chunks carrying the handshake's replies
            # pass intact (damage there is Redis's problem too, and may cost a full resync).
            handshake = any(mark in chunk for mark in (b"+PONG", b"+OK", b"+CONTINUE", b"+FULLRESYNC", b"$EOF:"))
            if self.random is not None and not handshake:
                loss, duplicate, corrupt = self.random
                roll = self.rng.random()
                if roll < loss:
                    self.damaged += 1
                    return b""
                if roll < loss + duplicate:
                    self.damaged += 1
                    return chunk + chunk
                if roll < loss + duplicate + corrupt:
                    self.damaged += 1
                    position = self.rng.randrange(len(chunk))
                    return chunk[:position] + bytes([chunk[position] ^ 0x20]) + chunk[position + 1:]
            return chunk

    def _pump(self, source, destination, from_master):
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                if from_master:
                    chunk = self._damage(chunk)
                if chunk:
                    destination.sendall(chunk)
        except OSError:
            pass
        for s in (source, destination):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.close()
                except OSError:
                    pass
