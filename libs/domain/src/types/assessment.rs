//! Standardized outcome measures: PHQ-9 (depression) and GAD-7 (anxiety).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A scored instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Instrument {
    #[serde(rename = "PHQ-9")]
    Phq9,
    #[serde(rename = "GAD-7")]
    Gad7,
}

impl Instrument {
    /// Number of items.
    pub fn item_count(&self) -> usize {
        match self {
            Self::Phq9 => 9,
            Self::Gad7 => 7,
        }
    }

    /// Parses `PHQ-9` or `GAD-7` (case-insensitive, dash optional).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s.trim().to_ascii_uppercase().replace('-', "").as_str() {
            "PHQ9" => Ok(Self::Phq9),
            "GAD7" => Ok(Self::Gad7),
            _ => Err(ValidationError::new("instrument", "must be PHQ-9 or GAD-7")),
        }
    }

    /// Severity band of a total score, using the published cut-offs.
    pub fn severity(&self, total: u8) -> Severity {
        match (self, total) {
            (_, 0..=4) => Severity::Minimal,
            (_, 5..=9) => Severity::Mild,
            (_, 10..=14) => Severity::Moderate,
            (Self::Phq9, 15..=19) => Severity::ModeratelySevere,
            _ => Severity::Severe,
        }
    }
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Phq9 => "PHQ-9",
            Self::Gad7 => "GAD-7",
        })
    }
}

/// Severity band of a total score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Minimal,
    Mild,
    Moderate,
    /// PHQ-9 only (15–19).
    ModeratelySevere,
    Severe,
}

/// One item's answer: 0 "not at all" to 3 "nearly every day".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct ItemScore(u8);

impl ItemScore {
    /// 0 to 3.
    pub fn new(n: u8) -> Result<Self, ValidationError> {
        if n > 3 {
            return Err(ValidationError::new("item_score", "must be 0 to 3"));
        }
        Ok(Self(n))
    }

    /// The score.
    pub fn get(&self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for ItemScore {
    type Error = ValidationError;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Self::new(n)
    }
}
impl From<ItemScore> for u8 {
    fn from(s: ItemScore) -> Self {
        s.0
    }
}

/// A complete, range-checked set of item scores for one instrument.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawScores", into = "RawScores")]
pub struct AssessmentScores {
    instrument: Instrument,
    items: Vec<ItemScore>,
}

#[derive(Serialize, Deserialize)]
struct RawScores {
    instrument: Instrument,
    items: Vec<u32>,
}

impl AssessmentScores {
    /// Validates the item count and each item's range; errors name the item as `items[i]`
    /// (0-based, as in the request).
    pub fn parse(instrument: Instrument, items: &[u32]) -> Result<Self, ValidationError> {
        if items.len() != instrument.item_count() {
            return Err(ValidationError::new(
                "items",
                format!("{instrument} has {} items, got {}", instrument.item_count(), items.len()),
            ));
        }
        let items = items
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                u8::try_from(n)
                    .map_err(|_| ValidationError::new("", ""))
                    .and_then(ItemScore::new)
                    .map_err(|_| ValidationError::new(format!("items[{i}]"), "must be 0 to 3"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { instrument, items })
    }

    /// The instrument.
    pub fn instrument(&self) -> Instrument {
        self.instrument
    }

    /// The item scores in questionnaire order.
    pub fn items(&self) -> &[ItemScore] {
        &self.items
    }

    /// Sum of the items (PHQ-9 0–27, GAD-7 0–21).
    pub fn total(&self) -> u8 {
        self.items.iter().map(|i| i.0).sum()
    }

    /// Severity band of the total.
    pub fn severity(&self) -> Severity {
        self.instrument.severity(self.total())
    }

    /// PHQ-9 item 9 (thoughts of self-harm) answered above zero: needs a clinician's attention
    /// whatever the total.
    pub fn self_harm_item(&self) -> Option<ItemScore> {
        match self.instrument {
            Instrument::Phq9 => self.items.get(8).copied().filter(|s| s.0 > 0),
            Instrument::Gad7 => None,
        }
    }
}

impl TryFrom<RawScores> for AssessmentScores {
    type Error = ValidationError;
    fn try_from(r: RawScores) -> Result<Self, Self::Error> {
        Self::parse(r.instrument, &r.items)
    }
}
impl From<AssessmentScores> for RawScores {
    fn from(s: AssessmentScores) -> Self {
        Self { instrument: s.instrument, items: s.items.iter().map(|i| u32::from(i.0)).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phq9_total(total: u32) -> AssessmentScores {
        let mut items = [0u32; 9];
        let mut left = total;
        for slot in items.iter_mut().take(8) {
            *slot = left.min(3);
            left -= *slot;
        }
        AssessmentScores::parse(Instrument::Phq9, &items).unwrap()
    }

    fn gad7_total(total: u32) -> AssessmentScores {
        let mut items = [0u32; 7];
        let mut left = total;
        for slot in &mut items {
            *slot = left.min(3);
            left -= *slot;
        }
        AssessmentScores::parse(Instrument::Gad7, &items).unwrap()
    }

    #[test]
    fn phq9_severity_bands_at_every_boundary() {
        use Severity::*;
        for (total, band) in [
            (0, Minimal),
            (4, Minimal),
            (5, Mild),
            (9, Mild),
            (10, Moderate),
            (14, Moderate),
            (15, ModeratelySevere),
            (19, ModeratelySevere),
            (20, Severe),
            (24, Severe),
        ] {
            let s = phq9_total(total);
            assert_eq!((s.total(), s.severity()), (total as u8, band), "PHQ-9 {total}");
        }
        let max = AssessmentScores::parse(Instrument::Phq9, &[3; 9]).unwrap();
        assert_eq!((max.total(), max.severity()), (27, Severe));
    }

    #[test]
    fn gad7_severity_bands_at_every_boundary() {
        use Severity::*;
        for (total, band) in [
            (0, Minimal),
            (4, Minimal),
            (5, Mild),
            (9, Mild),
            (10, Moderate),
            (14, Moderate),
            (15, Severe),
            (21, Severe),
        ] {
            let s = gad7_total(total);
            assert_eq!((s.total(), s.severity()), (total as u8, band), "GAD-7 {total}");
        }
    }

    #[test]
    fn item_count_and_range_are_checked() {
        let e = AssessmentScores::parse(Instrument::Phq9, &[0; 7]).unwrap_err();
        assert_eq!((e.field.as_str(), e.reason.as_str()), ("items", "PHQ-9 has 9 items, got 7"));
        assert!(AssessmentScores::parse(Instrument::Gad7, &[0; 9]).is_err());
        let e = AssessmentScores::parse(Instrument::Gad7, &[0, 0, 4, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.field, "items[2]");
        let e = AssessmentScores::parse(Instrument::Gad7, &[0, 0, 0, 0, 0, 0, 300]).unwrap_err();
        assert_eq!(e.field, "items[6]");
        assert!(ItemScore::new(3).is_ok() && ItemScore::new(4).is_err());
    }

    #[test]
    fn phq9_item_nine_is_the_self_harm_item() {
        let s = AssessmentScores::parse(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap();
        assert_eq!(s.self_harm_item().map(|i| i.get()), Some(1));
        assert_eq!(phq9_total(24).self_harm_item(), None);
        assert_eq!(gad7_total(21).self_harm_item(), None);
    }

    #[test]
    fn instruments_parse_leniently_and_scores_revalidate_on_decode() {
        assert_eq!(Instrument::parse("phq9"), Ok(Instrument::Phq9));
        assert_eq!(Instrument::parse("GAD-7"), Ok(Instrument::Gad7));
        assert_eq!(Instrument::parse("BDI-II").unwrap_err().field, "instrument");
        let bad = r#"{"instrument":"GAD-7","items":[0,0,0,0,0,0,9]}"#;
        assert!(serde_json::from_str::<AssessmentScores>(bad).is_err());
        let good = gad7_total(12);
        let json = serde_json::to_value(&good).unwrap();
        assert_eq!(serde_json::from_value::<AssessmentScores>(json).unwrap(), good);
    }
}
