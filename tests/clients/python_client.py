"""A Python `websockets` client of social-events, run by tests/api/python_client.rs.

Connects with the library's defaults (it offers permessage-deflate), prints the agreed
extensions and `connected`, then prints the title of every `social:sessionUpdated` push
it receives until one named by the first argument arrives, and exits 0. Arguments: the
WebSocket URL (with its token) and the title awaited.
"""

import asyncio
import json
import sys

from websockets.asyncio.client import connect


async def main(url: str, awaited: str) -> None:
    async with connect(url, max_size=None) as socket:
        extensions = [extension.name for extension in socket.protocol.extensions]
        print("extensions", ",".join(extensions), flush=True)
        print("connected", flush=True)
        async for text in socket:
            frame = json.loads(text)
            if frame.get("endpoint") != "social:sessionUpdated":
                continue
            title = frame["data"]["session"]["title"]
            print("pushed", title, flush=True)
            if title == awaited:
                return


asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), timeout=30))
