// The social-events client: `connect`, typed requests and pushes, and the API's types,
// generated from the service's AsyncAPI document (`src/generated/contract.ts`).

export {
  connect,
  isEndpoint,
  tokenExpiry,
  RequestAbortedError,
  SocialEventsClient,
  SocialEventsError,
} from './client.js';
export type {
  ConnectionState,
  ConnectOptions,
  Endpoint,
  Push,
  PushInfo,
  TokenSource,
  WebSocketConstructor,
  WebSocketLike,
} from './client.js';
export * from './generated/contract.js';
