//! The Prometheus text format (version 0.0.4), written by hand: a few families of samples with
//! escaped label values is all a scrape needs, and no metrics library fits collect-on-scrape
//! from foreign tables more simply.

use std::fmt::Write;

/// A metric family's type, as the `# TYPE` line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that only grows (its samples end in `_total`).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations counted into buckets (`_bucket`, `_sum`, `_count` samples).
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One scrape's text: families of samples, every sample carrying the server's common labels
/// (`cluster`, `node_type`, `node_id` and `metricsLabel`'s pairs) first, as Apache's do.
pub struct Exposition {
    text: String,
    common: String,
}

impl Exposition {
    /// An empty scrape whose samples all carry `common` labels.
    pub fn new(common: &[(String, String)]) -> Self {
        let mut prefix = String::new();
        for (name, value) in common {
            push_label(&mut prefix, name, value);
        }
        Exposition {
            text: String::with_capacity(16 * 1024),
            common: prefix,
        }
    }

    /// Starts family `name`: its `# TYPE` and `# HELP` lines. Apache's exporter types the
    /// family by its instrument name (without the unit suffix its samples carry).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
        let _ = writeln!(self.text, "# HELP {name} {help}");
    }

    /// One sample `name{common, labels} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        self.text.push('{');
        self.text.push_str(&self.common);
        for (label, value) in labels {
            push_label(&mut self.text, label, value);
        }
        if self.text.ends_with(',') {
            self.text.pop();
        }
        self.text.push('}');
        self.text.push(' ');
        push_value(&mut self.text, value);
        self.text.push('\n');
    }

    /// A family with a single unlabelled gauge sample (topic count, permission).
    pub fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, Kind::Gauge, help);
        self.sample(name, &[], value);
    }

    /// The finished text.
    pub fn finish(self) -> String {
        self.text
    }
}

fn push_label(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push_str("\",");
}

fn push_value(out: &mut String, value: f64) {
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        let _ = write!(out, "{value:.1}");
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_carry_common_labels_first_and_escape_values() {
        let mut out = Exposition::new(&[("cluster".into(), "C".into())]);
        out.family("rocketmq_topic_number", Kind::Gauge, "Active topic number");
        out.sample("rocketmq_topic_number", &[("topic", "a\"b\\c\nd")], 3.0);
        out.sample("rocketmq_topic_number", &[], 0.5);
        assert_eq!(
            out.finish(),
            "# TYPE rocketmq_topic_number gauge\n# HELP rocketmq_topic_number Active topic number\n\
             rocketmq_topic_number{cluster=\"C\",topic=\"a\\\"b\\\\c\\nd\"} 3.0\n\
             rocketmq_topic_number{cluster=\"C\"} 0.5\n"
        );
    }

    #[test]
    fn no_labels_at_all_gives_empty_braces() {
        let mut out = Exposition::new(&[]);
        out.sample("x", &[], f64::INFINITY);
        assert_eq!(out.finish(), "x{} +Inf\n");
    }
}
