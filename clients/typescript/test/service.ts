// What the tests share: the service they run against (started by the Rust test that runs
// them, which passes its address, signing secret and a network with an admin and a
// member in the environment), tokens for its users, and a TCP relay whose connections
// the tests can cut, to play a dropped network.

import { createHmac, randomUUID } from 'node:crypto';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { WebSocket } from 'ws';

import { connect, type ConnectOptions, type SocialEventsClient } from '../src/index.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: these tests run from \`cargo test\` (tests/api/typescript_client.rs)`);
  return value;
}

/** The service's WebSocket URL, such as `ws://127.0.0.1:8080/api/v0/ws`. */
export const WS_URL = required('SOCIAL_WS_URL');
const SECRET = required('SOCIAL_JWT_SECRET');
/** A network whose admin and member the tests act as. */
export const NETWORK = required('SOCIAL_NETWORK');
export const ADMIN = required('SOCIAL_ADMIN');
export const MEMBER = required('SOCIAL_MEMBER');

function base64url(text: string | Buffer): string {
  return Buffer.from(text).toString('base64url');
}

/** An HS256 token for `user` that expires in `seconds`. */
export function token(user: string, seconds = 3600): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const exp = Math.floor(Date.now() / 1000) + seconds;
  const payload = base64url(JSON.stringify({ sub: user, exp }));
  const signature = createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** A user id of its own for one test. */
export function uniqueUser(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** A client of `user`, with quick reconnects. */
export function client(user: string, options: Partial<ConnectOptions> = {}): Promise<SocialEventsClient> {
  return connect({
    url: WS_URL,
    token: token(user),
    WebSocket,
    reconnectDelayMs: { first: 50, max: 500 },
    ...options,
  });
}

/**
 * Resolves with the first value `subscribe` reports (it may report at once, while
 * subscribing), or rejects after `ms`.
 */
export function first<T>(subscribe: (report: (value: T) => void) => () => void, what: string, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      stop();
      reject(new Error(`no ${what} within ${ms} ms`));
    }, ms);
    const stop = subscribe((value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      queueMicrotask(() => stop());
      resolve(value);
    });
    if (settled) stop();
  });
}

/** A TCP relay to the service whose connections can be cut, as a dropped network would. */
export class Relay {
  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly url: string,
  ) {}

  static async start(): Promise<Relay> {
    const target = new URL(WS_URL);
    const sockets = new Set<Socket>();
    const server = createServer((incoming) => {
      const outgoing = tcpConnect(Number(target.port), target.hostname);
      for (const socket of [incoming, outgoing]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      incoming.pipe(outgoing).pipe(incoming);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the relay has no port');
    return new Relay(server, sockets, `ws://127.0.0.1:${address.port}${target.pathname}`);
  }

  /** Cuts every connection through the relay. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  close(): void {
    this.cut();
    this.server.close();
  }
}
