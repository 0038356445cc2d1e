//! `GET /console`: its files and headers, the development tokens it starts with (and their
//! absence outside development mode), and the page itself driven in a real headless
//! Chromium through chromedriver (Debian's `chromium` and `chromium-driver`, which
//! `.ci/run` installs): it loads without console errors, lists every registered endpoint,
//! sends `social:createEvent` from its example and shows the answer, shows a failure
//! legibly, shows a `social:sessionUpdated` push caused by another client, and acts as
//! the new user after "new token"; it fits an 800 pixel wide window, and renders the
//! descriptions' Markdown with HTML in them as text.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use social_events::api::endpoint::Registry;
use social_events::http::settings::DevelopmentTokens;
use social_events::token::TokenSigner;

use crate::helpers::{Patience, SECRET, TestApp, session_fields, spawn_app, spawn_app_with};

/// This start's console key of [`development_app`].
const CONSOLE_KEY: &str = "0123456789abcdef0123456789abcdef";

/// A server in development mode: it signs console tokens with the tests' secret.
async fn development_app() -> TestApp {
    spawn_app_with(|settings| {
        let mut development = DevelopmentTokens::new(TokenSigner::hs256(SECRET.as_bytes()));
        development.key = CONSOLE_KEY.to_owned();
        settings.development_tokens = Some(development);
    })
    .await
}

/// A request for a development token for `user`, with this start's console key.
fn token_request(app: &TestApp, user: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(app.http_url(&format!("/console/token?user={user}")))
        .header("x-console-key", CONSOLE_KEY)
}

#[tokio::test]
async fn the_page_and_its_files_are_served_with_a_strict_policy() {
    let app = spawn_app().await;
    let page = reqwest::get(app.http_url("/console")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<meta name="development-tokens" content="off">"#));
    // Nothing is loaded from elsewhere.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for (path, content_type) in [
        ("/console/console.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
    ] {
        let file = reqwest::get(app.http_url(path)).await.unwrap();
        assert_eq!(file.status(), 200, "{path}");
        assert_eq!(file.headers()["content-type"], content_type, "{path}");
        assert!(!file.text().await.unwrap().contains("https://"), "{path}");
    }
}

#[tokio::test]
async fn development_tokens_exist_in_development_mode_only() {
    let production = spawn_app().await;
    let absent = reqwest::get(production.http_url("/console/token?user=ada"))
        .await
        .unwrap();
    assert_eq!(absent.status(), 404);

    let app = development_app().await;
    let html = reqwest::get(app.http_url("/console"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<meta name="development-tokens" content="on">"#));
    let answer = token_request(&app, "ada").send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let token = answer.text().await.unwrap();
    // The token opens a WebSocket as that user.
    let mut ada = app.connect_with_token(&token).await;
    let created = ada
        .ok(
            "social:createSession",
            json!({ "session": session_fields("Mine", 60) }),
        )
        .await;
    assert_eq!(created["session"]["ownerId"], "ada");
    // Only for a browser on this machine asking from this origin: not for a page of
    // another site whose name resolves here, nor for another site's page.
    // Nor through a proxy or port forwarder on this machine, whatever it says of itself.
    for (header, value) in [
        ("host", "evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("forwarded", "for=203.0.113.7"),
        ("x-forwarded-for", "203.0.113.7"),
        ("x-real-ip", "203.0.113.7"),
        ("via", "1.1 tunnel"),
    ] {
        let refused = token_request(&app, "ada")
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{header}: {value}");
    }
    // Only with this start's key, printed in the service's log.
    for key in [
        None,
        Some("0123456789abcdef0123456789abcdee"),
        Some("short"),
    ] {
        let mut request = reqwest::Client::new().get(app.http_url("/console/token?user=ada"));
        if let Some(key) = key {
            request = request.header("x-console-key", key);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), 403, "{key:?}");
    }
    let same_origin = token_request(&app, "ada")
        .header("host", format!("localhost:{}", app.addr.port()))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 200);
    for user in ["", &"x".repeat(257)] {
        let refused = token_request(&app, user).send().await.unwrap();
        assert_eq!(refused.status(), 400, "{user:?}");
    }
}

/// chromedriver on a free port, stopped with the test.
struct Chromedriver {
    process: tokio::process::Child,
    url: String,
}

impl Chromedriver {
    async fn start() -> Chromedriver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let process = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect(
                "chromedriver runs the console's browser test: install Debian's chromium and \
                 chromium-driver (.ci/run does)",
            );
        let url = format!("http://127.0.0.1:{port}");
        let patience = Patience::of(Duration::from_secs(30));
        while !reqwest::get(format!("{url}/status"))
            .await
            .is_ok_and(|answer| answer.status().is_success())
        {
            patience.wait("chromedriver answering").await;
        }
        Chromedriver { process, url }
    }

    /// A headless Chromium that keeps its console messages.
    async fn browser(&self) -> Browser {
        self.browser_of_width(1400).await
    }

    /// A headless Chromium whose window is `width` pixels wide.
    async fn browser_of_width(&self, width: u32) -> Browser {
        let mut options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                format!("--window-size={width},900"),
            ],
        });
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are an object")
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromedriver starts Chromium")
    }

    /// The browser's console messages of level SEVERE (errors) since the last call.
    async fn console_errors(&self, browser: &Browser) -> Vec<String> {
        let session = browser.session_id().await.unwrap().unwrap();
        let logs: Value = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.url))
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        logs["value"]
            .as_array()
            .expect("chromedriver returns the browser's log")
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].to_string())
            .collect()
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
    }
}

/// The element `css` selects, once it exists (within fifteen seconds).
/// Waits until the console has filled in the development token, then connects with it.
async fn connect_with_development_token(browser: &Browser) {
    let token = browser.find(Locator::Id("token")).await.unwrap();
    let patience = Patience::new();
    while token
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
        .is_empty()
    {
        patience.wait("the development token").await;
    }
    click(browser, "#connect").await;
    appears(browser, "#status.open").await;
}

async fn appears(browser: &Browser, css: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css} never appeared: {error}"))
}

/// Clicks the element `css` selects, once it exists.
async fn click(browser: &Browser, css: &str) {
    appears(browser, css)
        .await
        .click()
        .await
        .unwrap_or_else(|error| panic!("cannot click {css}: {error}"));
}

#[tokio::test]
async fn the_console_lists_sends_and_shows_answers_and_pushes_in_a_real_browser() {
    let app = development_app().await;
    let users = std::fs::read_to_string("embedded-db/dev-users.json").unwrap();
    let users = social_events::tools::import::parse(&users).unwrap();
    social_events::tools::import::import(&app.store, &users)
        .await
        .unwrap();
    let chromedriver = Chromedriver::start().await;
    let browser = chromedriver.browser().await;
    let address = app.http_url(&format!("/console#key={CONSOLE_KEY}"));
    browser.goto(&address).await.unwrap();

    // Every registered endpoint is listed as soon as the page loads, before connecting.
    appears(&browser, "#endpoint-list button").await;
    let mut listed = Vec::new();
    for button in browser
        .find_all(Locator::Css("#endpoint-list button"))
        .await
        .unwrap()
    {
        listed.push(button.text().await.unwrap());
    }
    let registered: Vec<String> = Registry::global().names().map(str::to_owned).collect();
    assert_eq!(listed, registered);
    let pushes = browser
        .find_all(Locator::Css("#push-list li"))
        .await
        .unwrap();
    assert_eq!(pushes.len(), Registry::global().pushes().count());

    // In development mode the token is filled in for the development user.
    connect_with_development_token(&browser).await;

    // createEvent from its example: the example is filled in, sent, and answered.
    click(&browser, "button[data-endpoint='social:createEvent']").await;
    let data = browser.find(Locator::Id("data")).await.unwrap();
    let example: Value = serde_json::from_str(&data.prop("value").await.unwrap().unwrap()).unwrap();
    assert_eq!(example["source"], "network:acme");
    click(&browser, "#send").await;
    let answer = appears(&browser, "li.answer.ok[data-endpoint='social:createEvent']").await;
    let text = answer.text().await.unwrap();
    assert!(text.contains("✓ answered"), "{text}");
    assert!(text.contains("\"title\": \"Product launch\""), "{text}");
    let mut ada = app.connect("ada").await;
    let listed = ada
        .ok("social:getEvents", json!({ "source": "network:acme" }))
        .await;
    assert_eq!(listed["events"][0]["title"], "Product launch");

    // A failure is shown with its code and message.
    click(&browser, "button[data-endpoint='social:getEvent']").await;
    click(&browser, "#send").await;
    let failure = appears(
        &browser,
        "li.answer.failed[data-endpoint='social:getEvent']",
    )
    .await;
    let text = failure.text().await.unwrap();
    assert!(text.contains("✗ 404 not found: event not found"), "{text}");

    // Another client's change reaches the console as a push.
    let mut grace = app.connect("grace").await;
    grace
        .ok(
            "social:createSession",
            json!({
                "session": session_fields("Pairing with Grace", 30),
                "usersToInvite": [{ "userId": "ada", "role": 0 }],
            }),
        )
        .await;
    let push = appears(&browser, "li.push[data-endpoint='social:sessionUpdated']").await;
    let text = push.text().await.unwrap();
    assert!(text.contains("Pairing with Grace"), "{text}");

    // A new token for another user reconnects the console as that user: the open
    // connection was the previous user's.
    assert_eq!(status_text(&browser).await, "connected as ada");
    let user = browser.find(Locator::Id("development-user")).await.unwrap();
    user.clear().await.unwrap();
    user.send_keys("grace").await.unwrap();
    click(&browser, "#development-token").await;
    let patience = Patience::new();
    while status_text(&browser).await != "connected as grace" {
        patience.wait("the console connected as grace").await;
    }
    appears(&browser, "#status.open").await;
    // Grace is a member of acme, not an admin: the same request is now refused.
    click(&browser, "button[data-endpoint='social:createEvent']").await;
    click(&browser, "#send").await;
    let refused = appears(
        &browser,
        "li.answer.failed[data-endpoint='social:createEvent']",
    )
    .await;
    let text = refused.text().await.unwrap();
    assert!(text.contains("✗ 403 forbidden"), "{text}");
    // Pushes now reach grace, not ada.
    let mut ada = app.connect("ada").await;
    ada.ok(
        "social:createSession",
        json!({
            "session": session_fields("Review with Ada", 30),
            "usersToInvite": [{ "userId": "grace", "role": 0 }],
        }),
    )
    .await;
    let patience = Patience::new();
    loop {
        let pushes = browser
            .find_all(Locator::Css(
                "li.push[data-endpoint='social:sessionUpdated']",
            ))
            .await
            .unwrap();
        let mut texts = Vec::new();
        for push in pushes {
            texts.push(push.text().await.unwrap());
        }
        if texts.iter().any(|text| text.contains("Review with Ada")) {
            break;
        }
        patience.wait("grace's push").await;
    }

    if let Ok(path) = std::env::var("SOCIAL_CONSOLE_SCREENSHOT") {
        std::fs::write(path, browser.screenshot().await.unwrap()).unwrap();
    }
    let errors = chromedriver.console_errors(&browser).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    // The log is read for real: an error written now is found.
    browser
        .execute("console.error('probe of the console log')", Vec::new())
        .await
        .unwrap();
    let errors = chromedriver.console_errors(&browser).await;
    assert!(
        errors
            .iter()
            .any(|error| error.contains("probe of the console log")),
        "{errors:#?}"
    );
    browser.close().await.unwrap();
}

/// The text of the console's connection status.
async fn status_text(browser: &Browser) -> String {
    browser
        .find(Locator::Id("status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The page's width and the width of what it shows: (scroll width, client width, window
/// inner width), in CSS pixels.
async fn widths(browser: &Browser) -> (u64, u64, u64) {
    let measured = browser
        .execute(
            "const root = document.documentElement; \
             return [root.scrollWidth, root.clientWidth, window.innerWidth];",
            Vec::new(),
        )
        .await
        .unwrap();
    let width = |index: usize| measured[index].as_u64().unwrap();
    (width(0), width(1), width(2))
}

#[tokio::test]
async fn the_console_fits_an_800_pixel_wide_window_without_scrolling_sideways() {
    let app = development_app().await;
    let chromedriver = Chromedriver::start().await;
    let browser = chromedriver.browser_of_width(800).await;
    browser
        .goto(&app.http_url(&format!("/console#key={CONSOLE_KEY}")))
        .await
        .unwrap();
    appears(&browser, "#endpoint-list button").await;
    connect_with_development_token(&browser).await;
    // The longest endpoint name, a long description, and a frame of long lines.
    click(
        &browser,
        "button[data-endpoint='social:deleteUserSessionInvitations']",
    )
    .await;
    click(&browser, "button[data-endpoint='social:createSession']").await;
    click(&browser, "#send").await;
    appears(&browser, "li.answer[data-endpoint='social:createSession']").await;
    for summary in browser
        .find_all(Locator::Css("#push-list summary"))
        .await
        .unwrap()
    {
        summary.click().await.unwrap();
    }
    let (scroll, client, window) = widths(&browser).await;
    assert!(window <= 800, "a window of 800 pixels at most: {window}");
    assert!(
        scroll <= client,
        "the page is {scroll} pixels wide in a window showing {client}"
    );
    browser.close().await.unwrap();
}

#[tokio::test]
async fn descriptions_are_rendered_as_markdown_and_html_in_them_as_text() {
    let app = spawn_app().await;
    let chromedriver = Chromedriver::start().await;
    let browser = chromedriver.browser().await;
    browser.goto(&app.http_url("/console")).await.unwrap();
    click(&browser, "button[data-endpoint='social:createEvent']").await;
    let description = appears(&browser, "#endpoint-description p code").await;
    assert_eq!(description.text().await.unwrap(), "social:createEvent");
    let text = browser
        .find(Locator::Id("endpoint-description"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.starts_with("social:createEvent: an admin"), "{text}");
    assert!(!text.contains('`'), "{text}");
    // A push's description, under its name.
    click(
        &browser,
        "#push-list li[data-push='social:sessionUpdated'] summary",
    )
    .await;
    let code = appears(
        &browser,
        "#push-list li[data-push='social:sessionUpdated'] .markdown p code",
    )
    .await;
    assert_eq!(code.text().await.unwrap(), "social:getSession");

    // The renderer itself: what it makes of each construct, and of HTML.
    let markdown = "Plain <img src=x onerror=\"document.title='owned'\"> text with `a <b>` \
                    code,\n**bold `x`** and *em* and _em too_, snake_case_word stays.\n\n\
                    - one\n  continued\n- [two](https://example.com/a?b=1)\n\n\
                    3. three\n4. [four](javascript:evil)";
    let rendered = browser
        .execute(
            "const node = document.createElement('div'); \
             renderMarkdown(node, arguments[0]); return node.innerHTML;",
            vec![json!(markdown)],
        )
        .await
        .unwrap();
    let rendered = rendered.as_str().unwrap();
    assert_eq!(
        rendered,
        "<p>Plain &lt;img src=x onerror=\"document.title='owned'\"&gt; text with \
         <code>a &lt;b&gt;</code> code, <strong>bold <code>x</code></strong> and <em>em</em> \
         and <em>em too</em>, snake_case_word stays.</p>\
         <ul><li>one continued</li><li><a href=\"https://example.com/a?b=1\" \
         rel=\"noopener noreferrer\" target=\"_blank\">two</a></li></ul>\
         <ol start=\"3\"><li>three</li><li><span>four</span></li></ol>"
    );
    let title = browser.title().await.unwrap();
    assert_ne!(title, "owned");
    let errors = chromedriver.console_errors(&browser).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await.unwrap();
}
