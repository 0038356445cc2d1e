// Tokens: a client given a token function renews its connection with a fresh token
// before the current one expires, so it never hears `social:tokenExpired`; a client with
// a fixed token hears `social:tokenExpired` when it expires, and stops.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { ConnectionState } from '../src/index.js';
import { client, first, token, uniqueUser } from './service.js';

/** The service's leeway on `exp`, in milliseconds, and a margin. */
const LEEWAY = 5_000 + 1_000;

test('tokens', { concurrency: true }, async (context) => {
  await context.test('a token function is asked for a fresh token before the token expires', async () => {
    const user = uniqueUser('renewing');
    const issued: number[] = [];
    let reportRenewal: (issuedAt: number) => void = () => undefined;
    const renewal = first<number>((report) => {
      reportRenewal = report;
      return () => undefined;
    }, 'a second token');
    const renewing = await client(user, {
      token: () => {
        issued.push(Date.now());
        if (issued.length === 2) reportRenewal(Date.now());
        return token(user, 4);
      },
      refreshBeforeExpiryMs: 2_000,
    });
    const expired: string[] = [];
    renewing.on('social:tokenExpired', () => expired.push('expired'));
    try {
      const firstExpiry = Math.floor(issued[0]! / 1000) * 1000 + 4_000;
      assert.ok((await renewal) < firstExpiry, 'a second token was asked for before the first expired');
      // Past the first token's expiry (and the service's leeway), the client still works.
      await new Promise((resolve) => setTimeout(resolve, firstExpiry + LEEWAY - Date.now()));
      const answer = await renewing.request('social:getCalendarFeed', {});
      assert.match(answer.url, /^http/);
      assert.deepEqual(expired, []);
    } finally {
      renewing.close();
    }
  });

  await context.test('a fixed token that expires ends with social:tokenExpired', async () => {
    const user = uniqueUser('expiring');
    const expiring = await client(user, { token: token(user, 1) });
    try {
      await first<string>((report) => expiring.on('social:tokenExpired', () => report('expired')), 'social:tokenExpired', 15_000);
      await first<ConnectionState>(
        (report) => {
          if (expiring.connectionState === 'closed') report('closed');
          return expiring.onState((state) => state === 'closed' && report(state));
        },
        'the closed state',
      );
    } finally {
      expiring.close();
    }
  });
});
