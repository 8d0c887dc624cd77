//! `/metrics` of a server started with `--metrics-listen`, read as Prometheus' text format.
//! The recorder is process-wide, so tests that read a gauge of their own calls run the real
//! binary: in this process the other tests' calls would move it too.

use std::net::SocketAddr;

/// An address of 127.0.0.1 whose port was free a moment ago, for `--metrics-listen`.
pub fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

/// The metrics of a server started with `--metrics-listen addr`.
pub async fn scrape(addr: SocketAddr) -> String {
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("the metrics endpoint answers")
        .text()
        .await
        .unwrap()
}

/// The value of the sample `name{…label…}` (or without labels); 0 when absent.
pub fn sample(scrape: &str, name: &str, label: Option<(&str, &str)>) -> f64 {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| {
            let (series_name, labels) = series.split_once('{').unwrap_or((series, ""));
            series_name == name
                && label.is_none_or(|(k, v)| labels.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, value)| value.parse::<f64>().unwrap())
        .sum()
}
