//! Integration tests: the real server over real WebSocket and HTTP connections, against a
//! real SecantusDB started once for the whole run. One binary, one module per area.

mod asyncapi;
mod attacks;
mod auth;
mod calendar_feed;
mod chaos;
mod cli;
mod compression;
mod console;
mod contract;
mod events;
mod events_visibility;
mod faults;
mod fixtures;
mod helpers;
mod invitation_file;
mod invitations;
mod joining;
mod layers;
mod metrics;
mod openapi;
mod overload;
mod paging;
mod prop_board;
mod prop_sessions;
mod protocol;
mod pushes;
mod python_client;
mod registry;
mod resume;
mod retries;
mod session_access;
mod sessions;
mod time_zones;
mod typescript;
mod waitlist;
