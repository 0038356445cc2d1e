// A client of the social-events WebSocket API: typed requests answered by their
// `event.id`, typed pushes, reconnection with back-off that resumes the pushes missed
// meanwhile, safe retries of requests in flight across reconnects, and a fresh token
// before the current one expires. Works in browsers and in Node.js (pass the `ws`
// package's WebSocket where the runtime has none).

import { ENDPOINTS, PUSHES } from './generated/contract.js';
import type { Answers, ErrorCode, Pushes, Requests } from './generated/contract.js';

/** An endpoint name, such as `social:createEvent`. */
export type Endpoint = keyof Requests & keyof Answers;
/** A push name, such as `social:sessionUpdated`. */
export type Push = keyof Pushes;

/** The part of the WebSocket API this client uses: browsers' own, or the `ws` package's. */
export interface WebSocketLike {
  readonly readyState: number;
  // The handlers' events are typed by each implementation; this client reads `data` of a
  // message event and `code` of a close event only.
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: `globalThis.WebSocket` or `import { WebSocket } from 'ws'`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** A token, or a function that gets a fresh one (called at every connect). */
export type TokenSource = string | (() => string | Promise<string>);

/** What `connect` needs. */
export interface ConnectOptions {
  /** The WebSocket URL, such as `wss://social.example.com/api/v0/ws`. */
  url: string;
  /** The signed-in user's token. Give a function to have tokens refreshed. */
  token: TokenSource;
  /** Where the runtime has no global `WebSocket` (Node.js 20): `WebSocket` from `ws`. */
  WebSocket?: WebSocketConstructor;
  /** How long a request waits for its answer, in milliseconds (default 30,000). */
  requestTimeoutMs?: number;
  /** The first and the longest pause between reconnection attempts (default 250 / 10,000 ms). */
  reconnectDelayMs?: { first: number; max: number };
  /**
   * The number of the last push an earlier connection received (`client.lastPush`, kept
   * across a page reload, say): the pushes missed since are delivered first.
   */
  resumeAfter?: string;
  /**
   * How long before the token's `exp` a fresh one is fetched and the connection renewed
   * (default 60,000 ms). Only when `token` is a function.
   */
  refreshBeforeExpiryMs?: number;
}

/** The connection's state, as `onState` reports it. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A request the service answered with a failure: its code (400, 401, 403, 404, 409, …) and message. */
export class SocialEventsError extends Error {
  readonly code: ErrorCode;
  readonly endpoint: string;
  readonly eventId: string;

  constructor(endpoint: string, eventId: string, code: ErrorCode, message: string) {
    super(`${endpoint} failed with ${code}: ${message}`);
    this.name = 'SocialEventsError';
    this.code = code;
    this.endpoint = endpoint;
    this.eventId = eventId;
  }
}

/** A request that got no answer in time, or whose client was closed first. */
export class RequestAbortedError extends Error {
  readonly endpoint: string;
  readonly eventId: string;

  constructor(endpoint: string, eventId: string, why: string) {
    super(`${endpoint} (event.id ${eventId}): ${why}`);
    this.name = 'RequestAbortedError';
    this.endpoint = endpoint;
    this.eventId = eventId;
  }
}

/** A frame as the service sends it. */
interface Frame {
  endpoint: string;
  data?: unknown;
  error?: { status: boolean; code: ErrorCode; message: string };
  event?: { id?: string; date?: number };
}

/** A request waiting for its answer. */
interface Pending {
  endpoint: string;
  text: string;
  resolve: (data: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** What a push listener receives besides the push's `data`. */
export interface PushInfo {
  /** The push number (`event.id`), when the push has one. */
  number?: string;
}

type PushListener<P extends Push> = (data: Pushes[P], info: PushInfo) => void;

const OPEN = 1;
/** Close code of a connection this client ends itself. */
const NORMAL_CLOSURE = 1000;

/** A fresh correlation id, unique across connections (a UUID). */
function newEventId(): string {
  return globalThis.crypto.randomUUID();
}

/** The `exp` claim of a JWT, in milliseconds since the epoch, if it can be read. */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims: unknown = JSON.parse(globalThis.atob(base64));
    const exp = typeof claims === 'object' && claims !== null ? (claims as { exp?: unknown }).exp : undefined;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A connection to the service that outlives the WebSocket under it: made by `connect`.
 *
 * Requests sent while the connection is down wait for it; requests in flight when it
 * drops are sent again with the same `event.id` once it is back (the service answers a
 * repeated write with its first answer, so nothing is done twice). Pushes missed while it
 * was down are delivered on reconnecting (`resumeAfter`), or one `social:resync` push says
 * to refetch.
 */
export class SocialEventsClient {
  private readonly options: Required<Omit<ConnectOptions, 'WebSocket' | 'resumeAfter'>> & {
    WebSocket: WebSocketConstructor;
  };
  private socket: WebSocketLike | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Map<string, Set<(data: unknown, info: PushInfo) => void>>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private lastPushNumber: string | undefined;
  private state: ConnectionState = 'connecting';
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  /**
   * A client not yet connected: `open()` connects it. `connect(options)` does both; make
   * the client first to hear pushes from the very first frame (the pushes a resumed
   * connection replays), registering listeners with `on` before `open`.
   */
  constructor(options: ConnectOptions) {
    const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocket) {
      throw new Error("this runtime has no WebSocket: pass { WebSocket } from the 'ws' package");
    }
    this.options = {
      url: options.url,
      token: options.token,
      WebSocket,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      reconnectDelayMs: options.reconnectDelayMs ?? { first: 250, max: 10_000 },
      refreshBeforeExpiryMs: options.refreshBeforeExpiryMs ?? 60_000,
    };
    this.lastPushNumber = options.resumeAfter;
  }

  /**
   * Sends a request and resolves to the answer's `data` (`undefined` for endpoints that
   * answer none), or rejects with a `SocialEventsError` carrying the service's code and
   * message. `eventId` reuses a correlation id, to retry a request whose answer was lost
   * (by default each request gets a fresh UUID).
   */
  request<E extends Endpoint>(endpoint: E, data: Requests[E], options: { eventId?: string } = {}): Promise<Answers[E]> {
    if (this.closed) {
      return Promise.reject(new RequestAbortedError(endpoint, options.eventId ?? '', 'the client is closed'));
    }
    const eventId = options.eventId ?? newEventId();
    const text = JSON.stringify({ endpoint, data, event: { id: eventId } });
    return new Promise<Answers[E]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(eventId);
        reject(new RequestAbortedError(endpoint, eventId, `no answer within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.pending.set(eventId, {
        endpoint,
        text,
        resolve: resolve as (data: unknown) => void,
        reject,
        timer,
      });
      if (this.socket?.readyState === OPEN) this.socket.send(text);
    });
  }

  /** Calls `listener` with each push named `push`; answers a function that stops it. */
  on<P extends Push>(push: P, listener: PushListener<P>): () => void {
    let listeners = this.listeners.get(push);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(push, listeners);
    }
    const untyped = listener as (data: unknown, info: PushInfo) => void;
    listeners.add(untyped);
    return () => listeners.delete(untyped);
  }

  /** Calls `listener` with each change of the connection's state; answers a function that stops it. */
  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** The connection's state now. */
  get connectionState(): ConnectionState {
    return this.state;
  }

  /** The number of the last push received: what a reconnect resumes after. */
  get lastPush(): string | undefined {
    return this.lastPushNumber;
  }

  /** Closes the connection for good; requests still waiting reject. */
  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.refreshTimer);
    this.socket?.close(NORMAL_CLOSURE);
    this.socket = undefined;
    for (const [eventId, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new RequestAbortedError(pending.endpoint, eventId, 'the client was closed'));
    }
    this.pending.clear();
    this.setState('closed');
  }

  /**
   * Opens a WebSocket (with a fresh token when `token` is a function, resuming after the
   * last push received) and resolves once it is open; rejects when that fails. Once open,
   * the connection replaces the previous one, whose requests in flight are sent again.
   */
  async open(): Promise<void> {
    if (this.closed) throw new Error('the client is closed');
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    const url = new URL(this.options.url);
    url.searchParams.set('token', token);
    if (this.lastPushNumber !== undefined) url.searchParams.set('resumeAfter', this.lastPushNumber);
    const socket = new this.options.WebSocket(url.toString());
    await new Promise<void>((resolve, reject) => {
      let opened = false;
      socket.onopen = () => {
        opened = true;
        if (this.closed) {
          // Closed while this connection was being opened (a renewal, a reconnect).
          socket.close(NORMAL_CLOSURE);
          reject(new Error('the client is closed'));
          return;
        }
        const previous = this.socket;
        this.socket = socket;
        this.attempt = 0;
        if (previous) {
          previous.onclose = null;
          previous.close(NORMAL_CLOSURE);
        }
        this.setState('open');
        for (const pending of this.pending.values()) socket.send(pending.text);
        this.scheduleRefresh(token);
        resolve();
      };
      socket.onmessage = (event: { data: unknown }) => {
        if (this.socket === socket) this.receive(event.data);
      };
      socket.onerror = () => {
        if (!opened) reject(new Error(`cannot connect to ${this.options.url}`));
      };
      socket.onclose = (event: { code: number }) => {
        if (!opened) {
          reject(new Error(`cannot connect to ${this.options.url} (close code ${event.code})`));
          return;
        }
        if (this.socket === socket) {
          this.socket = undefined;
          this.reconnectLater();
        }
      };
    });
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: Frame;
    try {
      frame = JSON.parse(data) as Frame;
    } catch {
      return;
    }
    const eventId = frame.event?.id;
    const pending = eventId === undefined ? undefined : this.pending.get(eventId);
    if (pending && eventId !== undefined && frame.endpoint === pending.endpoint) {
      this.pending.delete(eventId);
      clearTimeout(pending.timer);
      if (frame.error?.status) {
        pending.reject(new SocialEventsError(frame.endpoint, eventId, frame.error.code, frame.error.message));
      } else {
        pending.resolve(frame.data);
      }
      return;
    }
    if (!(PUSHES as readonly string[]).includes(frame.endpoint)) return;
    if (eventId !== undefined && /^\d+$/.test(eventId)) this.lastPushNumber = eventId;
    const info: PushInfo = eventId === undefined ? {} : { number: eventId };
    for (const listener of this.listeners.get(frame.endpoint) ?? []) listener(frame.data, info);
    if (frame.endpoint === 'social:tokenExpired' && typeof this.options.token !== 'function') {
      // The service closes the connection next; a fixed token cannot open another.
      this.close();
    }
  }

  private reconnectLater(): void {
    if (this.closed) return;
    clearTimeout(this.refreshTimer);
    this.setState('reconnecting');
    const { first, max } = this.options.reconnectDelayMs;
    const delay = Math.min(max, first * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.open().catch(() => this.reconnectLater());
    }, delay);
  }

  private scheduleRefresh(token: string): void {
    clearTimeout(this.refreshTimer);
    if (typeof this.options.token !== 'function') return;
    const expiry = tokenExpiry(token);
    if (expiry === undefined) return;
    const lead = Math.min(this.options.refreshBeforeExpiryMs, (expiry - Date.now()) / 2);
    const wait = Math.max(0, expiry - Date.now() - lead);
    this.refreshTimer = setTimeout(() => {
      this.open().catch(() => this.reconnectLater());
    }, wait);
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

/**
 * Connects to the service: resolves once the WebSocket is open (rejects if the first
 * attempt fails: a wrong URL or a refused token), then keeps the connection up.
 */
export async function connect(options: ConnectOptions): Promise<SocialEventsClient> {
  const client = new SocialEventsClient(options);
  await client.open();
  return client;
}

/** Whether `name` is an endpoint of the API this client was generated from. */
export function isEndpoint(name: string): name is Endpoint {
  return (ENDPOINTS as readonly string[]).includes(name);
}
