//! The ICS invitation over real HTTP, parsed back with two RFC 5545 parsers: the
//! `icalendar` crate's and the independent `ical` crate's.

use std::str::FromStr;

use icalendar::{Calendar, CalendarComponent, Component};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, create_session, network, published_event, put_user, session_fields, spawn_app,
    spawn_app_with, unique,
};

/// One property as the independent parser reads it: name, parameters, raw value.
#[derive(Debug, Clone)]
struct Line {
    name: String,
    params: Vec<(String, Vec<String>)>,
    value: String,
}

impl Line {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, values)| values.first())
            .map(String::as_str)
    }
}

/// A fetched invitation: the raw text, the one VEVENT read by both parsers.
struct Invitation {
    raw: String,
    method: String,
    event: icalendar::Event,
    lines: Vec<Line>,
}

impl Invitation {
    fn all(&self, name: &str) -> Vec<&Line> {
        self.lines.iter().filter(|line| line.name == name).collect()
    }

    fn one(&self, name: &str) -> &Line {
        let found = self.all(name);
        assert_eq!(found.len(), 1, "exactly one {name} in\n{}", self.raw);
        found[0]
    }
}

fn url(app: &TestApp, session_id: &Value) -> String {
    app.http_url(&format!(
        "/api/v0/resource/sessionInvitation/{}",
        session_id.as_str().unwrap()
    ))
}

/// Fetches the invitation as `user_id` and checks the HTTP answer and the file's framing.
async fn fetch(app: &TestApp, session_id: &Value, user_id: &str) -> Invitation {
    let response = reqwest::Client::new()
        .get(url(app, session_id))
        .bearer_auth(app.token(user_id))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8; method=REQUEST"
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        format!(
            "attachment; filename=\"session-{}.ics\"",
            session_id.as_str().unwrap()
        )
    );
    let raw = response.text().await.unwrap();
    assert_rfc5545_lines(&raw);

    let calendar = Calendar::from_str(&raw).expect("the icalendar parser reads it");
    let method = calendar
        .property_value("METHOD")
        .unwrap_or_default()
        .to_owned();
    let events: Vec<&icalendar::Event> = calendar
        .components
        .iter()
        .filter_map(|component| match component {
            CalendarComponent::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 1, "one VEVENT in\n{raw}");

    let mut independent = ical::IcalParser::new(raw.as_bytes());
    let parsed = independent
        .next()
        .expect("a calendar")
        .expect("the ical parser reads it");
    assert!(independent.next().is_none());
    assert_eq!(parsed.events.len(), 1);
    let lines = parsed.events[0]
        .properties
        .iter()
        .map(|property| Line {
            name: property.name.clone(),
            params: property.params.clone().unwrap_or_default(),
            value: property.value.clone().unwrap_or_default(),
        })
        .collect();
    Invitation {
        method,
        event: events[0].clone(),
        lines,
        raw,
    }
}

/// CRLF line ends, at most 75 octets a line, folds never inside a UTF-8 character.
#[track_caller]
fn assert_rfc5545_lines(raw: &str) {
    assert!(raw.ends_with("\r\n"));
    assert!(!raw.replace("\r\n", "").contains('\n'), "a bare LF");
    assert!(!raw.replace("\r\n", "").contains('\r'), "a bare CR");
    for line in raw.split_terminator("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        if let Some(continued) = line.strip_prefix(' ') {
            let first = continued.as_bytes().first().copied().unwrap_or(b'a');
            assert!(
                !(0x80..0xC0).contains(&first),
                "a fold split a character: {line:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_ordinary_session_becomes_a_calendar_request() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let presenter = unique("presenter");
    let attendee = unique("attendee");
    let plain = unique("plain");
    put_user(
        &app,
        json!({"id": &owner, "firstName": "Olga", "lastName": "Owner",
        "emails": ["olga@example.com"], "phones": ["+14155550100"]}),
    )
    .await;
    put_user(
        &app,
        json!({"id": &presenter, "firstName": "Pia", "lastName": "Presenter",
        "emails": ["pia@example.com"]}),
    )
    .await;
    let mut client = app.connect(&owner).await;
    let fields = session_fields("Keynote", 60);
    let session = create_session(
        &mut client,
        fields.clone(),
        json!([
            {"userId": &presenter, "role": 1},
            {"userId": &attendee, "role": 2},
            {"userId": &plain, "role": 0},
        ]),
    )
    .await;
    let id = &session["id"];
    let ics = fetch(&app, id, &owner).await;

    assert_eq!(ics.method, "REQUEST");
    assert!(
        ics.raw
            .contains("\r\nPRODID:-//social-events//Session invitation//EN\r\n")
    );
    for once in [
        "\r\nPRODID:",
        "\r\nVERSION:2.0\r\n",
        "\r\nMETHOD:",
        "BEGIN:VEVENT",
    ] {
        assert_eq!(
            ics.raw.matches(once).count(),
            1,
            "{once} once in\n{}",
            ics.raw
        );
    }
    let uid = format!("session-{}@social-events", id.as_str().unwrap());
    assert_eq!(ics.event.get_uid(), Some(uid.as_str()));
    let stamp = ics.event.get_timestamp().expect("DTSTAMP");
    let age = chrono::Utc::now() - stamp;
    assert!(
        age >= chrono::Duration::zero() && age < chrono::Duration::minutes(5),
        "{stamp}"
    );
    let start = fields["startDate"].as_i64().unwrap();
    let expected_start = chrono::DateTime::from_timestamp_millis(start).unwrap();
    assert_eq!(
        ics.one("DTSTART").value,
        expected_start.format("%Y%m%dT%H%M%SZ").to_string()
    );
    assert_eq!(
        ics.one("DTEND").value,
        (expected_start + chrono::Duration::hours(1))
            .format("%Y%m%dT%H%M%SZ")
            .to_string()
    );
    assert_eq!(ics.event.get_summary(), Some("Keynote"));
    assert_eq!(ics.event.get_description(), Some("Talk"));
    assert_eq!(ics.event.get_sequence(), Some(0));
    assert_eq!(ics.one("CLASS").value, "PUBLIC");
    assert!(ics.all("RRULE").is_empty());
    assert_eq!(
        ics.one("URL").value,
        format!(
            "https://social.example.test/sessions/{}",
            id.as_str().unwrap()
        )
    );

    let organizer = ics.one("ORGANIZER");
    assert_eq!(organizer.param("CN"), Some("Olga Owner"));
    assert_eq!(
        organizer.value,
        format!("https://social.example.test/users/{owner}")
    );
    let attendees = ics.all("ATTENDEE");
    assert_eq!(attendees.len(), 3);
    assert_eq!(attendees[0].param("CN"), Some("Pia Presenter"));
    assert_eq!(attendees[0].param("ROLE"), Some("CHAIR"));
    assert_eq!(attendees[0].param("PARTSTAT"), Some("NEEDS-ACTION"));
    assert_eq!(
        attendees[1].param("ROLE"),
        Some("REQ-PARTICIPANT"),
        "a Panelist"
    );
    assert_eq!(
        attendees[2].param("ROLE"),
        Some("REQ-PARTICIPANT"),
        "an Attendee"
    );
    assert_eq!(
        attendees[1].param("CN"),
        None,
        "a user without a name has no CN"
    );
    assert_eq!(
        attendees[1].value,
        format!("https://social.example.test/users/{attendee}")
    );

    for secret in ["@example.com", "+1415", "mailto:", "tel:"] {
        assert!(
            !ics.raw.contains(secret),
            "{secret} leaked into\n{}",
            ics.raw
        );
    }
}

#[tokio::test]
async fn sequence_grows_with_updates_and_partstat_follows_joins_and_declines() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let guest = unique("guest");
    let mut owner_client = app.connect(&owner).await;
    let session = create_session(
        &mut owner_client,
        session_fields("S", 60),
        json!([{"userId": &guest}]),
    )
    .await;
    let id = session["id"].clone();
    let first = fetch(&app, &id, &owner).await;

    let mut guest_client = app.connect(&guest).await;
    guest_client
        .ok("social:joinSession", json!({"sessionId": id}))
        .await;
    let joined = fetch(&app, &id, &guest).await;
    assert_eq!(joined.one("ATTENDEE").param("PARTSTAT"), Some("ACCEPTED"));
    assert_eq!(
        joined.event.get_sequence(),
        Some(0),
        "joining is not a new version"
    );
    owner_client
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": id, "usersToInvite": [{"userId": unique("another")}]}),
        )
        .await;
    let invited = fetch(&app, &id, &owner).await;
    assert_eq!(
        invited.event.get_sequence(),
        Some(0),
        "nor is an invitation"
    );

    for (index, title) in ["Renamed", "Renamed again"].iter().enumerate() {
        owner_client
            .ok(
                "social:updateSession",
                json!({"session": {"id": id, "title": title}}),
            )
            .await;
        let updated = fetch(&app, &id, &owner).await;
        assert_eq!(updated.event.get_sequence(), Some(index as u32 + 1));
        assert_eq!(updated.event.get_summary(), Some(*title));
        assert_eq!(
            updated.event.get_uid(),
            first.event.get_uid(),
            "the same calendar entry"
        );
    }

    guest_client
        .ok("social:declineSessionJoin", json!({"sessionId": id}))
        .await;
    let declined = fetch(&app, &id, &owner).await;
    let guest_line = declined
        .all("ATTENDEE")
        .into_iter()
        .find(|line| line.value.ends_with(&format!("/users/{guest}")))
        .expect("the guest is listed");
    assert_eq!(guest_line.param("PARTSTAT"), Some("DECLINED"));
}

#[tokio::test]
async fn the_sequence_never_shrinks_whichever_process_updates() {
    let mut db_name = String::new();
    let first = spawn_app_with(|settings| db_name = settings.db_name.clone()).await;
    let second = spawn_app_with(|settings| settings.db_name = db_name.clone()).await;
    let owner = unique("owner");
    let mut on_first = first.connect(&owner).await;
    let mut on_second = second.connect(&owner).await;
    let session = create_session(&mut on_first, session_fields("S", 60), json!([])).await;
    let id = session["id"].clone();
    let mut sequences = Vec::new();
    for round in 0..4 {
        let client = if round % 2 == 0 {
            &mut on_first
        } else {
            &mut on_second
        };
        client
            .ok(
                "social:updateSession",
                json!({"session": {"id": id, "title": format!("v{round}")}}),
            )
            .await;
        let app = if round % 2 == 0 { &second } else { &first };
        sequences.push(fetch(app, &id, &owner).await.event.get_sequence().unwrap());
    }
    assert_eq!(sequences, [1, 2, 3, 4]);
}

#[tokio::test]
async fn recurring_sessions_carry_their_rule() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({"endDate": "2031-06-30T18:00:00Z"})).await;
    let mut weekly = session_fields("Weekly", 60);
    weekly["eventId"] = event["id"].clone();
    weekly["isRecurring"] = json!(true);
    let weekly = create_session(&mut net.admin, weekly, json!([])).await;
    let ics = fetch(&app, &weekly["id"], &net.admin_id).await;
    assert_eq!(ics.one("RRULE").value, "FREQ=WEEKLY;UNTIL=20310630T180000Z");

    let mut daily = session_fields("Daily", 60);
    daily["isRecurring"] = json!(true);
    daily["recurrence"] = json!("FREQ=DAILY;COUNT=5");
    let daily = create_session(&mut net.admin, daily, json!([])).await;
    let ics = fetch(&app, &daily["id"], &net.admin_id).await;
    assert_eq!(ics.one("RRULE").value, "FREQ=DAILY;COUNT=5");
}

#[tokio::test]
async fn a_private_session_is_marked_private_and_hidden_from_others() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let ghost = unique("ghost");
    put_user(
        &app,
        json!({"id": &ghost, "firstName": "Hidden", "lastName": "Person", "privacyMode": 1}),
    )
    .await;
    let mut client = app.connect(&owner).await;
    let mut fields = session_fields("Secret meeting", 60);
    fields["sessionType"] = json!(1);
    let session = create_session(&mut client, fields, json!([{"userId": &ghost}])).await;
    let id = &session["id"];

    let ics = fetch(&app, id, &owner).await;
    assert_eq!(ics.one("CLASS").value, "PRIVATE");
    assert_eq!(
        ics.one("ATTENDEE").param("CN"),
        None,
        "incognito: no name for others"
    );
    assert!(!ics.raw.contains("Hidden"));
    let own_view = fetch(&app, id, &ghost).await;
    assert_eq!(own_view.one("ATTENDEE").param("CN"), Some("Hidden Person"));

    let http = reqwest::Client::new();
    let outsider = http
        .get(url(&app, id))
        .bearer_auth(app.token(&unique("outsider")))
        .send()
        .await
        .unwrap();
    assert_eq!(outsider.status(), 404);
    let outsider_body = outsider.text().await.unwrap();
    let missing = http
        .get(url(&app, &json!("no-such-session")))
        .bearer_auth(app.token(&owner))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.text().await.unwrap(),
        outsider_body,
        "no hint which"
    );
}

#[tokio::test]
async fn the_invitation_needs_a_valid_token_in_the_header_or_the_query() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let mut client = app.connect(&owner).await;
    let session = create_session(&mut client, session_fields("S", 60), json!([])).await;
    let address = url(&app, &session["id"]);
    let http = reqwest::Client::new();
    assert_eq!(http.get(&address).send().await.unwrap().status(), 401);
    let bad = http
        .get(&address)
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let query = format!("{address}?token={}", app.token(&owner));
    assert_eq!(http.get(&query).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn hostile_text_is_escaped_and_folded_and_comes_back_intact() {
    let app = spawn_app().await;
    let owner = unique("owner");
    put_user(
        &app,
        json!({"id": &owner, "firstName": "Zoë \"Z\"; O'Brien, Jr.", "lastName": "测试🎉"}),
    )
    .await;
    let mut client = app.connect(&owner).await;
    let title = "Q&A: commas, semicolons; back\\slash \\n not-a-newline 🎉🎉 中文标题";
    let description = format!(
        "Line one,\r\nline two; with \\ backslash\nemoji 👩‍👩‍👧‍👦 and CJK 日本語のテキスト\n{}",
        "長い説明🙂".repeat(300)
    );
    let mut fields = session_fields(title, 60);
    fields["description"] = json!(description);
    let session = create_session(&mut client, fields, json!([])).await;
    let ics = fetch(&app, &session["id"], &owner).await;

    assert_eq!(ics.event.get_summary(), Some(title));
    assert_eq!(
        ics.event.get_description(),
        Some(description.replace("\r\n", "\n").as_str()),
        "CRLF in text is kept as a line break"
    );
    assert!(
        ics.raw.contains(r"commas\, semicolons\; back\\slash \\n"),
        "{}",
        ics.raw
    );
    let folded = ics
        .raw
        .split("\r\n")
        .filter(|line| line.starts_with(' '))
        .count();
    assert!(folded > 20, "long text is folded");
    assert_eq!(
        ics.one("ORGANIZER").param("CN"),
        Some("Zoë 'Z'; O'Brien, Jr. 测试🎉"),
        "a quoted parameter keeps its separators"
    );
}
