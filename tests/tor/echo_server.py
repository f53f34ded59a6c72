"""A loopback echo server run as a subprocess by the tor-tier fixtures.

A subprocess rather than a thread because the suite's per-test leak check forbids Python
threads outliving a test, and the onion published for it lives for the whole session.
Prints its port on the first stdout line, then echoes every connection until killed.
"""

import socketserver


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True


if __name__ == "__main__":
    with EchoServer(("127.0.0.1", 0), EchoHandler) as server:
        print(server.server_address[1], flush=True)
        server.serve_forever()
