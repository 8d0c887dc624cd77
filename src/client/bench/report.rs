//! What a load run measured, and the table it prints.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::Scenario;

/// Latencies are recorded in microseconds, from 1 µs to 10 minutes, to 3 significant figures.
pub(super) fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// One scenario's measured window.
#[derive(Debug)]
pub struct Measurement {
    pub scenario: Scenario,
    /// Requests that succeeded.
    pub requests: u64,
    pub errors: u64,
    /// The first error, for the report.
    pub first_error: Option<String>,
    /// From the end of the warm-up to the last measured answer.
    pub elapsed: Duration,
    /// Latencies of the successful requests, in microseconds.
    pub latency: Histogram<u64>,
}

impl Measurement {
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    pub fn max(&self) -> Duration {
        Duration::from_micros(self.latency.max())
    }

    fn quantile(&self, quantile: f64) -> Duration {
        Duration::from_micros(self.latency.value_at_quantile(quantile))
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub measurements: Vec<Measurement>,
}

impl Report {
    pub fn get(&self, scenario: Scenario) -> Option<&Measurement> {
        self.measurements.iter().find(|m| m.scenario == scenario)
    }

    /// A scenario's throughput as a fraction of `health` in the same run.
    pub fn ratio_to_health(&self, scenario: Scenario) -> Option<f64> {
        let health = self.get(Scenario::Health)?.throughput();
        let measured = self.get(scenario)?.throughput();
        (health > 0.0).then(|| measured / health)
    }

    pub fn errors(&self) -> u64 {
        self.measurements.iter().map(|m| m.errors).sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>9} {:>7} {:>11} {:>9} {:>9} {:>9} {:>10}",
            "scenario", "requests", "errors", "req/s", "p50 ms", "p99 ms", "max ms", "vs health"
        )?;
        for m in &self.measurements {
            let ratio = self
                .ratio_to_health(m.scenario)
                .map(|ratio| format!("{:.1}%", ratio * 100.0))
                .unwrap_or_else(|| "-".into());
            writeln!(
                f,
                "{:<10} {:>9} {:>7} {:>11.0} {:>9.3} {:>9.3} {:>9.3} {:>10}",
                m.scenario.to_string(),
                m.requests,
                m.errors,
                m.throughput(),
                millis(m.p50()),
                millis(m.p99()),
                millis(m.max()),
                ratio,
            )?;
        }
        for m in &self.measurements {
            if let Some(error) = &m.first_error {
                writeln!(f, "{}: {} errors, the first: {error}", m.scenario, m.errors)?;
            }
        }
        Ok(())
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
