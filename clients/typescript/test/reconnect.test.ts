// A dropped connection: the client reconnects by itself, receives the pushes it missed
// meanwhile (`resumeAfter`), sends again the requests that were in flight with their
// `event.id` (so a write is done once), and reports `social:resync` when the pushes
// cannot be resumed.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';

import { WebSocket } from 'ws';

import { SocialEventsClient, type ConnectionState } from '../src/index.js';
import { ADMIN, MEMBER, Relay, WS_URL, client, first, token, uniqueUser } from './service.js';

const HOUR = 3_600_000;

function session(title: string) {
  return {
    roomId: 'hall',
    propId: `table-${randomUUID()}`,
    title,
    startDate: new Date(Date.now() + HOUR).toISOString(),
    duration: 1800,
  };
}

test('after a dropped connection the pushes missed meanwhile arrive', async () => {
  const relay = await Relay.start();
  const owner = await client(ADMIN);
  const guest = await client(MEMBER, { url: relay.url });
  try {
    const invited = first<number>(
      (report) => guest.on('social:sessionUpdated', (update) => report(update.session.version)),
      'the invitation',
    );
    const { session: created } = await owner.request('social:createSession', {
      session: session('Standup'),
      usersToInvite: [{ userId: MEMBER }],
    });
    await invited;
    const numberBefore = guest.lastPush;
    assert.ok(numberBefore, 'the push number is kept');

    const states: ConnectionState[] = [];
    guest.onState((state) => states.push(state));
    const reconnected = first<ConnectionState>(
      (report) => guest.onState((state) => state === 'open' && report(state)),
      'the reconnection',
    );
    relay.cut();
    // Changed while the guest is away (or reconnecting): the guest hears of it once back.
    const missed = first<string>(
      (report) =>
        guest.on('social:sessionUpdated', (update) => update.session.title === 'Standup, moved' && report(update.session.title)),
      'the missed push',
    );
    await owner.request('social:updateSession', { session: { id: created.id, title: 'Standup, moved' } });
    await reconnected;
    assert.equal(await missed, 'Standup, moved');
    assert.deepEqual(states.slice(0, 1), ['reconnecting']);
    assert.notEqual(guest.lastPush, numberBefore);
    const after = await guest.request('social:getSession', { sessionId: created.id });
    assert.equal(after.session.title, 'Standup, moved');
  } finally {
    owner.close();
    guest.close();
    relay.close();
  }
});

test('a write in flight when the connection drops is sent again and done once', async () => {
  const relay = await Relay.start();
  const user = uniqueUser('writer');
  const writer = await client(user, { url: relay.url });
  try {
    const fields = session('Retried');
    const eventId = randomUUID();
    const answer = writer.request('social:createSession', { session: fields }, { eventId });
    relay.cut();
    const { session: created } = await answer;
    assert.equal(created.title, 'Retried');
    // The same request again (as an application retrying it would): the first answer.
    const again = await writer.request('social:createSession', { session: fields }, { eventId });
    assert.equal(again.session.id, created.id, 'a retry is answered with the first answer');
    const atProp = await writer.request('social:getPropSessions', { roomId: fields.roomId, propId: fields.propId });
    assert.deepEqual(
      atProp.sessions.map((listed) => listed.id),
      [created.id],
      'one session was created',
    );
  } finally {
    writer.close();
    relay.close();
  }
});

test('pushes that cannot be resumed are reported with social:resync', async () => {
  const returning = new SocialEventsClient({
    url: WS_URL,
    token: token(uniqueUser('returning')),
    WebSocket,
    resumeAfter: '9007199254740000',
  });
  const resynced = first<string>((report) => returning.on('social:resync', () => report('resync')), 'social:resync');
  try {
    await returning.open();
    assert.equal(await resynced, 'resync');
  } finally {
    returning.close();
  }
});
