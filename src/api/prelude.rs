//! What an endpoint module needs, in one `use crate::api::prelude::*` (or, in a crate of
//! an integrator's own, `use social_events::api::prelude::*`): the endpoint contract, the
//! work endpoints share (`app`: the loaders of visible objects, waitlists, quotas, …), the
//! domain's types, and `inventory` to register with.

pub use crate::api::endpoint::{Endpoint, Example, PushRegistration, Registration};
pub use crate::api::examples;
pub use crate::app::access::{
    VisibleEvent, VisibleSession, change_visible_session, render_session, render_sessions,
};
pub use crate::app::calendar_feed;
pub use crate::app::context::RequestContext;
pub use crate::app::deletion;
pub use crate::app::occurrences::{self, OccurrenceRequest};
pub use crate::app::prop_board::sessions::{PropRequest, PropSessions, prop_sessions};
pub use crate::app::quota::{
    check_active_sessions, count_contact_lookups, count_new_invitees, recheck_active_sessions,
};
pub use crate::app::waitlist;
pub use crate::domain::change::SessionChange;
pub use crate::domain::event::{Event, EventEnvelope, EventFields, EventListing};
pub use crate::domain::ids::{EventId, SessionId, new_id};
pub use crate::domain::invitation::{InviteEntry, MAX_ENTRIES, merge, validate_entries};
pub use crate::domain::kinds::SessionKind;
pub use crate::domain::occurrences::{Exception, ExceptionsOf};
pub use crate::domain::page::{Cursor, EventList, Limit, Page, SessionList, Stored, fitting};
pub use crate::domain::reminder::{ReminderMinutes, ReminderSetting, SetReminderRequest};
pub use crate::domain::retry::{Attempt, retry_stale};
pub use crate::domain::session::fields::SessionFields;
pub use crate::domain::session::view::{SessionEnvelope, SessionView};
pub use crate::domain::session::viewer::JoinCondition;
pub use crate::domain::session::{Audience, MAX_DURATION_SECONDS, Prop, Session};
pub use crate::domain::source::{Membership, Source};
pub use crate::domain::text::{
    Creating, MAX_DESCRIPTION_CHARS, MAX_REFERENCE_CHARS, MAX_TITLE_CHARS, check_max_chars,
    check_texts, require_present,
};
pub use crate::domain::time::Timestamp;
pub use crate::error::{ApiError, FieldPath};
pub use crate::store::Store;
pub use inventory;
pub use schemars::JsonSchema;
pub use serde_json::{Value, json};
