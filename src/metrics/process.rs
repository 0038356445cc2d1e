//! The process's own figures under the names every Prometheus client library gives them
//! (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`, …),
//! read from the operating system at each scrape (`metrics-process`) and written after
//! the service's series. They bypass the `metrics` facade, whose counters hold whole
//! numbers, so that CPU time keeps its fractions of a second.

use std::fmt::Write;

use metrics_process::collector::{self, Metrics};

/// The figures of this process now, in the Prometheus text format.
pub fn text() -> String {
    text_of(&collector::collect())
}

/// `figures` in the Prometheus text format, one family per figure: a figure the operating
/// system does not give is left out, and so is an unlimited number of file descriptors.
fn text_of(figures: &Metrics) -> String {
    // Byte and descriptor counts stay exact as floats far beyond any process's figures.
    let whole = |figure: Option<u64>| figure.map(|figure| figure as f64);
    let families = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            figures.cpu_seconds_total,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            whole(figures.resident_memory_bytes),
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            whole(figures.virtual_memory_bytes),
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            whole(figures.open_fds),
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            // 0 stands for no limit.
            whole(figures.max_fds.filter(|max| *max > 0)),
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            whole(figures.start_time_seconds),
        ),
        (
            "process_threads",
            "gauge",
            "Number of OS threads in the process.",
            whole(figures.threads),
        ),
    ];
    let mut text = String::new();
    for (name, kind, help, value) in families {
        if let Some(value) = value {
            // Writing to a `String` cannot fail.
            let _ = write!(
                text,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n\n"
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_figure_read_is_one_family_with_its_conventional_name_and_type() {
        let figures = Metrics {
            cpu_seconds_total: Some(1.25),
            resident_memory_bytes: Some(52_428_800),
            open_fds: Some(17),
            max_fds: Some(0),
            start_time_seconds: Some(1_764_100_000),
            ..Metrics::default()
        };
        let text = text_of(&figures);
        assert_eq!(
            text,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total 1.25\n\n\
             # HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\n\
             process_resident_memory_bytes 52428800\n\n\
             # HELP process_open_fds Number of open file descriptors.\n\
             # TYPE process_open_fds gauge\n\
             process_open_fds 17\n\n\
             # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n\
             # TYPE process_start_time_seconds gauge\n\
             process_start_time_seconds 1764100000\n\n"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reports_its_cpu_time_memory_and_descriptors() {
        let text = text();
        for name in [
            "process_cpu_seconds_total ",
            "process_resident_memory_bytes ",
            "process_open_fds ",
            "process_start_time_seconds ",
        ] {
            assert!(text.contains(name), "{name} in:\n{text}");
        }
    }
}
