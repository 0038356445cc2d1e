// Every endpoint once, through the typed client against the real service, and the
// pushes they cause: an event's life (create, publish, read, list, update, delete) and a
// session's (create with an invitee, read, list, invite, join, decline, uninvite, the
// prop board read and watched, the calendar feed, update, delete).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';

import { SocialEventsError, type NewSession } from '../src/index.js';
import { ADMIN, MEMBER, NETWORK, client, first } from './service.js';

const HOUR = 3_600_000;

test('every endpoint answers its typed data, and its pushes arrive typed', async () => {
  const admin = await client(ADMIN);
  const member = await client(MEMBER);
  try {
    const source = `network:${NETWORK}`;
    const start = new Date(Date.now() + HOUR);
    const { event } = await admin.request('social:createEvent', {
      source,
      event: {
        title: 'Launch',
        startDate: start.toISOString(),
        endDate: new Date(start.getTime() + 24 * HOUR).toISOString(),
        roomId: 'hall',
      },
    });
    assert.equal(event.title, 'Launch');
    assert.equal(event.status, 0);
    const published = await admin.request('social:publishEvent', { eventId: event.id });
    assert.equal(published.event.status, 1);
    const read = await member.request('social:getEvent', { eventId: event.id });
    assert.equal(read.event.id, event.id);
    const listed = await member.request('social:getEvents', { source, limit: 10 });
    assert.ok(listed.events.some((listedEvent) => listedEvent.id === event.id));
    const updated = await admin.request('social:updateEvent', { eventId: event.id, event: { description: 'Spring' } });
    assert.equal(updated.event.description, 'Spring');

    const prop = { roomId: 'hall', propId: `stage-${randomUUID()}` };
    const watched = await member.request('social:watchProp', prop);
    assert.deepEqual(watched.sessions, []);
    const board = first<string[]>(
      (report) => member.on('social:propSessionsUpdated', (update) => report(update.sessions.map((listed) => listed.title))),
      'social:propSessionsUpdated',
    );
    const fields: NewSession = {
      eventId: event.id,
      ...prop,
      title: 'Keynote',
      startDate: start.toISOString(),
      duration: 3600,
    };
    const invited = first<string>(
      (report) => member.on('social:sessionUpdated', (update, info) => report(`${update.session.title} ${info.number ?? ''}`)),
      'social:sessionUpdated',
    );
    const { session } = await admin.request('social:createSession', {
      session: fields,
      usersToInvite: [{ userId: MEMBER, role: 1 }],
    });
    assert.match(await invited, /^Keynote \d+$/, 'a push carries its number');
    assert.deepEqual(await board, ['Keynote']);
    const unwatched = await member.request('social:unwatchProp', prop);
    assert.deepEqual(unwatched, {});

    const seen = await member.request('social:getSession', { sessionId: session.id });
    assert.equal(seen.session.invitedUsers[0]?.user.id, MEMBER);
    const sessions = await member.request('social:getSessions', { eventId: event.id });
    assert.deepEqual(sessions.sessions.map((listed) => listed.id), [session.id]);
    const atProp = await member.request('social:getPropSessions', prop);
    assert.deepEqual(atProp.sessions.map((listed) => listed.id), [session.id]);

    assert.equal(await member.request('social:declineSessionJoin', { sessionId: session.id }), undefined);
    const joined = await member.request('social:joinSession', { sessionId: session.id });
    assert.equal(joined, undefined, 'a join that took a seat answers no data');
    const extra = `guest-${randomUUID()}`;
    await admin.request('social:inviteUsersToSession', { sessionId: session.id, usersToInvite: [{ userId: extra }] });
    await admin.request('social:deleteUserSessionInvitations', { sessionId: session.id, usersToInvite: [extra] });

    const feed = await member.request('social:getCalendarFeed', {});
    const rotated = await member.request('social:rotateCalendarFeed', {});
    assert.notEqual(rotated.url, feed.url);

    const renamed = first<string>(
      (report) => member.on('social:sessionUpdated', (update) => report(update.session.title)),
      'social:sessionUpdated after the update',
    );
    await admin.request('social:updateSession', { session: { id: session.id, title: 'Opening keynote' } });
    assert.equal(await renamed, 'Opening keynote');
    const deleted = first<string>(
      (report) => member.on('social:sessionDeleted', (gone) => report(gone.sessionId)),
      'social:sessionDeleted',
    );
    await admin.request('social:deleteSession', { sessionId: session.id });
    assert.equal(await deleted, session.id);
    await admin.request('social:deleteEvent', { eventId: event.id });

    const missing = await member.request('social:getEvent', { eventId: event.id }).catch((error: unknown) => error);
    assert.ok(missing instanceof SocialEventsError, String(missing));
    assert.equal(missing.code, 404);
    assert.equal(missing.endpoint, 'social:getEvent');
  } finally {
    admin.close();
    member.close();
  }
});

test('a refused request rejects with the code and the message that names the field', async () => {
  const admin = await client(ADMIN);
  try {
    const refused = await admin
      .request('social:createSession', {
        session: { title: ' ', startDate: '2030-01-01T00:00:00Z', duration: 60 },
      })
      .catch((error: unknown) => error);
    assert.ok(refused instanceof SocialEventsError);
    assert.equal(refused.code, 400);
    assert.match(refused.message, /data\.session\.title/);
  } finally {
    admin.close();
  }
});
