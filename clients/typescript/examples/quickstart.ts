// The README's example: connect, hear of sessions, create one. Type-checked with the
// package (`tsc --strict`); run it with a token of a user of the service:
//   SOCIAL_TOKEN=… node build/examples/quickstart.js
import { WebSocket } from 'ws';
import { connect, SocialEventsError } from '../src/index.js';

const client = await connect({ url: 'ws://127.0.0.1:8080/api/v0/ws', token: process.env.SOCIAL_TOKEN ?? '', WebSocket });
client.on('social:sessionUpdated', ({ session }) => console.log('pushed:', session.title, session.version));
try {
  const { session } = await client.request('social:createSession', {
    session: { roomId: 'main-hall', propId: 'stage', title: 'Keynote', startDate: '2030-04-02T17:00:00Z', duration: 3600 },
  });
  await client.request('social:updateSession', { session: { id: session.id, title: 'Opening keynote' } }); // pushed to its audience
} catch (error) {
  if (error instanceof SocialEventsError) console.error(error.code, error.message);
}
setTimeout(() => client.close(), 1_000); // time for the push to arrive
