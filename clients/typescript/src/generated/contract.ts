// The types of the social-events WebSocket API 0.1.0, generated from its AsyncAPI
// document by scripts/generate.mjs (Modelina). Do not edit: run `npm run generate`.
/* eslint-disable */

export interface CancelOccurrenceAnswerFrame {
  'endpoint': 'social:cancelOccurrence';
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * Whether a request failed, and why.
 */
export interface WireError {
  /**
   * `true` for a failure.
   */
  'status': boolean;
  /**
   * `0` on success, else the failure's code, as in HTTP: 400 a malformed or invalid request, 401 an expired or refused token, 403 not allowed, 404 not found (or not visible), 409 a conflict (a full session, a quota, a stale write), 413 a frame too large, 429 too many requests, 500 an unexpected failure, 503 the service is busy or its database unreachable (retry later).
   */
  'code': ErrorCode;
  /**
   * Empty on success, else what went wrong, naming the field (`data.session.title`) where one is at fault.
   */
  'message': string;
}

/**
 * `0` on success, else the failure's code, as in HTTP: 400 a malformed or invalid request, 401 an expired or refused token, 403 not allowed, 404 not found (or not visible), 409 a conflict (a full session, a quota, a stale write), 413 a frame too large, 429 too many requests, 500 an unexpected failure, 503 the service is busy or its database unreachable (retry later).
 */
export type ErrorCode = 0 | 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503;

/**
 * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
 */
export interface EventStamp {
  /**
   * The request's correlation id (unique per user for 10 minutes), echoed in its answer; a push's number.
   */
  'id'?: string;
  /**
   * When the frame was sent, in milliseconds since the Unix epoch.
   */
  'date'?: number;
}

export interface CancelOccurrenceRequestFrame {
  'endpoint': 'social:cancelOccurrence';
  /**
   * The request of `social:cancelOccurrence` and `social:restoreOccurrence`: which
   * occurrence of which session.
   */
  'data'?: CancelOccurrenceRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

/**
 * The request of `social:cancelOccurrence` and `social:restoreOccurrence`: which
 * occurrence of which session.
 */
export interface CancelOccurrenceRequest {
  /**
   * A session's id (`sessionId`).
   */
  'sessionId': string;
  'occurrence': number | string;
}

export interface CreateEventAnswerFrame {
  'endpoint': 'social:createEvent';
  /**
   * `{"event": {...}}`, the answer of the endpoints that return one event.
   */
  'data'?: CreateEventAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * `{"event": {...}}`, the answer of the endpoints that return one event.
 */
export interface CreateEventAnswer {
  /**
   * An event as the reference renders it.
   */
  'event': SocialEvent;
}

/**
 * An event as the reference renders it.
 */
export interface SocialEvent {
  'id': string;
  /**
   * milliseconds since the Unix epoch
   */
  'created': number;
  /**
   * milliseconds since the Unix epoch
   */
  'updated': number;
  'sourceString': string;
  'sourceType': string;
  'sourcePk': string;
  'networkId': string;
  'title': string;
  'description': string;
  /**
   * milliseconds since the Unix epoch
   */
  'startDate': number;
  /**
   * milliseconds since the Unix epoch
   */
  'endDate': number;
  'previewResourceId': string;
  'roomId': string;
  'participantLimit': number;
  'price': number;
  'customData': Record<string, any>;
  /**
   * must be 0 (draft) or 1 (published)
   */
  'status': EventStatus;
  'formSchema': Record<string, any>;
}

/**
 * must be 0 (draft) or 1 (published)
 */
export type EventStatus = 0 | 1;

export interface CreateEventRequestFrame {
  'endpoint': 'social:createEvent';
  'data'?: CreateEventRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface CreateEventRequest {
  /**
   * network:{networkId} or community:{networkId}:{communityId}; ids of at most 256 bytes without whitespace
   */
  'source': string;
  /**
   * The `event` object of `createEvent`. `null` counts as absent.
   */
  'event': NewEvent;
  'formSchema'?: Record<string, any> | null;
}

/**
 * The `event` object of `createEvent`. `null` counts as absent.
 */
export interface NewEvent {
  /**
   * Not blank.
   */
  'title': string;
  'description'?: string | null;
  'startDate': number | string;
  'endDate': number | string;
  'previewResourceId'?: string | null;
  'roomId'?: string | null;
  /**
   * Most participants per session; 0 for no limit.
   */
  'participantLimit'?: number | null;
  'price'?: number | null;
  'customData'?: Record<string, any> | null;
  /**
   * Also accepted beside `event` (`data.formSchema`), where the reference shows it.
   */
  'formSchema'?: Record<string, any> | null;
}

export interface CreateSessionAnswerFrame {
  'endpoint': 'social:createSession';
  /**
   * `{"session": {...}}`, the answer of the endpoints that return one session.
   */
  'data'?: CreateSessionAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * `{"session": {...}}`, the answer of the endpoints that return one session.
 */
export interface CreateSessionAnswer {
  /**
   * A session as the reference renders it. `recurrence` is an extension, present when set.
   */
  'session': Session;
}

/**
 * A session as the reference renders it. `recurrence` is an extension, present when set.
 */
export interface Session {
  /**
   * A session's id (`sessionId`).
   */
  'id': string;
  /**
   * milliseconds since the Unix epoch
   */
  'created': number;
  /**
   * milliseconds since the Unix epoch
   */
  'updated': number;
  /**
   * An event's id (`eventId`); empty where a session belongs
   * to no event.
   */
  'eventId': string;
  'ownerId': string;
  'roomId': string;
  'propId': string;
  /**
   * must be 0 (Public), 1 (Private) or 2 (OpenSlot)
   */
  'sessionType': SessionKind;
  'title': string;
  'description': string;
  /**
   * milliseconds since the Unix epoch
   */
  'startDate': number;
  'duration': number;
  'isRecurring': boolean;
  'recurrence'?: string | null;
  /**
   * an IANA time zone name such as Europe/Berlin; UTC by default
   * @example UTC, Europe/Berlin, America/New_York
   */
  'timeZone': string;
  /**
   * A colour with components in [0, 1].
   */
  'color': Color;
  'isValid': boolean;
  /**
   * A user as the reference renders it. `avatar3D` is omitted when empty.
   */
  'owner': UserSimple;
  'invitedUsers': InvitedUser[];
  'joinedUsers': UserSimple[];
  /**
   * Extension, on recurring sessions: occurrences cancelled or changed one by one
   * (`social:cancelOccurrence`, `social:updateOccurrence`), sorted by occurrence.
   */
  'exceptions'?: (CancelledOccurrence | ChangedOccurrence)[] | null;
  /**
   * Extension: grows with every change to the session (a join, an invitation, an
   * update): of two views of one session — an answer and a push that crossed it — the
   * one with the larger `version` is the newer.
   */
  'version': number;
  /**
   * Extension: the viewer's rank among those waiting for a seat, when waiting.
   */
  'waitlistPosition'?: number | null;
}

/**
 * must be 0 (Public), 1 (Private) or 2 (OpenSlot)
 */
export type SessionKind = 0 | 1 | 2;

/**
 * A colour with components in [0, 1].
 */
export interface Color {
  'r': number;
  'g': number;
  'b': number;
  'a': number;
}

/**
 * A user as the reference renders it. `avatar3D` is omitted when empty.
 */
export interface UserSimple {
  'id': string;
  'firstName': string;
  'lastName': string;
  /**
   * A user's privacy mode: 0 by default, 1 incognito. Kept as the platform stored it, since
   * the platform may know more modes than this service.
   */
  'privacyMode': number;
  'avatar': string;
  'avatar3D'?: Avatar3d | null;
  'companyName': string;
  'companyTitle': string;
}

/**
 * A user's 3D avatar (Ready Player Me).
 */
export interface Avatar3d {
  'assetId': string;
  /**
   * The selected skin per variant.
   */
  'assetSkins': Record<string, string>;
  /**
   * URL of the glTF binary.
   */
  'avatarUrl': string;
  /**
   * User id for session recovery.
   */
  'avatarUserId': string;
}

/**
 * An invited user as the reference renders it, with the extension field `status`.
 */
export interface InvitedUser {
  /**
   * A user as the reference renders it. `avatar3D` is omitted when empty.
   */
  'user': UserSimple;
  /**
   * must be 0 (Attendee), 1 (Presenter) or 2 (Panelist)
   */
  'role': InvitationRole;
  /**
   * must be 0 (pending), 1 (accepted) or 2 (declined)
   */
  'status': InvitationStatus;
}

/**
 * must be 0 (Attendee), 1 (Presenter) or 2 (Panelist)
 */
export type InvitationRole = 0 | 1 | 2;

/**
 * must be 0 (pending), 1 (accepted) or 2 (declined)
 */
export type InvitationStatus = 0 | 1 | 2;

/**
 * An occurrence that does not take place.
 */
export interface CancelledOccurrence {
  /**
   * The occurrence's original start, ISO 8601 in UTC.
   */
  'occurrence': string;
  /**
   * Always true.
   */
  'cancelled': boolean;
}

/**
 * An occurrence that takes place as changed.
 */
export interface ChangedOccurrence {
  /**
   * The occurrence's original start, ISO 8601 in UTC.
   */
  'occurrence': string;
  /**
   * milliseconds since the Unix epoch
   */
  'startDate': number;
  'duration': number;
  'title'?: string | null;
  'description'?: string | null;
}

export interface CreateSessionRequestFrame {
  'endpoint': 'social:createSession';
  'data'?: CreateSessionRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface CreateSessionRequest {
  /**
   * The `session` object of `createSession`. Server-owned fields (`id`, `created`, `updated`, `ownerId`, `isValid`) are not read. `null` counts as absent.
   */
  'session': NewSession;
  'usersToInvite'?: InviteEntry[];
}

/**
 * The `session` object of `createSession`. Server-owned fields (`id`, `created`, `updated`, `ownerId`, `isValid`) are not read. `null` counts as absent.
 */
export interface NewSession {
  'id'?: string | null;
  'eventId'?: string | null;
  'roomId'?: string | null;
  'propId'?: string | null;
  'sessionType'?: SessionKind | null;
  /**
   * Not blank.
   */
  'title': string;
  'description'?: string | null;
  'startDate': number | string;
  /**
   * In whole seconds, up to 7 days.
   */
  'duration': number;
  'isRecurring'?: boolean | null;
  /**
   * An RRULE replacing the weekly repetition; an empty string clears it.
   */
  'recurrence'?: string | null;
  /**
   * The IANA time zone whose wall-clock time repetitions keep (`UTC` by default).
   */
  'timeZone'?: string | null;
  'color'?: Color | null;
}

/**
 * One entry of `usersToInvite`: a user id, or contacts to resolve, and a role.
 */
export interface InviteEntry {
  'userId'?: string | null;
  'facebook'?: string | null;
  'emails'?: string[] | null;
  'phones'?: string[] | null;
  /**
   * Attendee when absent.
   */
  'role'?: InvitationRole | null;
}

export interface DeclineSessionJoinAnswerFrame {
  'endpoint': 'social:declineSessionJoin';
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

export interface DeclineSessionJoinRequestFrame {
  'endpoint': 'social:declineSessionJoin';
  'data'?: DeclineSessionJoinRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface DeclineSessionJoinRequest {
  /**
   * A session's id (`sessionId`).
   */
  'sessionId': string;
}

export interface DeleteEventAnswerFrame {
  'endpoint': 'social:deleteEvent';
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

export interface DeleteEventRequestFrame {
  'endpoint': 'social:deleteEvent';
  'data'?: DeleteEventRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface DeleteEventRequest {
  /**
   * An event's id (`eventId`); empty where a session belongs
   * to no event.
   */
  'eventId': string;
}

export interface DeleteSessionAnswerFrame {
  'endpoint': 'social:deleteSession';
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

export interface DeleteSessionRequestFrame {
  'endpoint': 'social:deleteSession';
  'data'?: DeleteSessionRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface DeleteSessionRequest {
  /**
   * A session's id (`sessionId`).
   */
  'sessionId': string;
}

export interface DeleteUserSessionInvitationsAnswerFrame {
  'endpoint': 'social:deleteUserSessionInvitations';
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

export interface DeleteUserSessionInvitationsRequestFrame {
  'endpoint': 'social:deleteUserSessionInvitations';
  'data'?: DeleteUserSessionInvitationsRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface DeleteUserSessionInvitationsRequest {
  /**
   * A session's id (`sessionId`).
   */
  'sessionId': string;
  /**
   * User ids, as the reference names it.
   */
  'usersToInvite': string[];
}

export interface GetCalendarFeedAnswerFrame {
  'endpoint': 'social:getCalendarFeed';
  /**
   * The answer of both feed endpoints.
   */
  'data'?: GetCalendarFeedAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * The answer of both feed endpoints.
 */
export interface GetCalendarFeedAnswer {
  /**
   * The feed's secret URL.
   */
  'url': string;
}

export interface GetCalendarFeedRequestFrame {
  'endpoint': 'social:getCalendarFeed';
  /**
   * The request of both feed endpoints: nothing.
   */
  'data'?: Record<string, any>;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface GetEventAnswerFrame {
  'endpoint': 'social:getEvent';
  /**
   * `{"event": {...}}`, the answer of the endpoints that return one event.
   */
  'data'?: GetEventAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * `{"event": {...}}`, the answer of the endpoints that return one event.
 */
export interface GetEventAnswer {
  /**
   * An event as the reference renders it.
   */
  'event': SocialEvent;
}

export interface GetEventRequestFrame {
  'endpoint': 'social:getEvent';
  'data'?: GetEventRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface GetEventRequest {
  /**
   * An event's id (`eventId`); empty where a session belongs
   * to no event.
   */
  'eventId': string;
}

export interface GetEventsAnswerFrame {
  'endpoint': 'social:getEvents';
  'data'?: GetEventsAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

export interface GetEventsAnswer {
  'events': SocialEvent[];
  'nextCursor'?: string | null;
}

export interface GetEventsRequestFrame {
  'endpoint': 'social:getEvents';
  'data'?: GetEventsRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface GetEventsRequest {
  /**
   * network:{networkId} or community:{networkId}:{communityId}; ids of at most 256 bytes without whitespace
   */
  'source': string;
  'limit'?: number | null;
  /**
   * The `nextCursor` of the previous page.
   */
  'after'?: string | null;
}

export interface GetPropSessionsAnswerFrame {
  'endpoint': 'social:getPropSessions';
  /**
   * The answer of the prop endpoints: the sessions the caller sees at the prop.
   */
  'data'?: GetPropSessionsAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * The answer of the prop endpoints: the sessions the caller sees at the prop.
 */
export interface GetPropSessionsAnswer {
  'sessions': Session[];
}

export interface GetPropSessionsRequestFrame {
  'endpoint': 'social:getPropSessions';
  /**
   * The request of the prop endpoints: which prop.
   */
  'data'?: GetPropSessionsRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

/**
 * The request of the prop endpoints: which prop.
 */
export interface GetPropSessionsRequest {
  'roomId': string;
  'propId': string;
}

export interface GetReminderAnswerFrame {
  'endpoint': 'social:getReminder';
  /**
   * The answer of `social:getReminder` and `social:setReminder`: the caller's lead time.
   */
  'data'?: GetReminderAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * The answer of `social:getReminder` and `social:setReminder`: the caller's lead time.
 */
export interface GetReminderAnswer {
  /**
   * Minutes before a start at which the caller is reminded (10 unless they chose
   * otherwise); `null`: no reminders.
   */
  'minutes': number | null;
}

export interface GetReminderRequestFrame {
  'endpoint': 'social:getReminder';
  /**
   * The request of both feed endpoints: nothing.
   */
  'data'?: Record<string, any>;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface GetSessionAnswerFrame {
  'endpoint': 'social:getSession';
  /**
   * `{"session": {...}}`, the answer of the endpoints that return one session.
   */
  'data'?: GetSessionAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * `{"session": {...}}`, the answer of the endpoints that return one session.
 */
export interface GetSessionAnswer {
  /**
   * A session as the reference renders it. `recurrence` is an extension, present when set.
   */
  'session': Session;
}

export interface GetSessionRequestFrame {
  'endpoint': 'social:getSession';
  'data'?: GetSessionRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface GetSessionRequest {
  /**
   * A session's id (`sessionId`).
   */
  'sessionId': string;
}

export interface GetSessionsAnswerFrame {
  'endpoint': 'social:getSessions';
  'data'?: GetSessionsAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

export interface GetSessionsAnswer {
  'sessions': Session[];
  'nextCursor'?: string | null;
}

export interface GetSessionsRequestFrame {
  'endpoint': 'social:getSessions';
  'data'?: GetSessionsRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface GetSessionsRequest {
  /**
   * An event's id (`eventId`); empty where a session belongs
   * to no event.
   */
  'eventId': string;
  'limit'?: number | null;
  /**
   * The `nextCursor` of the previous page.
   */
  'after'?: string | null;
}

export interface InviteUsersToSessionAnswerFrame {
  'endpoint': 'social:inviteUsersToSession';
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

export interface InviteUsersToSessionRequestFrame {
  'endpoint': 'social:inviteUsersToSession';
  'data'?: InviteUsersToSessionRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface InviteUsersToSessionRequest {
  /**
   * A session's id (`sessionId`).
   */
  'sessionId': string;
  'usersToInvite': InviteEntry[];
}

export interface JoinSessionAnswerFrame {
  'endpoint': 'social:joinSession';
  'data'?: Waitlisted | null;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * The answer of a join that waits for a seat; a join that took a seat has no `data`.
 */
export interface Waitlisted {
  /**
   * Always true.
   */
  'waitlisted': boolean;
  /**
   * The caller's 1-based rank among those waiting.
   */
  'position': number;
}

export interface JoinSessionRequestFrame {
  'endpoint': 'social:joinSession';
  'data'?: JoinSessionRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface JoinSessionRequest {
  /**
   * A session's id (`sessionId`).
   */
  'sessionId': string;
  /**
   * Extension: wait for a seat when the session is full, instead of a 409.
   */
  'waitlist'?: boolean;
}

export interface PublishEventAnswerFrame {
  'endpoint': 'social:publishEvent';
  /**
   * `{"event": {...}}`, the answer of the endpoints that return one event.
   */
  'data'?: PublishEventAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * `{"event": {...}}`, the answer of the endpoints that return one event.
 */
export interface PublishEventAnswer {
  /**
   * An event as the reference renders it.
   */
  'event': SocialEvent;
}

export interface PublishEventRequestFrame {
  'endpoint': 'social:publishEvent';
  'data'?: PublishEventRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface PublishEventRequest {
  /**
   * An event's id (`eventId`); empty where a session belongs
   * to no event.
   */
  'eventId': string;
}

export interface RestoreOccurrenceAnswerFrame {
  'endpoint': 'social:restoreOccurrence';
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

export interface RestoreOccurrenceRequestFrame {
  'endpoint': 'social:restoreOccurrence';
  /**
   * The request of `social:cancelOccurrence` and `social:restoreOccurrence`: which
   * occurrence of which session.
   */
  'data'?: RestoreOccurrenceRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

/**
 * The request of `social:cancelOccurrence` and `social:restoreOccurrence`: which
 * occurrence of which session.
 */
export interface RestoreOccurrenceRequest {
  /**
   * A session's id (`sessionId`).
   */
  'sessionId': string;
  'occurrence': number | string;
}

export interface RotateCalendarFeedAnswerFrame {
  'endpoint': 'social:rotateCalendarFeed';
  /**
   * The answer of both feed endpoints.
   */
  'data'?: RotateCalendarFeedAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * The answer of both feed endpoints.
 */
export interface RotateCalendarFeedAnswer {
  /**
   * The feed's secret URL.
   */
  'url': string;
}

export interface RotateCalendarFeedRequestFrame {
  'endpoint': 'social:rotateCalendarFeed';
  /**
   * The request of both feed endpoints: nothing.
   */
  'data'?: Record<string, any>;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface SetReminderAnswerFrame {
  'endpoint': 'social:setReminder';
  /**
   * The answer of `social:getReminder` and `social:setReminder`: the caller's lead time.
   */
  'data'?: SetReminderAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * The answer of `social:getReminder` and `social:setReminder`: the caller's lead time.
 */
export interface SetReminderAnswer {
  /**
   * Minutes before a start at which the caller is reminded (10 unless they chose
   * otherwise); `null`: no reminders.
   */
  'minutes': number | null;
}

export interface SetReminderRequestFrame {
  'endpoint': 'social:setReminder';
  /**
   * The request of `social:setReminder`: the caller's lead time in minutes, `null` for
   * no reminders. Required: an empty request is a 400, not a way to switch them off.
   */
  'data'?: SetReminderRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

/**
 * The request of `social:setReminder`: the caller's lead time in minutes, `null` for
 * no reminders. Required: an empty request is a 400, not a way to switch them off.
 */
export interface SetReminderRequest {
  /**
   * Minutes before a start (0 to 1440), or `null`: no reminders.
   */
  'minutes': number | null;
}

export interface UnwatchPropAnswerFrame {
  'endpoint': 'social:unwatchProp';
  /**
   * The answer: an empty object.
   */
  'data'?: Record<string, any>;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

export interface UnwatchPropRequestFrame {
  'endpoint': 'social:unwatchProp';
  /**
   * The request of the prop endpoints: which prop.
   */
  'data'?: UnwatchPropRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

/**
 * The request of the prop endpoints: which prop.
 */
export interface UnwatchPropRequest {
  'roomId': string;
  'propId': string;
}

export interface UpdateEventAnswerFrame {
  'endpoint': 'social:updateEvent';
  /**
   * `{"event": {...}}`, the answer of the endpoints that return one event.
   */
  'data'?: UpdateEventAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * `{"event": {...}}`, the answer of the endpoints that return one event.
 */
export interface UpdateEventAnswer {
  /**
   * An event as the reference renders it.
   */
  'event': SocialEvent;
}

export interface UpdateEventRequestFrame {
  'endpoint': 'social:updateEvent';
  'data'?: UpdateEventRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface UpdateEventRequest {
  /**
   * An event's id (`eventId`); empty where a session belongs
   * to no event.
   */
  'eventId': string;
  /**
   * The `event` object of `createEvent` and `updateEvent`. Every field is optional here;
   * `createEvent` requires some of them, `updateEvent` changes only those present.
   * `null` counts as absent.
   */
  'event'?: EventFields;
  'formSchema'?: Record<string, any> | null;
}

/**
 * The `event` object of `createEvent` and `updateEvent`. Every field is optional here;
 * `createEvent` requires some of them, `updateEvent` changes only those present.
 * `null` counts as absent.
 */
export interface EventFields {
  /**
   * Not blank.
   */
  'title'?: string | null;
  'description'?: string | null;
  'startDate'?: number | string | null;
  /**
   * Not before `startDate`.
   */
  'endDate'?: number | string | null;
  'previewResourceId'?: string | null;
  'roomId'?: string | null;
  /**
   * Most participants per session; 0 for no limit.
   */
  'participantLimit'?: number | null;
  'price'?: number | null;
  'customData'?: Record<string, any> | null;
  /**
   * Also accepted beside `event` (`data.formSchema`), where the reference shows it.
   */
  'formSchema'?: Record<string, any> | null;
}

export interface UpdateOccurrenceAnswerFrame {
  'endpoint': 'social:updateOccurrence';
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

export interface UpdateOccurrenceRequestFrame {
  'endpoint': 'social:updateOccurrence';
  'data'?: UpdateOccurrenceRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface UpdateOccurrenceRequest {
  /**
   * A session's id (`sessionId`).
   */
  'sessionId': string;
  'occurrence': number | string;
  /**
   * What changes for the one occurrence.
   */
  'changes': Changes;
}

/**
 * What changes for the one occurrence.
 */
export interface Changes {
  'startDate'?: number | string | null;
  /**
   * Seconds.
   */
  'duration'?: number | null;
  'title'?: string | null;
  'description'?: string | null;
}

export interface UpdateSessionAnswerFrame {
  'endpoint': 'social:updateSession';
  /**
   * `{"session": {...}}`, the answer of the endpoints that return one session.
   */
  'data'?: UpdateSessionAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * `{"session": {...}}`, the answer of the endpoints that return one session.
 */
export interface UpdateSessionAnswer {
  /**
   * A session as the reference renders it. `recurrence` is an extension, present when set.
   */
  'session': Session;
}

export interface UpdateSessionRequestFrame {
  'endpoint': 'social:updateSession';
  'data'?: UpdateSessionRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

export interface UpdateSessionRequest {
  /**
   * The `session` object of `createSession` and `updateSession`. Server-owned fields
   * (`created`, `updated`, `ownerId`, `isValid`) are not read; `id` only finds the session
   * to update. `null` counts as absent.
   */
  'session': SessionFields;
}

/**
 * The `session` object of `createSession` and `updateSession`. Server-owned fields
 * (`created`, `updated`, `ownerId`, `isValid`) are not read; `id` only finds the session
 * to update. `null` counts as absent.
 */
export interface SessionFields {
  'id'?: string | null;
  'eventId'?: string | null;
  'roomId'?: string | null;
  'propId'?: string | null;
  'sessionType'?: SessionKind | null;
  /**
   * Not blank.
   */
  'title'?: string | null;
  'description'?: string | null;
  /**
   * Not before 1970.
   */
  'startDate'?: number | string | null;
  /**
   * In whole seconds, up to 7 days.
   */
  'duration'?: number | null;
  'isRecurring'?: boolean | null;
  /**
   * An RRULE replacing the weekly repetition; an empty string clears it.
   */
  'recurrence'?: string | null;
  /**
   * The IANA time zone whose wall-clock time repetitions keep (`UTC` by default).
   */
  'timeZone'?: string | null;
  'color'?: Color | null;
}

export interface WatchPropAnswerFrame {
  'endpoint': 'social:watchProp';
  /**
   * The answer of the prop endpoints: the sessions the caller sees at the prop.
   */
  'data'?: WatchPropAnswer;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * The answer of the prop endpoints: the sessions the caller sees at the prop.
 */
export interface WatchPropAnswer {
  'sessions': Session[];
}

export interface WatchPropRequestFrame {
  'endpoint': 'social:watchProp';
  /**
   * The request of the prop endpoints: which prop.
   */
  'data'?: WatchPropRequest;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event'?: EventStamp;
}

/**
 * The request of the prop endpoints: which prop.
 */
export interface WatchPropRequest {
  'roomId': string;
  'propId': string;
}

export interface PropSessionsUpdatedPushFrame {
  'endpoint': 'social:propSessionsUpdated';
  /**
   * The `data` of a `social:propSessionsUpdated` push.
   */
  'data'?: PropSessionsUpdatedPush;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * The `data` of a `social:propSessionsUpdated` push.
 */
export interface PropSessionsUpdatedPush {
  'roomId': string;
  'propId': string;
  /**
   * What `social:getPropSessions` answers the recipient at this prop now.
   */
  'sessions': Session[];
}

export interface ResyncPushFrame {
  'endpoint': 'social:resync';
  /**
   * The `data` of a `social:resync` push: an empty object.
   */
  'data': Record<string, any>;
}

export interface SessionDeletedPushFrame {
  'endpoint': 'social:sessionDeleted';
  /**
   * The `data` of a `social:sessionDeleted` push.
   */
  'data'?: SessionDeletedPush;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * The `data` of a `social:sessionDeleted` push.
 */
export interface SessionDeletedPush {
  'sessionId': string;
}

export interface SessionStartingPushFrame {
  'endpoint': 'social:sessionStarting';
  /**
   * The `data` of a `social:sessionStarting` push: an occurrence of a session the
   * recipient takes part in starts soon.
   */
  'data'?: SessionStartingPush;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * The `data` of a `social:sessionStarting` push: an occurrence of a session the
 * recipient takes part in starts soon.
 */
export interface SessionStartingPush {
  /**
   * A session's id (`sessionId`).
   */
  'sessionId': string;
  /**
   * The occurrence's original start, ISO 8601 in UTC (a single session's start).
   */
  'occurrence': string;
  /**
   * milliseconds since the Unix epoch
   */
  'startDate': number;
  'title': string;
  'roomId': string;
  'propId': string;
}

export interface SessionUpdatedPushFrame {
  'endpoint': 'social:sessionUpdated';
  /**
   * `{"session": {...}}`, the answer of the endpoints that return one session.
   */
  'data'?: SessionUpdatedPush;
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/**
 * `{"session": {...}}`, the answer of the endpoints that return one session.
 */
export interface SessionUpdatedPush {
  /**
   * A session as the reference renders it. `recurrence` is an extension, present when set.
   */
  'session': Session;
}

export interface TokenExpiredPushFrame {
  'endpoint': 'social:tokenExpired';
  /**
   * Whether a request failed, and why.
   */
  'error': WireError;
  /**
   * A frame's stamp: in a request, the client's correlation id; in an answer, the same id echoed and the service's time; in a push, the push number to resume after.
   */
  'event': EventStamp;
}

/** The `data` of a request to each endpoint. */
export interface Requests {
  "social:cancelOccurrence": CancelOccurrenceRequest;
  "social:createEvent": CreateEventRequest;
  "social:createSession": CreateSessionRequest;
  "social:declineSessionJoin": DeclineSessionJoinRequest;
  "social:deleteEvent": DeleteEventRequest;
  "social:deleteSession": DeleteSessionRequest;
  "social:deleteUserSessionInvitations": DeleteUserSessionInvitationsRequest;
  "social:getCalendarFeed": Exclude<GetCalendarFeedRequestFrame['data'], undefined>;
  "social:getEvent": GetEventRequest;
  "social:getEvents": GetEventsRequest;
  "social:getPropSessions": GetPropSessionsRequest;
  "social:getReminder": Exclude<GetReminderRequestFrame['data'], undefined>;
  "social:getSession": GetSessionRequest;
  "social:getSessions": GetSessionsRequest;
  "social:inviteUsersToSession": InviteUsersToSessionRequest;
  "social:joinSession": JoinSessionRequest;
  "social:publishEvent": PublishEventRequest;
  "social:restoreOccurrence": RestoreOccurrenceRequest;
  "social:rotateCalendarFeed": Exclude<RotateCalendarFeedRequestFrame['data'], undefined>;
  "social:setReminder": SetReminderRequest;
  "social:unwatchProp": UnwatchPropRequest;
  "social:updateEvent": UpdateEventRequest;
  "social:updateOccurrence": UpdateOccurrenceRequest;
  "social:updateSession": UpdateSessionRequest;
  "social:watchProp": WatchPropRequest;
}

/** The `data` of a successful answer of each endpoint (`undefined`: the answer has none). */
export interface Answers {
  "social:cancelOccurrence": undefined;
  "social:createEvent": CreateEventAnswer;
  "social:createSession": CreateSessionAnswer;
  "social:declineSessionJoin": undefined;
  "social:deleteEvent": undefined;
  "social:deleteSession": undefined;
  "social:deleteUserSessionInvitations": undefined;
  "social:getCalendarFeed": GetCalendarFeedAnswer;
  "social:getEvent": GetEventAnswer;
  "social:getEvents": GetEventsAnswer;
  "social:getPropSessions": GetPropSessionsAnswer;
  "social:getReminder": GetReminderAnswer;
  "social:getSession": GetSessionAnswer;
  "social:getSessions": GetSessionsAnswer;
  "social:inviteUsersToSession": undefined;
  "social:joinSession": Exclude<JoinSessionAnswerFrame['data'], undefined>;
  "social:publishEvent": PublishEventAnswer;
  "social:restoreOccurrence": undefined;
  "social:rotateCalendarFeed": RotateCalendarFeedAnswer;
  "social:setReminder": SetReminderAnswer;
  "social:unwatchProp": Exclude<UnwatchPropAnswerFrame['data'], undefined>;
  "social:updateEvent": UpdateEventAnswer;
  "social:updateOccurrence": undefined;
  "social:updateSession": UpdateSessionAnswer;
  "social:watchProp": WatchPropAnswer;
}

/** The `data` of each push (`undefined`: the push has none). */
export interface Pushes {
  "social:propSessionsUpdated": PropSessionsUpdatedPush;
  "social:resync": Exclude<ResyncPushFrame['data'], undefined>;
  "social:sessionDeleted": SessionDeletedPush;
  "social:sessionStarting": SessionStartingPush;
  "social:sessionUpdated": SessionUpdatedPush;
  "social:tokenExpired": undefined;
}

/** Every endpoint name. */
export const ENDPOINTS = ["social:cancelOccurrence", "social:createEvent", "social:createSession", "social:declineSessionJoin", "social:deleteEvent", "social:deleteSession", "social:deleteUserSessionInvitations", "social:getCalendarFeed", "social:getEvent", "social:getEvents", "social:getPropSessions", "social:getReminder", "social:getSession", "social:getSessions", "social:inviteUsersToSession", "social:joinSession", "social:publishEvent", "social:restoreOccurrence", "social:rotateCalendarFeed", "social:setReminder", "social:unwatchProp", "social:updateEvent", "social:updateOccurrence", "social:updateSession", "social:watchProp"] as const;

/** Every push name. */
export const PUSHES = ["social:propSessionsUpdated", "social:resync", "social:sessionDeleted", "social:sessionStarting", "social:sessionUpdated", "social:tokenExpired"] as const;
