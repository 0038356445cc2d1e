//! The six event endpoints: success paths, validation, permissions and storage.

use bson::{Bson, RawBsonRef, RawDocumentBuf, doc};
use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole as Role;

use crate::helpers::{
    create_event, create_session, event_fields, network, session_fields, spawn_app, unique,
};

#[tokio::test]
async fn create_event_answers_the_stored_event_with_server_fields() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let source = net.source;
    let data = net
        .admin
        .ok(
            "social:createEvent",
            json!({"source": source, "event": event_fields("Launch"), "formSchema": {"q": [1]}}),
        )
        .await;
    let event = &data["event"];
    let keys: Vec<&str> = event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "created",
            "updated",
            "sourceString",
            "sourceType",
            "sourcePk",
            "networkId",
            "title",
            "description",
            "startDate",
            "endDate",
            "previewResourceId",
            "roomId",
            "participantLimit",
            "price",
            "customData",
            "status",
            "formSchema"
        ]
    );
    assert_eq!(event["sourceString"], source);
    assert_eq!(event["sourceType"], "network");
    assert_eq!(event["sourcePk"], net.id);
    assert_eq!(event["networkId"], net.id);
    assert_eq!(event["title"], "Launch");
    assert_eq!(event["startDate"], 1_900_000_000_000_i64);
    assert_eq!(event["status"], 0);
    assert_eq!(event["price"], json!(0.0));
    assert_eq!(event["formSchema"], json!({"q": [1]}));
    assert!(event["created"].is_i64() && event["created"] == event["updated"]);
    let id = event["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);

    let stored = app
        .store
        .database()
        .collection::<bson::Document>("events")
        .find_one(doc! {"_id": id})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_str("ownerId").unwrap(), net.admin_id);
    assert!(matches!(stored.get("startDate"), Some(Bson::DateTime(_))));
}

#[tokio::test]
async fn create_event_accepts_rfc3339_dates_and_defaults_optional_fields() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let data = net
        .admin
        .ok(
            "social:createEvent",
            json!({"source": net.source, "event": {
                "title": "Minimal",
                "startDate": "2030-01-01T10:00:00+01:00",
                "endDate": "2030-01-01T09:30:00Z"
            }}),
        )
        .await;
    let event = &data["event"];
    assert_eq!(event["startDate"], 1_893_488_400_000_i64);
    assert_eq!(event["endDate"], 1_893_490_200_000_i64);
    assert_eq!(event["description"], "");
    assert_eq!(event["participantLimit"], 0);
    assert_eq!(event["customData"], json!({}));
    assert_eq!(event["formSchema"], json!({}));
}

#[tokio::test]
async fn create_event_in_a_community_carries_the_community_as_source_pk() {
    let app = spawn_app().await;
    let network_id = unique("net");
    let admin = unique("cadmin");
    app.add_membership(&admin, &network_id, Some("c9"), Role::Admin)
        .await;
    let mut client = app.connect(&admin).await;
    let source = format!("community:{network_id}:c9");
    let event = create_event(&mut client, &source, "Meetup").await;
    assert_eq!(event["sourceType"], "community");
    assert_eq!(event["sourcePk"], "c9");
    assert_eq!(event["networkId"], network_id);
    assert_eq!(event["sourceString"], source);
}

#[tokio::test]
async fn create_event_answers_400_naming_the_invalid_field() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let source = net.source;
    let with = |patch: Value| {
        let mut event = event_fields("T");
        for (key, value) in patch.as_object().unwrap() {
            event[key] = value.clone();
        }
        json!({"source": source, "event": event})
    };
    let cases = [
        (
            json!({"event": event_fields("T")}),
            "data.source: is required",
        ),
        (
            json!({"source": "club:1", "event": event_fields("T")}),
            "data.source: must be",
        ),
        (json!({"source": source}), "data.event: is required"),
        (
            with(json!({"title": ""})),
            "data.event.title: must not be empty",
        ),
        (
            with(json!({"title": "x".repeat(201)})),
            "data.event.title: must be at most 200",
        ),
        (
            with(json!({"title": 5})),
            "data.event.title: invalid type: expected a string, got the number 5",
        ),
        (
            with(json!({"description": "x".repeat(10_001)})),
            "data.event.description: must be at most",
        ),
        (
            with(json!({"endDate": 1_899_999_999_999_i64})),
            "data.event.endDate: must not be before startDate",
        ),
        (
            with(json!({"startDate": "tomorrow"})),
            "data.event.startDate: not an RFC 3339",
        ),
        (
            with(json!({"participantLimit": -1})),
            "data.event.participantLimit: must not be negative",
        ),
        (
            with(json!({"participantLimit": 2.5})),
            "data.event.participantLimit: invalid type: expected an integer, got the number 2.5",
        ),
        (
            with(json!({"price": -1.0})),
            "data.event.price: must be a finite number",
        ),
        (
            with(json!({"price": "free"})),
            "data.event.price: invalid type: expected a number, got the string \"free\"",
        ),
        (
            with(json!({"customData": "x"})),
            "data.event.customData: invalid type: expected an object, got the string \"x\"",
        ),
        (
            with(json!({"customData": {"k": u64::MAX}})),
            "data.event.customData.k: integer out of range",
        ),
        (
            with(json!({"customData": {"blob": "x".repeat(70_000)}})),
            "data.event.customData: is ",
        ),
    ];
    for (data, expected) in cases {
        let message = net
            .admin
            .fails("social:createEvent", data.clone(), 400)
            .await;
        assert!(
            message.starts_with(expected),
            "{data}: {message:?} should start with {expected:?}"
        );
    }
    let mut title_missing = event_fields("T");
    title_missing.as_object_mut().unwrap().remove("title");
    let message = net
        .admin
        .fails(
            "social:createEvent",
            json!({"source": source, "event": title_missing}),
            400,
        )
        .await;
    assert_eq!(message, "data.event.title: is required");
    let message = net
        .admin
        .fails(
            "social:createEvent",
            json!({"source": source, "event": event_fields("T"), "formSchema": [1]}),
            400,
        )
        .await;
    assert!(
        message == "data.formSchema: invalid type: expected an object, got an array",
        "{message}"
    );
    let mut deep = json!(1);
    for _ in 0..33 {
        deep = json!({ "d": deep });
    }
    let message = net
        .admin
        .fails(
            "social:createEvent",
            json!({"source": source, "event": event_fields("T"), "formSchema": deep}),
            400,
        )
        .await;
    assert!(
        message.contains("nested deeper than 32 levels"),
        "{message}"
    );

    let count = app
        .store
        .database()
        .collection::<bson::Document>("events")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(count, 0, "no invalid event was stored");
}

#[tokio::test]
async fn create_event_is_forbidden_to_members_and_strangers() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let source = net.source;
    let data = json!({"source": source, "event": event_fields("T")});
    net.member
        .fails("social:createEvent", data.clone(), 403)
        .await;
    let mut stranger = app.connect(&unique("stranger")).await;
    stranger.fails("social:createEvent", data, 403).await;
}

#[tokio::test]
async fn a_network_admin_creates_events_in_its_communities_but_a_community_admin_not_in_the_network()
 {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let community = format!("community:{}:c1", net.id);
    create_event(&mut net.admin, &community, "Community by network admin").await;

    let community_admin = unique("cadmin");
    app.add_membership(&community_admin, &net.id, Some("c1"), Role::Admin)
        .await;
    let mut client = app.connect(&community_admin).await;
    create_event(&mut client, &community, "Community by its admin").await;
    client
        .fails(
            "social:createEvent",
            json!({"source": net.source, "event": event_fields("T")}),
            403,
        )
        .await;
}

#[tokio::test]
async fn custom_data_and_form_schema_round_trip_exactly_and_are_stored_natively() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let custom = r#"{"zeta":1,"alpha":{"nested":[1,[2,[3,{"deep":true}]],[]],"empty":{}},"big":9007199254740993,"negative":-5000000000,"float":1.0,"half":0.5,"unicode":"héllo wörld 😀 中文","null":null,"a.b":"dotted","$x":{"$oid":"not-an-object-id"},"$numberLong":"12"}"#;
    let schema = r#"{"fields":[{"name":"email","type":"string","required":true,"max":3000000000,"weight":1.0}],"version":2,"$schema":"x","a.b":{},"label":"Ünïcödé ✓","empty":[]}"#;
    let frame = format!(
        r#"{{"endpoint":"social:createEvent","data":{{"source":"{}","event":{{"title":"T","startDate":1,"endDate":2,"customData":{custom}}},"formSchema":{schema}}},"event":{{"id":"rt"}}}}"#,
        net.source
    );
    net.admin.send_text(frame).await;
    let answer = net.admin.next_frame().await;
    let created = serde_json::to_string(&answer["data"]["event"]).unwrap();
    assert!(
        created.contains(&format!("\"customData\":{custom}")),
        "{created}"
    );
    assert!(
        created.contains(&format!("\"formSchema\":{schema}")),
        "{created}"
    );

    let id = answer["data"]["event"]["id"].as_str().unwrap().to_owned();
    let fetched = net
        .admin
        .ok("social:getEvent", json!({"eventId": id}))
        .await;
    let fetched = serde_json::to_string(&fetched["event"]).unwrap();
    assert!(
        fetched.contains(&format!("\"customData\":{custom}")),
        "{fetched}"
    );
    assert!(
        fetched.contains(&format!("\"formSchema\":{schema}")),
        "{fetched}"
    );

    // Read raw: a decoder into `Document` would read the client's `$oid` key as an ObjectId.
    let stored = app
        .store
        .database()
        .collection::<RawDocumentBuf>("events")
        .find_one(doc! {"_id": &id})
        .await
        .unwrap()
        .unwrap();
    let custom_data = stored.get_document("customData").unwrap();
    assert_eq!(
        custom_data.get("big").unwrap(),
        Some(RawBsonRef::Int64(9_007_199_254_740_993))
    );
    assert_eq!(custom_data.get("zeta").unwrap(), Some(RawBsonRef::Int32(1)));
    assert_eq!(
        custom_data.get("float").unwrap(),
        Some(RawBsonRef::Double(1.0))
    );
    let dollar = custom_data.get_document("$x").unwrap();
    assert_eq!(dollar.get_str("$oid").unwrap(), "not-an-object-id");
    assert_eq!(custom_data.get_str("a.b").unwrap(), "dotted");
    let queried = app
        .store
        .database()
        .collection::<bson::Document>("events")
        .count_documents(doc! {"customData.alpha.nested": 1, "formSchema.version": 2})
        .await
        .unwrap();
    assert_eq!(queried, 1, "sub-documents are queryable");
}

#[tokio::test]
async fn update_event_changes_only_the_fields_present() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = create_event(&mut net.admin, &net.source, "Before").await;
    let id = event["id"].as_str().unwrap();
    let data = net
        .admin
        .ok(
            "social:updateEvent",
            json!({"eventId": id, "event": {"title": "After", "customData": {"new": [1.5]}}}),
        )
        .await;
    let updated = &data["event"];
    assert_eq!(updated["title"], "After");
    assert_eq!(
        updated["customData"],
        json!({"new": [1.5]}),
        "customData is replaced whole"
    );
    for unchanged in [
        "description",
        "startDate",
        "endDate",
        "roomId",
        "participantLimit",
        "created",
        "formSchema",
    ] {
        assert_eq!(updated[unchanged], event[unchanged], "{unchanged}");
    }
    assert!(updated["updated"].as_i64() >= event["updated"].as_i64());

    let data = net
        .admin
        .ok(
            "social:updateEvent",
            json!({"eventId": id, "formSchema": {"v": 3}}),
        )
        .await;
    assert_eq!(data["event"]["formSchema"], json!({"v": 3}));
    assert_eq!(data["event"]["title"], "After");
    let fetched = net
        .member
        .ok("social:getEvents", json!({"source": net.source}))
        .await;
    assert_eq!(
        fetched["events"],
        json!([]),
        "still a draft, hidden from members"
    );
}

#[tokio::test]
async fn update_event_validates_the_merged_event_naming_the_field_sent() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = create_event(&mut net.admin, &net.source, "E").await;
    let id = event["id"].as_str().unwrap();
    let message = net
        .admin
        .fails(
            "social:updateEvent",
            json!({"eventId": id, "event": {"endDate": 1}}),
            400,
        )
        .await;
    assert_eq!(message, "data.event.endDate: must not be before startDate");
    let message = net
        .admin
        .fails(
            "social:updateEvent",
            json!({"eventId": id, "event": {"startDate": 1_999_000_000_000_i64}}),
            400,
        )
        .await;
    assert_eq!(message, "data.event.startDate: must not be after endDate");
    let message = net
        .admin
        .fails(
            "social:updateEvent",
            json!({"eventId": id, "event": {"title": " "}}),
            400,
        )
        .await;
    assert_eq!(message, "data.event.title: must not be empty");
    let message = net.admin.fails("social:updateEvent", json!({}), 400).await;
    assert_eq!(message, "data.eventId: is required");
    let unchanged = net
        .admin
        .ok("social:getEvent", json!({"eventId": id}))
        .await;
    assert_eq!(
        unchanged["event"], event,
        "a refused update changes nothing"
    );
}

#[tokio::test]
async fn update_publish_and_delete_are_forbidden_to_members_who_can_see_the_event() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = create_event(&mut net.admin, &net.source, "E").await;
    let id = event["id"].as_str().unwrap();
    net.admin
        .ok("social:publishEvent", json!({"eventId": id}))
        .await;
    net.member
        .fails(
            "social:updateEvent",
            json!({"eventId": id, "event": {"title": "x"}}),
            403,
        )
        .await;
    net.member
        .fails("social:publishEvent", json!({"eventId": id}), 403)
        .await;
    net.member
        .fails("social:deleteEvent", json!({"eventId": id}), 403)
        .await;
    net.member
        .ok("social:getEvent", json!({"eventId": id}))
        .await;
}

#[tokio::test]
async fn a_creator_who_is_no_longer_admin_still_manages_the_event() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = create_event(&mut net.admin, &net.source, "Mine").await;
    let id = event["id"].as_str().unwrap();
    app.add_membership(&net.admin_id, &net.id, None, Role::Member)
        .await;
    net.admin
        .ok(
            "social:updateEvent",
            json!({"eventId": id, "event": {"title": "Still mine"}}),
        )
        .await;
    net.admin
        .ok("social:publishEvent", json!({"eventId": id}))
        .await;
}

#[tokio::test]
async fn another_admin_of_the_source_manages_the_event() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = create_event(&mut net.admin, &net.source, "E").await;
    let id = event["id"].as_str().unwrap();
    let second = unique("admin2");
    app.add_membership(&second, &net.id, None, Role::Admin)
        .await;
    let mut client = app.connect(&second).await;
    client
        .ok(
            "social:updateEvent",
            json!({"eventId": id, "event": {"price": 12.5}}),
        )
        .await;
    client
        .ok("social:deleteEvent", json!({"eventId": id}))
        .await;
}

#[tokio::test]
async fn publish_event_sets_status_and_is_idempotent() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = create_event(&mut net.admin, &net.source, "E").await;
    let id = event["id"].as_str().unwrap();
    let first = net
        .admin
        .ok("social:publishEvent", json!({"eventId": id}))
        .await;
    assert_eq!(first["event"]["status"], 1);
    let second = net
        .admin
        .ok("social:publishEvent", json!({"eventId": id}))
        .await;
    assert_eq!(second, first, "publishing again changes nothing");
    net.admin
        .fails("social:publishEvent", json!({"eventId": "missing"}), 404)
        .await;
    net.admin
        .fails("social:publishEvent", json!({"eventId": 7}), 400)
        .await;
}

#[tokio::test]
async fn delete_event_removes_it_and_its_sessions_with_no_data_in_the_answer() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = create_event(&mut net.admin, &net.source, "E").await;
    let id = event["id"].as_str().unwrap().to_owned();
    let other = create_event(&mut net.admin, &net.source, "Other").await;
    for event_id in [&event["id"], &event["id"], &other["id"]] {
        let mut fields = session_fields("S", 60);
        fields["eventId"] = event_id.clone();
        create_session(&mut net.admin, fields, json!([])).await;
    }
    let sessions = app
        .store
        .database()
        .collection::<bson::Document>("sessions");

    let frame = net
        .admin
        .request("social:deleteEvent", json!({"eventId": id}))
        .await;
    assert_eq!(frame["error"]["code"], 0, "{frame}");
    assert!(frame.get("data").is_none(), "{frame}");
    net.admin
        .fails("social:getEvent", json!({"eventId": id}), 404)
        .await;
    net.admin
        .fails("social:deleteEvent", json!({"eventId": id}), 404)
        .await;
    assert_eq!(
        sessions
            .count_documents(doc! {"eventId": &id})
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        sessions.count_documents(doc! {}).await.unwrap(),
        1,
        "other events keep theirs"
    );
}

#[tokio::test]
async fn get_events_lists_by_start_date_then_id() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let source = net.source;
    let mut ids = Vec::new();
    for (title, start) in [
        ("late", 3_000),
        ("early", 1_000),
        ("tie-a", 2_000),
        ("tie-b", 2_000),
    ] {
        let data = net
            .admin
            .ok(
                "social:createEvent",
                json!({"source": source, "event": {"title": title, "startDate": start, "endDate": 5_000}}),
            )
            .await;
        let id = data["event"]["id"].as_str().unwrap().to_owned();
        net.admin
            .ok("social:publishEvent", json!({"eventId": id}))
            .await;
        ids.push((start, id, title));
    }
    ids.sort();
    let data = net
        .member
        .ok("social:getEvents", json!({"source": source}))
        .await;
    let titles: Vec<&str> = data["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["title"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = ids.iter().map(|(_, _, title)| *title).collect();
    assert_eq!(titles, expected);
    assert_eq!(expected[0], "early");

    let other = net
        .member
        .ok(
            "social:getEvents",
            json!({"source": format!("network:{}", unique("n"))}),
        )
        .await;
    assert_eq!(other["events"], json!([]));
    let message = net
        .member
        .fails("social:getEvents", json!({"source": "nope"}), 400)
        .await;
    assert!(message.starts_with("data.source:"), "{message}");
}

#[tokio::test]
async fn events_with_the_same_start_are_ordered_by_id_not_by_creation() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let created = create_event(&mut net.admin, &net.source, "Template").await;
    net.admin
        .ok("social:publishEvent", json!({"eventId": created["id"]}))
        .await;
    let template = app
        .store
        .find_event(&created["id"].as_str().unwrap().into())
        .await
        .unwrap()
        .unwrap();
    app.store.delete_event(&template.id).await.unwrap();
    // Stored in the order z, a, m: the answer must still be a, m, z.
    for (id, title) in [("z", "last"), ("a", "first"), ("m", "middle")] {
        let mut copy = template.clone();
        copy.id = format!("{id}-{}", template.id).into();
        copy.title = title.to_owned();
        app.store.insert_event(&copy).await.unwrap();
    }
    let listed = net
        .member
        .ok("social:getEvents", json!({"source": net.source}))
        .await;
    let titles: Vec<&str> = listed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["first", "middle", "last"]);
}

#[tokio::test]
async fn a_form_schema_inside_event_is_kept_as_one_beside_it_is() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let mut fields = event_fields("Inside");
    fields["formSchema"] = json!({"fields": [{"name": "company"}]});
    let created = net
        .admin
        .ok(
            "social:createEvent",
            json!({"source": net.source, "event": fields}),
        )
        .await;
    assert_eq!(
        created["event"]["formSchema"],
        json!({"fields": [{"name": "company"}]})
    );
    let id = created["event"]["id"].as_str().unwrap();
    let updated = net
        .admin
        .ok(
            "social:updateEvent",
            json!({"eventId": id, "event": {"formSchema": {"v": 2}}}),
        )
        .await;
    assert_eq!(updated["event"]["formSchema"], json!({"v": 2}));
    // The same object in both places is one formSchema.
    let both = net
        .admin
        .ok(
            "social:updateEvent",
            json!({"eventId": id, "event": {"formSchema": {"v": 3}}, "formSchema": {"v": 3}}),
        )
        .await;
    assert_eq!(both["event"]["formSchema"], json!({"v": 3}));
    let fetched = net
        .admin
        .ok("social:getEvent", json!({"eventId": id}))
        .await;
    assert_eq!(fetched["event"]["formSchema"], json!({"v": 3}));
}

#[tokio::test]
async fn two_different_form_schemas_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let mut fields = event_fields("Both");
    fields["formSchema"] = json!({"v": 1});
    let message = net
        .admin
        .fails(
            "social:createEvent",
            json!({"source": net.source, "event": fields, "formSchema": {"v": 2}}),
            400,
        )
        .await;
    assert!(
        message.starts_with("data.event.formSchema: differs from data.formSchema"),
        "{message}"
    );
    let listed = net
        .admin
        .ok("social:getEvents", json!({"source": net.source}))
        .await;
    assert_eq!(listed["events"], json!([]));
}

#[tokio::test]
async fn a_known_field_in_the_wrong_object_is_refused_naming_where_it_belongs() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let mut fields = event_fields("Misplaced");
    fields.as_object_mut().unwrap().remove("customData");
    let message = net
        .admin
        .fails(
            "social:createEvent",
            json!({"source": net.source, "event": fields, "customData": {"venue": "Hall 2"}}),
            400,
        )
        .await;
    assert_eq!(
        message,
        "data.customData: belongs inside data.event: send it as data.event.customData"
    );
    let event = create_event(&mut net.admin, &net.source, "Placed").await;
    let message = net
        .admin
        .fails(
            "social:updateEvent",
            json!({"event": {"eventId": event["id"], "title": "New"}}),
            400,
        )
        .await;
    assert_eq!(
        message,
        "data.event.eventId: belongs beside data.event, not inside it: send it as data.eventId"
    );
    let message = net
        .admin
        .fails(
            "social:createSession",
            json!({"session": session_fields("S", 60), "propId": "stage"}),
            400,
        )
        .await;
    assert_eq!(
        message,
        "data.propId: belongs inside data.session: send it as data.session.propId"
    );
    let mut session = session_fields("S", 60);
    session["usersToInvite"] = json!([{"userId": net.member_id, "role": 0}]);
    let message = net
        .admin
        .fails("social:createSession", json!({ "session": session }), 400)
        .await;
    assert!(
        message.starts_with("data.session.usersToInvite: belongs beside data.session"),
        "{message}"
    );
    // Unknown fields are still ignored, anywhere.
    let mut fields = event_fields("Newer");
    fields["venueMap"] = json!({"floor": 2});
    net.admin
        .ok(
            "social:createEvent",
            json!({"source": net.source, "event": fields, "newerOption": true}),
        )
        .await;
}
