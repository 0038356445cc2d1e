//! One scrape of a server's `/metrics`, read as the Prometheus text format (0.0.4)
//! defines it: every line a comment (`# HELP`, `# TYPE`) or a sample
//! `name{label="value",…} value`, whose label values are quoted strings that may hold
//! any character (a route template's `{feed}` among them), escaped where needed.

use std::collections::BTreeMap;

use super::TestApp;

/// One scrape of `/metrics`, parsed.
pub struct Scrape {
    /// The text served.
    pub text: String,
    samples: Vec<Sample>,
}

/// One sample line.
#[derive(Debug, PartialEq)]
struct Sample {
    metric: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Scrape {
    pub async fn of(app: &TestApp) -> Scrape {
        Scrape::at(&app.http_url("/metrics")).await
    }

    /// The metrics served at `url`; every line must be in the text format.
    pub async fn at(url: &str) -> Scrape {
        let response = reqwest::get(url).await.unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let text = response.text().await.unwrap();
        Scrape::parse(text)
    }

    #[track_caller]
    fn parse(text: String) -> Scrape {
        let mut samples = Vec::new();
        for line in text.lines().filter(|line| !line.is_empty()) {
            if let Some(comment) = line.strip_prefix('#') {
                assert!(
                    comment_is_well_formed(comment),
                    "a malformed comment: {line}"
                );
            } else {
                let sample = sample(line).unwrap_or_else(|error| panic!("{error}: {line}"));
                samples.push(sample);
            }
        }
        Scrape { text, samples }
    }

    /// The value of the series `name` whose labels include `labels` (0 when absent).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.values(name, labels).sum()
    }

    /// The value of the series `name` whose labels include `labels`; `None` when no
    /// series is served under that name and labels.
    pub fn served(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut values = self.values(name, labels).peekable();
        values.peek()?;
        Some(values.sum())
    }

    fn values<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = f64> + 'a {
        self.samples
            .iter()
            .filter(move |sample| sample.metric == name)
            .filter(move |sample| {
                labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(*value))
            })
            .map(|sample| sample.value)
    }
}

/// Whether `name` is a metric or label name: `[a-zA-Z_:][a-zA-Z0-9_:]*` (no `:` in a
/// label name).
fn is_name(name: &str, colons: bool) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':');
    name.chars().next().is_some_and(|c| !c.is_ascii_digit()) && name.chars().all(allowed)
}

/// Whether `comment` (after its `#`) is a well-formed `HELP` or `TYPE` line, or another
/// comment.
fn comment_is_well_formed(comment: &str) -> bool {
    let mut words = comment.trim_start().splitn(3, ' ');
    match words.next() {
        Some("HELP") => words.next().is_some_and(|name| is_name(name, true)),
        Some("TYPE") => {
            words.next().is_some_and(|name| is_name(name, true))
                && words.next().is_some_and(|kind| {
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind)
                })
        }
        _ => true,
    }
}

/// The sample of `line`, or what is wrong with it.
fn sample(line: &str) -> Result<Sample, &'static str> {
    let name_end = line.find(['{', ' ']).ok_or("a sample without a value")?;
    let (metric, mut rest) = line.split_at(name_end);
    if !is_name(metric, true) {
        return Err("a malformed metric name");
    }
    let mut labels = BTreeMap::new();
    if let Some(inside) = rest.strip_prefix('{') {
        rest = inside;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (name, quoted) = rest.split_once("=\"").ok_or("a label without a value")?;
            if !is_name(name, false) {
                return Err("a malformed label name");
            }
            let mut value = String::new();
            let mut characters = quoted.char_indices();
            let end = loop {
                match characters.next().ok_or("an unclosed label value")? {
                    (at, '"') => break at,
                    (_, '\\') => match characters.next().ok_or("an unclosed label value")?.1 {
                        'n' => value.push('\n'),
                        escaped @ ('\\' | '"') => value.push(escaped),
                        _ => return Err("an unknown escape in a label value"),
                    },
                    (_, character) => value.push(character),
                }
            };
            labels.insert(name.to_owned(), value);
            rest = &quoted[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let mut fields = rest.split_whitespace();
    let value = fields
        .next()
        .ok_or("a sample without a value")?
        .parse()
        .map_err(|_| "a value that is no number")?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| "a timestamp that is no integer")?;
    }
    if fields.next().is_some() {
        return Err("more than a value and a timestamp");
    }
    Ok(Sample {
        metric: metric.to_owned(),
        labels,
        value,
    })
}

#[test]
fn a_scrape_reads_quoted_label_values_whatever_they_hold() {
    let scrape = Scrape::parse(
        "# HELP requests_total Requests, by route.\n\
         # TYPE requests_total counter\n\
         requests_total{route=\"/calendar/{feed}\",status=\"200\"} 3\n\
         requests_total{route=\"say \\\"hi\\\", \\\\ then\\nleave\",status=\"404\"} 1\n\
         \n\
         up 1 1764100000000\n\
         latency_bucket{le=\"+Inf\"} 2\n"
            .to_owned(),
    );
    assert_eq!(
        scrape.served("requests_total", &[("route", "/calendar/{feed}")]),
        Some(3.0)
    );
    assert_eq!(
        scrape.value(
            "requests_total",
            &[("route", "say \"hi\", \\ then\nleave"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(scrape.value("requests_total", &[]), 4.0);
    assert_eq!(scrape.served("up", &[]), Some(1.0));
    assert_eq!(
        scrape.served("latency_bucket", &[("le", "+Inf")]),
        Some(2.0)
    );
    assert_eq!(scrape.served("absent", &[]), None);
}

#[test]
fn a_line_outside_the_text_format_is_refused() {
    for line in [
        "requests_total{route=\"/a\"",
        "requests_total{route=/a} 1",
        "requests_total{route=\"/a\"} many",
        "9lives 1",
        "requests_total",
    ] {
        let refused = std::panic::catch_unwind(|| Scrape::parse(line.to_owned()));
        assert!(refused.is_err(), "{line}");
    }
}
