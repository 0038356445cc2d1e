// Type-level checks: the compiler refuses what the service would refuse. Each
// `@ts-expect-error` fails the build (`tsc --strict`) if its line stops being an error.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Answers, SocialEventsClient } from '../src/index.js';

/** Never called: only compiled. */
export function misuses(client: SocialEventsClient): void {
  // @ts-expect-error: an endpoint that does not exist
  void client.request('social:createSesion', {});
  // @ts-expect-error: createSession needs a title, a start and a duration
  void client.request('social:createSession', { session: { roomId: 'hall' } });
  // @ts-expect-error: duration is a number of seconds
  void client.request('social:createSession', { session: { title: 'T', startDate: 0, duration: '1h' } });
  // @ts-expect-error: getSession names the session by sessionId
  void client.request('social:getSession', { id: 'x' });
  // @ts-expect-error: a push that does not exist
  client.on('social:sessionChanged', () => undefined);
  client.on('social:sessionDeleted', (data) => {
    // @ts-expect-error: a deletion carries the session's id only
    void data.session;
  });
}

test('answers are typed by endpoint', () => {
  const noAnswer: Answers['social:deleteSession'] = undefined;
  assert.equal(noAnswer, undefined);
});
