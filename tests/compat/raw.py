"""A raw RESP client: sends commands and returns each reply's exact bytes."""
import socket


class RawClient:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def close(self):
        self.sock.close()

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            if isinstance(arg, str):
                arg = arg.encode()
            elif isinstance(arg, int):
                arg = str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
        return b"".join(out)

    def send_raw(self, data):
        self.sock.sendall(data)

    def command(self, *args):
        self.sock.sendall(self.encode(args))
        return self.read_reply()

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed")
        self.buffer += chunk

    def _line(self, start):
        while True:
            end = self.buffer.find(b"\r\n", start)
            if end >= 0:
                return end
            self._fill()

    def _reply_end(self, start):
        """Index just past the reply starting at `start` (reading more as needed)."""
        end = self._line(start)
        kind, header = self.buffer[start:start + 1], self.buffer[start + 1:end]
        after = end + 2
        if kind in (b"+", b"-", b":", b",", b"#", b"_", b"("):
            return after
        if kind in (b"$", b"=", b"!"):
            length = int(header)
            if length < 0:
                return after
            while len(self.buffer) < after + length + 2:
                self._fill()
            return after + length + 2
        if kind in (b"*", b"~", b">", b"%", b"|"):
            count = int(header)
            if kind in (b"%", b"|"):
                count *= 2
            position = after
            for _ in range(max(count, 0)):
                position = self._reply_end(position)
            return position
        raise ValueError(f"bad reply byte {kind!r} in {self.buffer[start:start + 80]!r}")

    def read_reply(self):
        end = self._reply_end(0)
        reply, self.buffer = self.buffer[:end], self.buffer[end:]
        return reply

    def read_all_until_closed(self):
        while True:
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError:
                break
            if not chunk:
                break
            self.buffer += chunk
        data, self.buffer = self.buffer, b""
        return data
