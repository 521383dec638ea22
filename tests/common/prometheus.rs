//! A small, strict parser of Prometheus's text exposition format 0.0.4, so tests read
//! `/metrics` as Prometheus would and fail on a sample without its `HELP` and `TYPE`.

use std::collections::{BTreeMap, HashSet};

/// One sample line: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape: the samples in order and each family's declared type.
#[derive(Debug, Default)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    pub types: BTreeMap<String, String>,
    pub helped: HashSet<String>,
}

impl Scrape {
    /// Parses format 0.0.4 strictly enough to catch mistakes: every sample must belong to a
    /// family whose `HELP` and `TYPE` came before it.
    pub fn parse(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, _) = rest.split_once(' ').expect("HELP has a name and text");
                scrape.helped.insert(name.to_owned());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE has a name and type");
                let old = scrape.types.insert(name.to_owned(), kind.to_owned());
                assert!(old.is_none(), "TYPE of {name} declared twice");
            } else if line.is_empty() || line.starts_with('#') {
                continue;
            } else {
                let sample = parse_sample(line);
                let family = scrape.family_of(&sample.name);
                assert!(
                    scrape.helped.contains(&family),
                    "sample before HELP: {line}"
                );
                scrape.samples.push(sample);
            }
        }
        scrape
    }

    /// The family a sample belongs to: histograms add `_bucket`, `_sum` and `_count`.
    pub fn family_of(&self, name: &str) -> String {
        if self.types.contains_key(name) {
            return name.to_owned();
        }
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix) {
                if self.types.get(base).is_some_and(|t| t == "histogram") {
                    return base.to_owned();
                }
            }
        }
        panic!("sample {name} has no TYPE line before it");
    }

    /// The samples named `name` whose labels include every pair of `labels`.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
            })
            .collect()
    }

    /// The value of the one sample matching; panics if there is not exactly one.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        match self.find(name, labels).as_slice() {
            [one] => one.value,
            other => panic!("expected one {name}{labels:?}, found {other:?}"),
        }
    }
}

/// `name{a="x",b="y"} value` (or `name value`), unescaping `\\`, `\"` and `\n` in values.
pub fn parse_sample(line: &str) -> Sample {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => panic!("no value: {line}"),
    };
    let mut labels = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    if chars.peek() == Some(&'{') {
        chars.next();
        loop {
            match chars.peek() {
                Some('}') => {
                    chars.next();
                    break;
                }
                Some(',') => {
                    chars.next();
                }
                None => panic!("unterminated labels: {line}"),
                _ => {}
            }
            let label: String = chars.by_ref().take_while(|&c| c != '=').collect();
            assert_eq!(chars.next(), Some('"'), "label value not quoted: {line}");
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => panic!("bad escape {other:?} in {line}"),
                    },
                    Some(c) => value.push(c),
                    None => panic!("unterminated label value: {line}"),
                }
            }
            labels.insert(label, value);
        }
    }
    let value = chars.collect::<String>();
    let value = match value.trim() {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|e| panic!("bad value {v:?} in {line}: {e}")),
    };
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}
