// permessage-deflate with Node's `ws` (which offers it by default, as browsers do): agreed
// with no context takeover either way, and a large request (which `ws` compresses) and
// its answer go through compressed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';

import { NETWORK, WS_URL, first, token, uniqueUser } from './service.js';

test('compression is agreed and compressed frames go both ways', async () => {
  const socket = new WebSocket(`${WS_URL}?token=${token(uniqueUser('compressing'))}`);
  const upgraded = new Promise<string | undefined>((resolve, reject) => {
    socket.on('upgrade', (response) => resolve(response.headers['sec-websocket-extensions']));
    socket.on('error', reject);
  });
  const opened = new Promise((resolve) => socket.on('open', resolve));
  assert.equal(await upgraded, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  await opened;
  assert.equal(socket.extensions, 'permessage-deflate');
  const answer = first<{ event: { id: string }; error: { code: number }; data: { events: unknown[] } }>((report) => {
    const listener = (data: Buffer) => report(JSON.parse(data.toString()));
    socket.on('message', listener);
    return () => socket.off('message', listener);
  }, 'the answer');
  // Over `ws`'s threshold (1 KiB): sent compressed.
  const padding = 'x'.repeat(4096);
  socket.send(JSON.stringify({ endpoint: 'social:getEvents', data: { source: `network:${NETWORK}`, padding }, event: { id: 'big' } }));
  const received = await answer;
  assert.equal(received.event.id, 'big');
  assert.equal(received.error.code, 0);
  socket.close();
});
