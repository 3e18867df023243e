//! The SLA report's arithmetic: how many requests came in, how many got their first
//! response within the target, how many breached it, and the median and 90th percentile
//! time to first response (nearest-rank).

use chrono::Duration;

/// One received request, measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// From the start of the clock to the receiver's first step, if there was one.
    pub first_response: Option<Duration>,
    /// The first response came by the target.
    pub within_target: bool,
    /// The target passed without a response (recorded once by the sweep).
    pub breached: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaFigures {
    pub received: usize,
    pub responded: usize,
    pub within_target: usize,
    pub breached: usize,
    pub median_first_response: Option<Duration>,
    pub p90_first_response: Option<Duration>,
}

pub fn figures<'a>(requests: impl IntoIterator<Item = &'a Measured>) -> SlaFigures {
    let mut figures = SlaFigures::default();
    let mut times = Vec::new();
    for request in requests {
        figures.received += 1;
        figures.within_target += usize::from(request.within_target);
        figures.breached += usize::from(request.breached);
        if let Some(time) = request.first_response {
            times.push(time);
        }
    }
    figures.responded = times.len();
    times.sort();
    figures.median_first_response = nearest_rank(&times, 50);
    figures.p90_first_response = nearest_rank(&times, 90);
    figures
}

/// The smallest value with at least `percent` % of the values at or below it.
fn nearest_rank(sorted: &[Duration], percent: usize) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(minutes: i64, within_target: bool) -> Measured {
        Measured {
            first_response: Some(Duration::minutes(minutes)),
            within_target,
            breached: !within_target,
        }
    }

    #[test]
    fn counts_and_percentiles() {
        let mut requests: Vec<Measured> = (1..=10).map(|m| answered(m * 10, m <= 8)).collect();
        requests.push(Measured {
            first_response: None,
            within_target: false,
            breached: true,
        });
        let f = figures(&requests);
        assert_eq!(f.received, 11);
        assert_eq!(f.responded, 10);
        assert_eq!(f.within_target, 8);
        assert_eq!(f.breached, 3);
        assert_eq!(f.median_first_response, Some(Duration::minutes(50)));
        assert_eq!(f.p90_first_response, Some(Duration::minutes(90)));
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(figures(&[]), SlaFigures::default());
        let one = figures(&[answered(7, true)]);
        assert_eq!(one.median_first_response, Some(Duration::minutes(7)));
        assert_eq!(one.p90_first_response, Some(Duration::minutes(7)));
    }
}
