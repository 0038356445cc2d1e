//! The `social:*` endpoints, one module each. Each module registers itself with the
//! endpoint registry through `inventory`; this file only names them.

mod create_event;
mod delete_event;
mod get_event;
mod get_events;
mod publish_event;
mod update_event;
