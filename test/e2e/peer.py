"""A real WebSocket peer for statewire's end-to-end tests.

Usage: /usr/bin/python3 peer.py URL [MESSAGE]

Connects to URL, sends MESSAGE (default "hello"), prints the reply, then waits
for the server to close the connection and prints "closed <code>". Uses
websockets' sync client where the installed version has it (11+), else the
asyncio client (Debian bookworm ships 10.4). Every wait is bounded; a timeout
prints "timeout" and exits 1.
"""

import sys

TIMEOUT_S = 30

url = sys.argv[1]
message = sys.argv[2] if len(sys.argv) > 2 else "hello"


def say(line):
    print(line, flush=True)


try:
    from websockets.sync.client import connect as sync_connect
except ImportError:
    sync_connect = None


def run_sync():
    from websockets.exceptions import ConnectionClosed

    with sync_connect(url, open_timeout=TIMEOUT_S) as ws:
        ws.send(message)
        say(ws.recv(timeout=TIMEOUT_S))
        try:
            while True:
                ws.recv(timeout=TIMEOUT_S)
        except ConnectionClosed:
            pass
        say(f"closed {ws.close_code}")


async def run_async():
    import asyncio
    import websockets

    async with websockets.connect(url, open_timeout=TIMEOUT_S) as ws:
        await ws.send(message)
        say(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT_S)
        say(f"closed {ws.close_code}")


def main():
    try:
        if sync_connect is not None:
            run_sync()
        else:
            import asyncio

            asyncio.run(run_async())
    except TimeoutError:
        say("timeout")
        return 1
    except Exception as error:  # noqa: BLE001 - report any failure as one line
        say(f"error {type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
