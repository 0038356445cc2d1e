//! Paged lists: `getEvents` and `getSessions` with `limit`, `after` and `nextCursor`.

use serde_json::{Value, json};

use crate::helpers::{Client, create_session, network, published_event, session_fields, spawn_app};

/// Every page of `endpoint` with `data` and `limit`, followed by `nextCursor`; answers the
/// ids in order, and checks that only the last page lacks a cursor.
async fn all_pages(
    client: &mut Client,
    endpoint: &str,
    data: Value,
    key: &str,
    limit: u64,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut request = data.clone();
        request["limit"] = json!(limit);
        if let Some(cursor) = &after {
            request["after"] = json!(cursor);
        }
        let page = client.ok(endpoint, request).await;
        let items = page[key].as_array().unwrap();
        assert!(items.len() as u64 <= limit);
        ids.extend(
            items
                .iter()
                .map(|item| item["id"].as_str().unwrap().to_owned()),
        );
        match page.get("nextCursor") {
            Some(cursor) => {
                assert_eq!(items.len() as u64, limit, "a page before the last is full");
                after = Some(cursor.as_str().unwrap().to_owned());
            }
            None => return ids,
        }
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn event_pages_concatenate_to_the_whole_list_even_while_events_are_added() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    // Two share a start, so that the id decides their order.
    for start in [3, 1, 2, 2, 5] {
        published_event(
            &mut net,
            json!({"title": format!("E{start}"), "startDate": start * 1000}),
        )
        .await;
    }
    let source = json!({"source": net.source});
    let whole = net.member.ok("social:getEvents", source.clone()).await;
    assert!(whole.get("nextCursor").is_none(), "one page holds them all");
    let expected = ids(&whole["events"]);
    assert_eq!(expected.len(), 5);
    for limit in [1, 2, 4, 5] {
        assert_eq!(
            all_pages(
                &mut net.member,
                "social:getEvents",
                source.clone(),
                "events",
                limit
            )
            .await,
            expected
        );
    }

    // Added between two pages: one before the position reached, one after it.
    let first = net
        .member
        .ok(
            "social:getEvents",
            json!({"source": net.source, "limit": 2}),
        )
        .await;
    published_event(&mut net, json!({"title": "early", "startDate": 0})).await;
    let late = published_event(&mut net, json!({"title": "late", "startDate": 9000})).await;
    let rest = net
        .member
        .ok(
            "social:getEvents",
            json!({"source": net.source, "after": first["nextCursor"]}),
        )
        .await;
    let mut seen = ids(&first["events"]);
    seen.extend(ids(&rest["events"]));
    let mut expected_now = expected.clone();
    expected_now.push(late["id"].as_str().unwrap().to_owned());
    assert_eq!(seen, expected_now, "no event twice or missing");
}

#[tokio::test]
async fn session_pages_skip_hidden_sessions_and_concatenate_to_the_visible_list() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    for (index, kind) in [0, 1, 0, 1, 1, 0, 2, 1, 0].iter().enumerate() {
        let mut fields = session_fields(&format!("S{index}"), index as i64 * 10);
        fields["eventId"] = event["id"].clone();
        fields["sessionType"] = json!(kind);
        create_session(&mut net.admin, fields, json!([])).await;
    }
    let request = json!({"eventId": event["id"]});
    let visible = ids(&net.member.ok("social:getSessions", request.clone()).await["sessions"]);
    assert_eq!(
        visible.len(),
        5,
        "Private sessions are hidden from a member"
    );
    for limit in [1, 2, 3] {
        assert_eq!(
            all_pages(
                &mut net.member,
                "social:getSessions",
                request.clone(),
                "sessions",
                limit
            )
            .await,
            visible
        );
    }
    let everything = ids(&net.admin.ok("social:getSessions", request.clone()).await["sessions"]);
    assert_eq!(
        all_pages(&mut net.admin, "social:getSessions", request, "sessions", 4).await,
        everything
    );
}

#[tokio::test]
async fn limits_and_cursors_the_server_did_not_make_are_refused() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    for limit in [json!(0), json!(501), json!(-3), json!(1.5), json!("5")] {
        let error = net
            .member
            .fails(
                "social:getEvents",
                json!({"source": net.source, "limit": limit}),
                400,
            )
            .await;
        assert!(error.starts_with("data.limit: "), "{limit}: {error}");
    }
    let events_cursor = {
        published_event(&mut net, json!({})).await;
        net.member
            .ok(
                "social:getEvents",
                json!({"source": net.source, "limit": 1}),
            )
            .await["nextCursor"]
            .clone()
    };
    assert!(events_cursor.is_string());
    // The same position with another id: a cursor the server did not make.
    let text = events_cursor.as_str().unwrap();
    let (position, signature) = text.rsplit_once('.').unwrap();
    let last = if position.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}.{signature}", &position[..position.len() - 1]);
    let error = net
        .member
        .fails(
            "social:getEvents",
            json!({"source": net.source, "after": tampered}),
            400,
        )
        .await;
    assert!(error.starts_with("data.after: "), "{error}");
    for after in [
        json!("garbage"),
        json!({"$gt": ""}),
        json!(7),
        events_cursor,
    ] {
        let error = net
            .member
            .fails(
                "social:getSessions",
                json!({"eventId": event["id"], "after": after}),
                400,
            )
            .await;
        assert!(error.starts_with("data.after: "), "{error}");
    }
}

#[tokio::test]
async fn a_cursor_of_one_event_or_source_is_refused_for_another() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let (first, second) = (
        published_event(&mut net, json!({})).await,
        published_event(&mut net, json!({})).await,
    );
    for minutes in [30, 60] {
        let mut fields = session_fields("Talk", minutes);
        fields["eventId"] = first["id"].clone();
        create_session(&mut net.admin, fields, json!([])).await;
    }
    let cursor = net
        .member
        .ok(
            "social:getSessions",
            json!({"eventId": first["id"], "limit": 1}),
        )
        .await["nextCursor"]
        .clone();
    assert!(cursor.is_string(), "{cursor}");
    let error = net
        .member
        .fails(
            "social:getSessions",
            json!({"eventId": second["id"], "after": cursor}),
            400,
        )
        .await;
    assert!(error.starts_with("data.after: "), "{error}");

    let events_cursor = net
        .member
        .ok(
            "social:getEvents",
            json!({"source": net.source, "limit": 1}),
        )
        .await["nextCursor"]
        .clone();
    assert!(events_cursor.is_string(), "{events_cursor}");
    let other = network(&app).await;
    let error = net
        .member
        .fails(
            "social:getEvents",
            json!({"source": other.source, "after": events_cursor}),
            400,
        )
        .await;
    assert!(error.starts_with("data.after: "), "{error}");
}
