//! The stage breakdown of a bench run: each validator's `/metrics` scraped before and after a
//! load, the difference of every stage histogram summed over the validators, and its count,
//! mean and estimated p50 / p99 (linear within a bucket).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::Stage;

/// One histogram as scraped: cumulative counts by upper bound (seconds), sum and count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scraped {
    /// (upper bound, cumulative count), in increasing bound order; the last is +Inf.
    pub buckets: Vec<(f64, f64)>,
    /// Sum of the observations (seconds).
    pub sum: f64,
    /// Number of observations.
    pub count: f64,
}

impl Scraped {
    /// `self - before`, bucket by bucket (the same buckets).
    pub fn since(&self, before: &Scraped) -> Scraped {
        let buckets = self
            .buckets
            .iter()
            .map(|(le, c)| {
                let was = before
                    .buckets
                    .iter()
                    .find(|(b, _)| b == le)
                    .map_or(0.0, |(_, c)| *c);
                (*le, c - was)
            })
            .collect();
        Scraped {
            buckets,
            sum: self.sum - before.sum,
            count: self.count - before.count,
        }
    }

    /// Adds another histogram with the same buckets.
    pub fn add(&mut self, other: &Scraped) {
        if self.buckets.is_empty() {
            *self = other.clone();
            return;
        }
        for ((_, c), (_, o)) in self.buckets.iter_mut().zip(&other.buckets) {
            *c += o;
        }
        self.sum += other.sum;
        self.count += other.count;
    }

    /// The estimated `q` quantile (seconds): linear within the bucket that holds it; the last
    /// finite bound when it falls in +Inf.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count <= 0.0 {
            return 0.0;
        }
        let target = q * self.count;
        let mut lower = (0.0, 0.0);
        for &(le, cum) in &self.buckets {
            if cum >= target {
                if le.is_infinite() {
                    return lower.0;
                }
                let width = cum - lower.1;
                let into = if width > 0.0 {
                    (target - lower.1) / width
                } else {
                    0.0
                };
                return lower.0 + (le - lower.0) * into;
            }
            lower = (le, cum);
        }
        lower.0
    }
}

/// Every histogram and counter of a `/metrics` text by name, labels folded into the name
/// (`stage_seconds{stage="x"}` becomes `stage_seconds/x`); counters are read as their value.
pub fn parse(text: &str) -> (BTreeMap<String, Scraped>, BTreeMap<String, f64>) {
    let mut hists: BTreeMap<String, Scraped> = BTreeMap::new();
    let mut counters = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match key.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (key, ""),
        };
        let mut le = None;
        let mut rest = Vec::new();
        for pair in labels.split(',').filter(|p| !p.is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            let v = v.trim_matches('"');
            if k == "le" {
                le = Some(if v == "+Inf" {
                    f64::INFINITY
                } else {
                    v.parse().unwrap_or(f64::NAN)
                });
            } else {
                rest.push(v.to_string());
            }
        }
        let full = |base: &str| {
            let base = base.trim_start_matches("portledger_");
            if rest.is_empty() {
                base.to_string()
            } else {
                format!("{base}/{}", rest.join("/"))
            }
        };
        if let Some(base) = name.strip_suffix("_bucket") {
            if let Some(le) = le {
                hists
                    .entry(full(base))
                    .or_default()
                    .buckets
                    .push((le, value));
            }
        } else if let Some(base) = name.strip_suffix("_sum") {
            hists.entry(full(base)).or_default().sum = value;
        } else if let Some(base) = name.strip_suffix("_count") {
            hists.entry(full(base)).or_default().count = value;
        } else {
            counters.insert(full(name), value);
        }
    }
    (hists, counters)
}

/// One stage's figures over a load.
#[derive(Debug, Clone, Serialize)]
pub struct StageFigures {
    /// The stage ([`Stage::name`]), or `block_interval`.
    pub stage: String,
    /// Observations (transactions, blocks or deliveries, by stage).
    pub count: u64,
    /// Mean (ms).
    pub mean_ms: f64,
    /// Estimated median (ms).
    pub p50_ms: f64,
    /// Estimated 99th percentile (ms).
    pub p99_ms: f64,
}

/// The breakdown of a load from every validator's metrics before and after it: each stage, then
/// the block interval, summed over the validators; and the rounds that timed out meanwhile.
pub fn breakdown(before: &[String], after: &[String]) -> (Vec<StageFigures>, u64) {
    let mut sums: BTreeMap<String, Scraped> = BTreeMap::new();
    let mut timeouts = 0.0;
    for (b, a) in before.iter().zip(after) {
        let (hb, cb) = parse(b);
        let (ha, ca) = parse(a);
        for (name, h) in &ha {
            let delta = h.since(hb.get(name).unwrap_or(&Scraped::default()));
            sums.entry(name.clone()).or_default().add(&delta);
        }
        let t = |c: &BTreeMap<String, f64>| c.get("rounds_timed_out_total").copied().unwrap_or(0.0);
        timeouts += t(&ca) - t(&cb);
    }
    let names = Stage::ALL
        .iter()
        .map(|s| (s.name().to_string(), format!("stage_seconds/{}", s.name())))
        .chain([(
            "block_interval".to_string(),
            "block_interval_seconds".to_string(),
        )]);
    let figures = names
        .map(|(stage, key)| {
            let h = sums.get(&key).cloned().unwrap_or_default();
            StageFigures {
                stage,
                count: h.count.max(0.0) as u64,
                mean_ms: if h.count > 0.0 {
                    h.sum / h.count * 1000.0
                } else {
                    0.0
                },
                p50_ms: h.quantile(0.5) * 1000.0,
                p99_ms: h.quantile(0.99) * 1000.0,
            }
        })
        .collect();
    (figures, timeouts.max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn the_node_s_own_metrics_parse_into_stage_figures() {
        let m = Metrics::new();
        let before = m.encode();
        let h = m.stage(Stage::PolkaToCommit);
        for ms in [1.0, 3.0, 3.0, 8.0] {
            h.observe(ms / 1000.0);
        }
        m.block_interval.observe(0.04);
        m.rounds_timed_out.inc();
        let after = m.encode();
        let (figures, timeouts) = breakdown(&[before], &[after]);
        assert_eq!(timeouts, 1);
        let polka = figures
            .iter()
            .find(|f| f.stage == "polka_to_commit")
            .expect("stage listed");
        assert_eq!(polka.count, 4);
        assert!((polka.mean_ms - 3.75).abs() < 1e-6, "{polka:?}");
        // Two of four are at most 3 ms: the median falls in the (2, 5] ms bucket.
        assert!(polka.p50_ms > 2.0 && polka.p50_ms <= 5.0, "{polka:?}");
        assert!(polka.p99_ms > 5.0 && polka.p99_ms <= 10.0, "{polka:?}");
        let interval = figures
            .iter()
            .find(|f| f.stage == "block_interval")
            .expect("interval listed");
        assert_eq!(interval.count, 1);
        let idle = figures
            .iter()
            .find(|f| f.stage == "submit_to_admitted")
            .expect("listed even when empty");
        assert_eq!(idle.count, 0);
    }
}
