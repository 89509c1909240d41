//! Line charts drawn on the server as inline SVG: no script, nothing fetched.

use maud::{html, Markup};

const W: f64 = 600.0;
const H: f64 = 160.0;
const PAD: f64 = 30.0;

/// One named line of `(x, y)` points, x in seconds.
pub struct Series<'a> {
    /// The legend's text.
    pub label: &'a str,
    /// The CSS class that colours it.
    pub class: &'a str,
    /// Points, x ascending.
    pub points: Vec<(f64, f64)>,
}

/// A chart of `series` with a shared scale, its y axis labelled with the maximum.
pub fn line_chart(title: &str, series: &[Series<'_>]) -> Markup {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let ymax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    let yscale = if ymax > 0.0 { ymax } else { 1.0 };
    let xspan = if x1 > x0 { x1 - x0 } else { 1.0 };
    let path = |pts: &[(f64, f64)]| -> String {
        pts.iter()
            .map(|(x, y)| {
                let px = PAD + (x - x0) / xspan * (W - 2.0 * PAD);
                let py = H - PAD - y / yscale * (H - 2.0 * PAD);
                format!("{px:.1},{py:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let empty = series.iter().all(|s| s.points.is_empty());
    html! {
        figure.chart {
            figcaption { (title) }
            svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
                line.axis x1=(PAD) y1=(H - PAD) x2=(W - PAD) y2=(H - PAD) {}
                line.axis x1=(PAD) y1=(PAD) x2=(PAD) y2=(H - PAD) {}
                text x="2" y=(PAD) { (format!("{ymax:.1}")) }
                text x="2" y=(H - PAD) { "0" }
                @if empty {
                    text x=(W / 2.0 - 60.0) y=(H / 2.0) { "no samples yet" }
                }
                @for s in series {
                    polyline class=(s.class) points=(path(&s.points)) {}
                }
            }
            p.legend {
                @for s in series { span class=(s.class) { "■ " (s.label) } " " }
            }
        }
    }
}
