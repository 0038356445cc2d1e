//! The `social:*` endpoints, one module each. Each module registers itself with the
//! endpoint registry through `inventory`; this file only names them.

mod cancel_occurrence;
mod create_event;
mod create_session;
mod decline_session_join;
mod delete_event;
mod delete_session;
mod delete_user_session_invitations;
mod get_calendar_feed;
mod get_event;
mod get_events;
mod get_prop_sessions;
mod get_reminder;
mod get_session;
mod get_sessions;
mod invite_users_to_session;
mod join_session;
mod publish_event;
mod restore_occurrence;
mod rotate_calendar_feed;
mod set_reminder;
mod unwatch_prop;
mod update_event;
mod update_occurrence;
mod update_session;
mod watch_prop;
