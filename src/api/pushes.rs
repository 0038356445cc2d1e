//! The pushes the service sends unasked, described for the AsyncAPI document and the
//! console: their names, when they come, the shape of their `data` and an example frame
//! of each, encoded as they are sent. (Sending them is `push`'s work.)

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use super::endpoint::PushRegistration;
use super::envelope::encode_push;
use super::examples;
use crate::app::prop_board::watches::{PROP_SESSIONS_UPDATED, PropSessionsUpdated};
use crate::domain::reminder::SessionStarting;
use crate::domain::session::view::SessionEnvelope;
use crate::push::bus::{
    RESYNC, RESYNC_FRAME, SESSION_DELETED, SESSION_STARTING, SESSION_UPDATED, SessionDeleted,
    push_frame,
};

/// The `data` of a `social:resync` push: an empty object.
#[derive(Serialize, JsonSchema)]
#[schemars(extend("maxProperties" = 0))]
struct Resync {}

inventory::submit! {
    PushRegistration::of::<SessionEnvelope>(
        SESSION_UPDATED,
        "A session in the recipient's audience changed (or the recipient joined its \
         audience): the session as the recipient sees it now, as `social:getSession` \
         renders it.",
        || example_push(SESSION_UPDATED, &json!({ "session": examples::session(true) })),
    )
}

inventory::submit! {
    PushRegistration::of::<SessionDeleted<'static>>(
        SESSION_DELETED,
        "A session was deleted (also when its event was), or the recipient lost sight of \
         it (uninvited from a Private session).",
        || example_push(SESSION_DELETED, &SessionDeleted { session_id: examples::SESSION_ID }),
    )
}

inventory::submit! {
    PushRegistration::of::<Resync>(
        RESYNC,
        "Pushes may have been missed (the service could not resume its change history): \
         refetch what is shown. Exactly this frame, without `error` or `event`.",
        || examples::frame(RESYNC_FRAME),
    )
    .unstamped()
}

inventory::submit! {
    PushRegistration::of::<PropSessionsUpdated<'static>>(
        PROP_SESSIONS_UPDATED,
        "What the recipient sees at a prop it watches (`social:watchProp`) changed: a \
         session there was created, changed, deleted or made invalid, became visible or \
         hidden, started or ended. `sessions` is what `social:getPropSessions` answers now.",
        || {
            let data = json!({
                "roomId": examples::ROOM_ID,
                "propId": examples::PROP_ID,
                "sessions": examples::prop_sessions()["sessions"],
            });
            example_push(PROP_SESSIONS_UPDATED, &data)
        },
    )
}

inventory::submit! {
    PushRegistration::of::<SessionStarting>(
        SESSION_STARTING,
        "Extension: an occurrence of a session the recipient takes part in (owns, joined, \
         or is invited to and did not decline) starts soon — the recipient's lead time \
         before it (`social:setReminder`, 10 minutes unless changed). Once per occurrence \
         and recipient, on each of their connections, and replayed to a client that \
         resumes after missing it. A cancelled occurrence gives none; a moved one reminds \
         before its new start (again, when it moved after its reminder). `occurrence` \
         names it by its original start; `startDate` is when it starts.",
        || {
            let data = json!({
                "sessionId": examples::SESSION_ID,
                "occurrence": "2030-04-01T07:00:00Z",
                "startDate": 1_901_257_200_000_i64,
                "title": "Morning stand-up",
                "roomId": examples::ROOM_ID,
                "propId": examples::PROP_ID,
            });
            example_push(SESSION_STARTING, &data)
        },
    )
}

/// A whole push frame of `endpoint` with `data`, encoded as pushes are sent.
fn example_push(endpoint: &'static str, data: &impl Serialize) -> Value {
    push_frame(endpoint, examples::PUSH_ID, data)
        .map(|frame| examples::frame(&encode_push(&frame)))
        .unwrap_or_default()
}
