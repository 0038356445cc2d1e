//! What an endpoint module under `handlers/` usually needs, in one `use crate::prelude::*`.

pub use crate::access::{Access, Source};
pub use crate::endpoint::{Endpoint, Registration, RequestContext, Validate};
pub use crate::error::{ApiError, FieldPath};
pub use crate::events::{EventAccess, EventEnvelope, EventFields, EventView};
pub use crate::invitations::InviteEntry;
pub use crate::pushes::SessionChange;
pub use crate::sessions::{
    SessionAccess, SessionEnvelope, SessionFields, SessionView, Viewer, render_session,
    render_sessions, session_type,
};
pub use crate::store::events::{EventDocument, EventListing, status};
pub use crate::store::new_id;
pub use crate::store::sessions::SessionDocument;
pub use crate::time::Timestamp;
