"""Run the fake model server in its own process.

    python -m tests.fakeserver --port 0 --latency-ms 50

The first stdout line is `PORT <n>`, so a parent process can read where it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from aiohttp import web

from tests.fakeserver.app import FakeModel


async def serve(host: str, port: int, latency_ms: float) -> None:
    """Serve until SIGTERM/SIGINT, announcing the bound port on stdout."""
    runner = web.AppRunner(FakeModel(latency_ms).app(), access_log=None)
    await runner.setup()
    # A short shutdown grace: "hang" requests would otherwise hold the exit for a minute.
    site = web.TCPSite(runner, host, port, backlog=1024, shutdown_timeout=0.2)
    await site.start()
    bound = runner.addresses[0][1]
    sys.stdout.write(f"PORT {bound}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Parse flags and serve."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakeserver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.latency_ms))


if __name__ == "__main__":
    main()
