//! Prometheus's HTTP API answers as typed values: the `{"status", "data"}`
//! envelope, instant vectors, range matrices, and samples whose values come as
//! strings (`"0.25"`, `"NaN"`, `"+Inf"`).

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// A series' labels, `__name__` included when Prometheus keeps it.
pub type Labels = BTreeMap<String, String>;

/// One sample: `t` in seconds since the epoch, `v` possibly NaN or infinite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t: f64,
    pub v: f64,
}

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (t, text): (f64, String) = Deserialize::deserialize(deserializer)?;
        let v = parse_value(&text)
            .ok_or_else(|| de::Error::custom(format!("sample value {text:?} is not a number")))?;
        Ok(Sample { t, v })
    }
}

/// Prometheus writes values as Go's strconv does: `NaN`, `+Inf`, `-Inf`, or a float.
pub fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InstantValue {
    #[serde(rename = "metric", default)]
    pub labels: Labels,
    #[serde(rename = "value")]
    pub sample: Sample,
}

/// One series of a range matrix.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Series {
    #[serde(rename = "metric", default)]
    pub labels: Labels,
    #[serde(rename = "values", default)]
    pub samples: Vec<Sample>,
}

/// A query's result, by Prometheus's `resultType`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub enum QueryData {
    Vector(Vec<InstantValue>),
    Matrix(Vec<Series>),
    Scalar(Sample),
    String((f64, String)),
}

impl QueryData {
    /// No series (a scalar or string always holds one value).
    pub fn is_empty(&self) -> bool {
        match self {
            QueryData::Vector(v) => v.is_empty(),
            QueryData::Matrix(m) => m.is_empty(),
            QueryData::Scalar(_) | QueryData::String(_) => false,
        }
    }

    /// Every result as series: an instant value becomes a one-sample series, a
    /// scalar a series without labels; strings have no numbers and are dropped.
    pub fn into_series(self) -> Vec<Series> {
        match self {
            QueryData::Matrix(m) => m,
            QueryData::Vector(v) => v
                .into_iter()
                .map(|i| Series {
                    labels: i.labels,
                    samples: vec![i.sample],
                })
                .collect(),
            QueryData::Scalar(sample) => vec![Series {
                labels: Labels::new(),
                samples: vec![sample],
            }],
            QueryData::String(_) => Vec::new(),
        }
    }
}

/// The envelope of every API answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Envelope<T> {
    pub status: String,
    pub data: Option<T>,
    #[serde(default)]
    pub error_type: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_values_parse() {
        assert!(parse_value("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_value("0.25"), Some(0.25));
        assert_eq!(parse_value("1e3"), Some(1000.0));
        assert_eq!(parse_value("many"), None);
    }

    #[test]
    fn a_matrix_decodes_with_its_labels_and_samples() {
        let json = r#"{"resultType":"matrix","result":[
            {"metric":{"http_route":"/health"},"values":[[1700000000,"1"],[1700000005.5,"NaN"],[1700000010,"+Inf"]]}]}"#;
        let data: QueryData = serde_json::from_str(json).expect("matrix");
        let QueryData::Matrix(series) = data else {
            panic!("not a matrix: {data:?}")
        };
        assert_eq!(series[0].labels["http_route"], "/health");
        assert_eq!(series[0].samples.len(), 3);
        assert_eq!(series[0].samples[1].t, 1_700_000_005.5);
        assert!(series[0].samples[1].v.is_nan());
        assert!(series[0].samples[2].v.is_infinite());
    }

    #[test]
    fn a_vector_and_a_scalar_become_series() {
        let vector: QueryData = serde_json::from_str(
            r#"{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1700000000,"2"]}]}"#,
        )
        .expect("vector");
        assert!(!vector.is_empty());
        let series = vector.into_series();
        assert_eq!(series[0].labels["job"], "a");
        assert_eq!(series[0].samples, vec![Sample { t: 1.7e9, v: 2.0 }]);

        let scalar: QueryData =
            serde_json::from_str(r#"{"resultType":"scalar","result":[1700000000,"-Inf"]}"#)
                .expect("scalar");
        assert_eq!(scalar.into_series()[0].samples[0].v, f64::NEG_INFINITY);
    }

    #[test]
    fn a_bad_value_is_an_error_not_a_zero() {
        let bad = serde_json::from_str::<QueryData>(
            r#"{"resultType":"vector","result":[{"metric":{},"value":[1,"lots"]}]}"#,
        );
        assert!(bad.is_err());
    }
}
