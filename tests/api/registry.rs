//! The endpoint registry replaces a central list: these tests check that what registers
//! itself is what the README documents, the reference requires and the extensions add.

use social_events::api::endpoint::Registry;

use crate::helpers::spawn_app;

/// Every request endpoint of the customer's reference.
const REQUIRED: [&str; 16] = [
    "social:createEvent",
    "social:createSession",
    "social:declineSessionJoin",
    "social:deleteEvent",
    "social:deleteSession",
    "social:deleteUserSessionInvitations",
    "social:getEvent",
    "social:getEvents",
    "social:getPropSessions",
    "social:getSession",
    "social:getSessions",
    "social:inviteUsersToSession",
    "social:joinSession",
    "social:publishEvent",
    "social:updateEvent",
    "social:updateSession",
];

/// The endpoints that extend the customer's reference (marked "extension" in the README's
/// "Endpoints").
const EXTENSIONS: [&str; 9] = [
    "social:getCalendarFeed",
    "social:rotateCalendarFeed",
    "social:watchProp",
    "social:unwatchProp",
    "social:cancelOccurrence",
    "social:updateOccurrence",
    "social:restoreOccurrence",
    "social:setReminder",
    "social:getReminder",
];

/// The endpoint names listed in the README's endpoint table (`| `social:...` |` rows).
fn readme_endpoints() -> Vec<String> {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let mut names: Vec<String> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `social:"))
        .filter_map(|rest| rest.split('`').next())
        .map(|name| format!("social:{name}"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_required_endpoint_is_registered() {
    let names: Vec<&str> = Registry::global().names().collect();
    for required in REQUIRED.iter().chain(&EXTENSIONS) {
        assert!(
            names.contains(required),
            "{required} is not registered: {names:?}"
        );
    }
    assert_eq!(
        names.len(),
        REQUIRED.len() + EXTENSIONS.len(),
        "registered: {names:?}"
    );
}

#[test]
fn the_readme_documents_exactly_the_registered_endpoints() {
    let registered: Vec<String> = Registry::global().names().map(str::to_owned).collect();
    assert_eq!(readme_endpoints(), registered);
}

#[tokio::test]
async fn every_registered_endpoint_is_served_over_the_websocket() {
    let app = spawn_app().await;
    let mut client = app.connect("registry-user").await;
    for name in Registry::global().names() {
        let frame = client.request(name, serde_json::json!({})).await;
        assert_eq!(frame["endpoint"], name);
        assert_ne!(frame["error"]["code"], 404, "{name} is not routed: {frame}");
    }
}
