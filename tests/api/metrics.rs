//! `GET /metrics`: Prometheus text that parses, every series served at 0 from the start,
//! counters that move with requests, refusals by reason, handled duplicate keys that are
//! no database errors, and no user id among the labels. The recorder is global to the
//! test binary, so every check on a test server compares two scrapes; what must hold
//! exactly (a fresh process, a counter that stays) is checked on a server process of its
//! own.

use serde_json::{Value, json};

use crate::helpers::{
    Client, Scrape, ServeProcess, create_session, session_fields, spawn_app, spawn_app_with, unique,
};

#[tokio::test]
async fn every_documented_series_is_served_at_zero_before_the_first_frame() {
    // A process of its own, fresh: nothing has happened in it yet.
    let server = ServeProcess::start(&unique("fresh")).await;
    let scrape = Scrape::at(&format!("http://{}/metrics", server.addr)).await;

    let at_zero = |name: &str, labels: &[(&str, &str)]| {
        assert_eq!(
            scrape.served(name, labels),
            Some(0.0),
            "{name} {labels:?} in:\n{}",
            scrape.text
        );
    };
    for name in [
        "social_connections",
        "social_pushes_delivered_total",
        "social_pushes_dropped_total",
        "social_clients_kicked_total",
        "social_push_lag_seconds_count",
        "social_db_clients_replaced_total",
        "social_prop_watches",
        "social_prop_looks_total",
        "social_prop_looks_shared_total",
        "social_reminders_sent_total",
    ] {
        at_zero(name, &[]);
    }
    for kind in ["timeout", "unavailable", "failed"] {
        at_zero("social_db_errors_total", &[("kind", kind)]);
    }
    for reason in ["rate", "quota", "connections", "size", "busy", "unanswered"] {
        at_zero("social_refusals_total", &[("reason", reason)]);
    }
    let endpoints = social_events::api::endpoint::Registry::global().names();
    for endpoint in endpoints.chain(["unknown"]) {
        at_zero("social_answer_seconds_count", &[("endpoint", endpoint)]);
        let codes: &[&str] = if endpoint == "unknown" {
            &["400", "404"]
        } else {
            &["0", "500", "503"]
        };
        for code in codes {
            at_zero(
                "social_frames_total",
                &[("endpoint", endpoint), ("code", code)],
            );
        }
    }
    // The database calls of the start-up may still be under way.
    for name in ["social_db_calls_in_flight", "social_db_calls_waiting"] {
        assert!(scrape.served(name, &[]).is_some(), "{name}");
    }
    assert_eq!(
        scrape.served(
            "social_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    assert!(scrape.text.contains("# HELP social_build_info"));
    for (route, status) in [
        ("/api/v0/ws", "101"),
        ("/api/v0/ws", "401"),
        ("/api/v0/resource/calendar/{feed}", "200"),
        ("/api/v0/resource/calendar/{feed}", "304"),
        ("/api/v0/resource/sessionInvitation/{sessionId}", "404"),
        (
            "/api/v0/internal/rooms/{roomId}/props/{propId}/deleted",
            "204",
        ),
        ("/readyz", "503"),
        ("/openapi.json", "200"),
        ("unmatched", "404"),
    ] {
        at_zero(
            "social_http_requests_total",
            &[("route", route), ("status", status)],
        );
        at_zero("social_http_answer_seconds_count", &[("route", route)]);
    }
}

#[tokio::test]
async fn the_process_serves_its_cpu_time_memory_and_file_descriptors() {
    let server = ServeProcess::start(&unique("figures")).await;
    let scrape = Scrape::at(&format!("http://{}/metrics", server.addr)).await;

    let figure = |name: &str| {
        scrape
            .served(name, &[])
            .unwrap_or_else(|| panic!("{name} in:\n{}", scrape.text))
    };
    assert!(figure("process_cpu_seconds_total") >= 0.0);
    assert!(figure("process_resident_memory_bytes") > 1_000_000.0);
    // At least standard input, output and error, and the listening socket.
    assert!(figure("process_open_fds") >= 4.0);
    let started = figure("process_start_time_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        started <= now && now - started < 600.0,
        "started {started}, now {now}"
    );
    assert!(
        scrape
            .text
            .contains("# TYPE process_cpu_seconds_total counter")
    );
}

#[tokio::test]
async fn frames_are_counted_by_endpoint_and_code_with_answer_times() {
    let app = spawn_app().await;
    let user_id = unique("metered");
    let mut client = app.connect(&user_id).await;
    let before = Scrape::of(&app).await;
    let session = create_session(&mut client, session_fields("Metered", 30), json!([])).await;
    for _ in 0..3 {
        client
            .ok("social:getSession", json!({"sessionId": session["id"]}))
            .await;
    }
    client
        .fails("social:getSession", json!({"sessionId": "nope"}), 404)
        .await;
    client.fails("social:noSuchThing", json!({}), 404).await;
    let after = Scrape::of(&app).await;

    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    let get_session = ("endpoint", "social:getSession");
    assert!(moved("social_frames_total", &[get_session, ("code", "0")]) >= 3.0);
    assert!(moved("social_frames_total", &[get_session, ("code", "404")]) >= 1.0);
    assert!(
        moved(
            "social_frames_total",
            &[("endpoint", "unknown"), ("code", "404")]
        ) >= 1.0
    );
    assert!(moved("social_answer_seconds_count", &[get_session]) >= 4.0);
    assert!(
        after
            .text
            .contains("social_answer_seconds_bucket{endpoint=\"social:getSession\",le=\"0.005\"}"),
        "answer times are a histogram with buckets"
    );
    assert!(after.value("social_connections", &[]) >= 1.0);
    assert!(
        !after.text.contains(&user_id),
        "a user id appeared in the metrics"
    );
    assert!(
        !after.text.contains("noSuchThing"),
        "a client's text appeared in the metrics"
    );
}

#[tokio::test]
async fn pushes_and_refusals_are_counted() {
    let app = spawn_app_with(|settings| {
        settings.connection.max_connections_per_user = 1;
        settings.connection.max_frame_bytes = 1024;
        settings.connection.requests_per_second = 2;
        settings.connection.burst = 4;
    })
    .await;
    let invitee_id = unique("invitee");
    let mut owner = app.connect(&unique("owner")).await;
    let mut invitee = app.connect(&invitee_id).await;
    let before = Scrape::of(&app).await;

    create_session(
        &mut owner,
        session_fields("Pushed", 30),
        json!([{"userId": &invitee_id}]),
    )
    .await;
    invitee.next_push("social:sessionUpdated").await;
    // A second connection of the invitee is refused; a frame over the limit too.
    let refused = reqwest::Client::new()
        .get(app.http_url("/api/v0/ws"))
        .bearer_auth(app.token(&invitee_id))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    // More frames at once than the burst allows.
    let mut codes = Vec::new();
    for _ in 0..6 {
        let frame = invitee
            .request("social:getEvents", json!({"source": "network:n"}))
            .await;
        codes.push(frame["error"]["code"].as_u64().unwrap());
    }
    assert!(codes.contains(&429), "{codes:?}");
    owner
        .send_text(
            json!({"endpoint": "social:getEvents", "data": {"source": "x".repeat(2048)}})
                .to_string(),
        )
        .await;
    assert_eq!(owner.next_frame().await["error"]["code"], 413);
    let after = Scrape::of(&app).await;

    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert!(moved("social_pushes_delivered_total", &[]) >= 1.0);
    assert!(moved("social_push_lag_seconds_count", &[]) >= 1.0);
    assert!(moved("social_refusals_total", &[("reason", "connections")]) >= 1.0);
    assert!(moved("social_refusals_total", &[("reason", "size")]) >= 1.0);
    assert!(moved("social_refusals_total", &[("reason", "rate")]) >= 1.0);
    assert!(after.text.contains("# HELP social_refusals_total"));
}

#[tokio::test]
async fn watched_props_and_their_looks_are_counted() {
    let app = spawn_app().await;
    let prop = unique("stage");
    let mut owner = app.connect(&unique("owner")).await;
    let mut watcher = app.connect(&unique("watcher")).await;
    let before = Scrape::of(&app).await;
    watcher
        .ok(
            "social:watchProp",
            json!({ "roomId": "room-1", "propId": &prop }),
        )
        .await;
    let mut session = session_fields("Watched", 60);
    session["propId"] = json!(&prop);
    create_session(&mut owner, session, json!([])).await;
    watcher.next_push("social:propSessionsUpdated").await;
    let after = Scrape::of(&app).await;
    // Other tests' watches come and go meanwhile, but this one is held.
    assert!(after.value("social_prop_watches", &[]) >= 1.0);
    assert!(
        after.value("social_prop_looks_total", &[]) - before.value("social_prop_looks_total", &[])
            >= 1.0
    );
    assert!(after.text.contains("# HELP social_prop_watches"));
}

#[tokio::test]
async fn the_watches_of_one_user_at_one_prop_share_their_looks() {
    let app = spawn_app().await;
    let prop = unique("stage");
    let viewer = unique("viewer");
    let mut owner = app.connect(&unique("owner")).await;
    let mut watchers = Vec::new();
    for _ in 0..3 {
        let mut watcher = app.connect(&viewer).await;
        watcher
            .ok(
                "social:watchProp",
                json!({ "roomId": "room-1", "propId": &prop }),
            )
            .await;
        watchers.push(watcher);
    }
    let before = Scrape::of(&app).await;
    let mut session = session_fields("Watched thrice", 60);
    session["propId"] = json!(&prop);
    create_session(&mut owner, session, json!([])).await;
    for watcher in &mut watchers {
        let pushed = watcher.next_push("social:propSessionsUpdated").await;
        assert_eq!(pushed["sessions"][0]["title"], "Watched thrice");
    }
    let after = Scrape::of(&app).await;
    // One look for the three connections; no other test's user watches with this one.
    let shared = after.value("social_prop_looks_shared_total", &[])
        - before.value("social_prop_looks_shared_total", &[]);
    assert!(shared >= 2.0, "{shared}");
}

/// Sends `endpoint` with `data` under `event_id`; answers the frame that answers it.
async fn send(client: &mut Client, endpoint: &str, data: &Value, event_id: &str) -> Value {
    let frame = json!({ "endpoint": endpoint, "data": data, "event": { "id": event_id } });
    client.send_text(frame.to_string()).await;
    loop {
        let frame = client.next_frame().await;
        if frame["event"]["id"] == event_id {
            return frame;
        }
    }
}

#[tokio::test]
async fn an_idempotent_retry_counts_no_database_error() {
    // A process of its own: no other test's database errors reach its metrics.
    let server = ServeProcess::start(&unique("retried")).await;
    let metrics = format!("http://{}/metrics", server.addr);
    let mut client = server.connect(&unique("owner")).await;
    let data = json!({ "session": session_fields("Sent twice", 60) });
    let first = send(&mut client, "social:createSession", &data, "create-1").await;
    assert_eq!(first["error"]["code"], 0, "{first}");
    let before = Scrape::at(&metrics).await;

    let again = send(&mut client, "social:createSession", &data, "create-1").await;
    let after = Scrape::at(&metrics).await;

    assert_eq!(
        again["data"], first["data"],
        "the retry is answered with the first answer"
    );
    for kind in ["timeout", "unavailable", "failed"] {
        let kind = [("kind", kind)];
        assert_eq!(
            after.value("social_db_errors_total", &kind),
            before.value("social_db_errors_total", &kind),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn http_requests_are_counted_and_timed_by_route_template_never_by_path() {
    let app = spawn_app().await;
    let before = Scrape::of(&app).await;
    let mut client = app.connect(&unique("subscriber")).await;
    let answer = client.ok("social:getCalendarFeed", json!({})).await;
    let url = answer["url"].as_str().unwrap();
    let path = url
        .strip_prefix("https://social.example.test")
        .unwrap_or_else(|| panic!("{url} is not under the public URL"));
    let token = path
        .strip_prefix("/api/v0/resource/calendar/")
        .and_then(|file| file.strip_suffix(".ics"))
        .unwrap();
    let feed = reqwest::get(app.http_url(path)).await.unwrap();
    assert_eq!(feed.status(), 200);
    let unknown = reqwest::get(app.http_url("/no/such/route")).await.unwrap();
    assert_eq!(unknown.status(), 404);
    let after = Scrape::of(&app).await;

    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    let feed_route = ("route", "/api/v0/resource/calendar/{feed}");
    assert!(
        moved(
            "social_http_requests_total",
            &[feed_route, ("status", "200")]
        ) >= 1.0
    );
    assert!(moved("social_http_answer_seconds_count", &[feed_route]) >= 1.0);
    assert!(
        after.text.contains(
            "social_http_answer_seconds_bucket{route=\"/api/v0/resource/calendar/{feed}\",le=\"0.005\"}"
        ),
        "answer times are a histogram with buckets"
    );
    let upgrade = [("route", "/api/v0/ws"), ("status", "101")];
    assert!(moved("social_http_requests_total", &upgrade) >= 1.0);
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert!(moved("social_http_requests_total", &unmatched) >= 1.0);
    assert!(
        !after.text.contains(token),
        "a calendar feed's secret appeared in the metrics"
    );
    assert!(
        !after.text.contains("/no/such/route"),
        "a client's path appeared in the metrics"
    );
}
