//! Were our 80 % right 80 % of the time (seed 11.2)? Verdicts against the
//! scores the machine gave: per band and cause type, the Brier score and a
//! reliability table by decile.

use super::Judgement;
use crate::api::{Band, BandCalibration, Calibration, CalibrationFlag, CauseTypeCalibration, ReliabilityBin, Verdict};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A band is judged from this many verdicts on.
pub const MIN_JUDGED: i64 = 5;

/// The bands a machine score can fall in, with seed 11.1's ranges.
const BANDS: [(Band, u8, u8); 3] = [(Band::Likely, 70, 90), (Band::Suspected, 40, 70), (Band::Possible, 0, 40)];

#[derive(Default)]
struct Tally {
    judged: i64,
    confirmed: i64,
    score_sum: f64,
    squared_error: f64,
}

impl Tally {
    fn add(&mut self, scored: u8, confirmed: bool) {
        let p = f64::from(scored) / 100.0;
        let outcome = if confirmed { 1.0 } else { 0.0 };
        self.judged += 1;
        self.confirmed += i64::from(confirmed);
        self.score_sum += p;
        self.squared_error += (p - outcome).powi(2);
    }

    fn mean(&self, sum: f64) -> Option<f64> {
        (self.judged > 0).then(|| sum / self.judged as f64)
    }

    fn observed(&self) -> Option<f64> {
        self.mean(self.confirmed as f64)
    }
}

pub fn calibrate(judgements: &[Judgement], since: DateTime<Utc>, until: DateTime<Utc>) -> Calibration {
    let mut all = Tally::default();
    let mut bands: BTreeMap<Band, Tally> = BTreeMap::new();
    let mut types: BTreeMap<String, Tally> = BTreeMap::new();
    let mut deciles: [Tally; 10] = Default::default();
    let mut investigating = 0;
    for j in judgements {
        let confirmed = match j.verdict {
            Verdict::Confirmed => true,
            Verdict::Rejected => false,
            Verdict::Investigate => {
                investigating += 1;
                continue;
            }
        };
        all.add(j.scored, confirmed);
        bands.entry(Band::of(j.scored)).or_default().add(j.scored, confirmed);
        types.entry(j.cause_type.clone().unwrap_or_else(|| "unknown".to_owned())).or_default().add(j.scored, confirmed);
        deciles[usize::from(j.scored.min(99) / 10)].add(j.scored, confirmed);
    }
    let bands = BANDS
        .iter()
        .map(|&(band, low, high)| {
            let t = bands.remove(&band).unwrap_or_default();
            let observed = t.observed();
            let flag = match observed {
                _ if t.judged < MIN_JUDGED => CalibrationFlag::TooFew,
                Some(o) if o * 100.0 < f64::from(low) => CalibrationFlag::Overconfident,
                Some(o) if o * 100.0 > f64::from(high) => CalibrationFlag::Underconfident,
                _ => CalibrationFlag::WithinRange,
            };
            BandCalibration {
                band,
                low,
                high,
                judged: t.judged,
                confirmed: t.confirmed,
                observed,
                mean_score: t.mean(t.score_sum),
                flag,
            }
        })
        .collect();
    let mut cause_types: Vec<CauseTypeCalibration> = types
        .into_iter()
        .map(|(cause_type, t)| CauseTypeCalibration {
            cause_type,
            judged: t.judged,
            confirmed: t.confirmed,
            observed: t.observed(),
            mean_score: t.mean(t.score_sum),
            brier: t.mean(t.squared_error),
        })
        .collect();
    cause_types.sort_by(|a, b| b.judged.cmp(&a.judged).then(a.cause_type.cmp(&b.cause_type)));
    let reliability = deciles
        .iter()
        .enumerate()
        .map(|(i, t)| ReliabilityBin {
            from: i as u8 * 10,
            to: if i == 9 { 100 } else { i as u8 * 10 + 9 },
            judged: t.judged,
            predicted: t.mean(t.score_sum),
            observed: t.observed(),
        })
        .collect();
    Calibration {
        since,
        until,
        judged: all.judged,
        confirmed: all.confirmed,
        investigating,
        brier: all.mean(all.squared_error),
        min_judged: MIN_JUDGED,
        bands,
        cause_types,
        reliability,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(scored: u8, verdict: Verdict, cause: &str) -> Judgement {
        Judgement { cause_type: Some(cause.into()), ..crate::learning::judged(verdict, scored) }
    }

    #[test]
    fn bands_outside_their_range_are_flagged_and_the_brier_score_is_the_mean_squared_gap() {
        use Verdict::*;
        // LIKELY at 85 %: 2 of 6 confirmed, far below 70 %.
        let mut all: Vec<Judgement> =
            (0..6).map(|i| judged(85, if i < 2 { Confirmed } else { Rejected }, "deploy")).collect();
        // SUSPECTED at 50 %: 3 of 5 confirmed, inside 40–70 %.
        all.extend((0..5).map(|i| judged(50, if i < 3 { Confirmed } else { Rejected }, "config_change")));
        // POSSIBLE: 2 verdicts, too few; an "investigate" is not counted.
        all.push(judged(20, Confirmed, "config_change"));
        all.push(judged(20, Rejected, "config_change"));
        all.push(judged(20, Investigate, "config_change"));
        let c = calibrate(&all, Utc::now(), Utc::now());
        assert_eq!((c.judged, c.confirmed, c.investigating), (13, 6, 1));
        let flags: Vec<_> = c.bands.iter().map(|b| (b.band, b.judged, b.flag)).collect();
        assert_eq!(
            flags,
            [
                (Band::Likely, 6, CalibrationFlag::Overconfident),
                (Band::Suspected, 5, CalibrationFlag::WithinRange),
                (Band::Possible, 2, CalibrationFlag::TooFew)
            ]
        );
        let expected = (2.0 * 0.15f64.powi(2) + 4.0 * 0.85f64.powi(2) + 3.0 * 0.25 + 2.0 * 0.25 + 0.64 + 0.04) / 13.0;
        assert!((c.brier.unwrap() - expected).abs() < 1e-9, "{:?} vs {expected}", c.brier);
        let eighty = &c.reliability[8];
        assert_eq!((eighty.from, eighty.to, eighty.judged), (80, 89, 6));
        assert!((eighty.observed.unwrap() - 2.0 / 6.0).abs() < 1e-9);
        assert_eq!(c.cause_types[0].cause_type, "config_change", "most judged first");
        assert_eq!(c.reliability[9].to, 100);
    }
}
