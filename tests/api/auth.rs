//! Authentication at the upgrade and while connected, and the user created on first connect.

use std::process::Command;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use social_events::token::{Claims, TokenVerifier};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, unique};

/// The HTTP status of a refused upgrade.
async fn refused_status(request: impl IntoClientRequest + Unpin) -> u16 {
    match tokio_tungstenite::connect_async(request).await {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Ok(_) => panic!("the upgrade should be refused"),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
    }
}

fn claims(user_id: &str, expires_in: i64) -> Claims {
    Claims {
        sub: user_id.to_owned(),
        exp: chrono::Utc::now().timestamp() + expires_in,
        ..Claims::default()
    }
}

async fn with_bearer(app: &TestApp, token: &str) -> u16 {
    let mut request = app.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    refused_status(request).await
}

#[tokio::test]
async fn an_upgrade_without_a_token_is_refused_with_401() {
    let app = spawn_app().await;
    assert_eq!(refused_status(app.ws_url()).await, 401);
}

#[tokio::test]
async fn malformed_expired_and_wrongly_signed_tokens_are_refused_with_401() {
    let app = spawn_app().await;
    assert_eq!(with_bearer(&app, "not-a-jwt").await, 401);
    let expired = app.token_with(&claims("u", -60));
    assert_eq!(with_bearer(&app, &expired).await, 401);
    let foreign = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("u", 600),
        &EncodingKey::from_secret(b"some-other-secret-that-is-32-bytes"),
    )
    .unwrap();
    assert_eq!(with_bearer(&app, &foreign).await, 401);
    let unsigned = format!(
        "{}.{}.",
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0", "eyJzdWIiOiJ1IiwiZXhwIjo0MTAyNDQ0ODAwfQ"
    );
    assert_eq!(with_bearer(&app, &unsigned).await, 401);
    let mut empty_subject = claims("", 600);
    empty_subject.sub = String::new();
    assert_eq!(
        with_bearer(&app, &app.token_with(&empty_subject)).await,
        401
    );
}

/// The body of a refused upgrade with `token` as the bearer.
async fn refusal_body(app: &TestApp, token: &str) -> String {
    let mut request = app.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401);
            String::from_utf8(response.body().clone().unwrap_or_default()).unwrap()
        }
        Ok(_) => panic!("the upgrade should be refused"),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test]
async fn a_refused_token_is_told_why_in_words_it_can_act_on() {
    let app = spawn_app().await;
    let foreign = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("u", 600),
        &EncodingKey::from_secret(b"some-other-secret-that-is-32-bytes"),
    )
    .unwrap();
    let body = refusal_body(&app, &foreign).await;
    assert!(
        body.starts_with("invalid token: its signature does not match this service's secret"),
        "{body}"
    );
    let expired = claims("u", -60);
    let body = refusal_body(&app, &app.token_with(&expired)).await;
    let at = chrono::DateTime::from_timestamp(expired.exp, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        body.starts_with(&format!("invalid token: it expired at {at}")),
        "{body}"
    );
    let body = refusal_body(&app, "not-a-jwt").await;
    assert!(
        body.starts_with("invalid token: it is not a well-formed JWT"),
        "{body}"
    );
}

#[tokio::test]
async fn a_token_in_the_query_string_is_accepted() {
    let app = spawn_app().await;
    let url = format!("{}?token={}", app.ws_url(), app.token("query-user"));
    let (mut stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    stream.close(None).await.unwrap();
    let bad = format!("{}?token=garbage", app.ws_url());
    assert_eq!(refused_status(bad).await, 401);
}

#[tokio::test]
async fn the_first_connect_creates_the_user_from_the_token_claims_once() {
    let app = spawn_app().await;
    let user_id = unique("ada");
    let mut first = claims(&user_id, 600);
    first.given_name = Some("Ada".into());
    first.family_name = Some("Lovelace".into());
    first.email = Some("Ada@Example.COM".into());
    first.email_verified = Some(true);
    first.picture = Some("https://img.example/ada.png".into());
    drop(app.connect_with_token(&app.token_with(&first)).await);
    // Read as stored, past the server's caches.
    let platform = app.platform().await;
    let stored = platform
        .find_user(&user_id)
        .await
        .unwrap()
        .expect("user created");
    assert_eq!(stored.first_name, "Ada");
    assert_eq!(stored.last_name, "Lovelace");
    assert_eq!(stored.emails, ["ada@example.com"]);
    assert_eq!(stored.avatar, "https://img.example/ada.png");
    assert_eq!(stored.privacy_mode.0, 0);

    let mut later = claims(&user_id, 600);
    later.given_name = Some("Changed".into());
    drop(app.connect_with_token(&app.token_with(&later)).await);
    let stored = platform.find_user(&user_id).await.unwrap().unwrap();
    assert_eq!(
        stored.first_name, "Ada",
        "an existing user document is not overwritten"
    );
}

#[tokio::test]
async fn a_connection_whose_token_expires_gets_a_401_frame_and_is_closed() {
    let app = spawn_app_with(|settings| {
        settings.tokens = settings.tokens.clone().with_leeway(0);
    })
    .await;
    let token = app.token_with(&claims(&unique("short"), 3));
    let mut client = app.connect_with_token(&token).await;
    client
        .ok("social:getEvents", json!({"source": "network:n"}))
        .await;
    let frame = client.next_frame().await;
    assert_eq!(frame["endpoint"], "social:tokenExpired");
    assert_eq!(frame["error"]["code"], 401);
    assert_eq!(frame["error"]["status"], true);
    assert_eq!(client.close_code().await, Some(1008));
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_configured_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private.pem");
    let public = dir.path().join("public.pem");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&private)
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{made:?}");
    let made = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let verifier = TokenVerifier::rs256_pem(&std::fs::read(&public).unwrap()).unwrap();
    let app = spawn_app_with(|settings| settings.tokens = verifier).await;

    let key = EncodingKey::from_rsa_pem(&std::fs::read(&private).unwrap()).unwrap();
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims("rsa-user", 600),
        &key,
    )
    .unwrap();
    let mut client = app.connect_with_token(&token).await;
    client
        .ok("social:getEvents", json!({"source": "network:n"}))
        .await;

    let hs256 = app.token("rsa-user");
    assert_eq!(
        with_bearer(&app, &hs256).await,
        401,
        "HS256 tokens are refused under RS256"
    );
}
