//! Server-rendered SVG charts: no chart library and no script, so a chart reads the same in
//! any browser and in a screenshot.

use sluice_api::GroupStandingView;

use crate::blocks::escape;

/// Colours of the compliance bars, with their legend, in drawing order.
const SEGMENTS: [(&str, &str); 4] = [
    ("Up to date", "#2e7d32"),
    ("Needing updates", "#e0a100"),
    ("Failed installs", "#c62828"),
    ("Not reported", "#9e9e9e"),
];

/// A horizontal stacked bar per computer group: its computers up to date, needing updates
/// (failed excluded), with failed installs and not yet reported, as shares of the group.
pub fn group_compliance(groups: &[GroupStandingView]) -> String {
    const LABEL_W: f64 = 190.0;
    const BAR_W: f64 = 420.0;
    const ROW_H: f64 = 26.0;
    const TOP: f64 = 30.0;
    let width = LABEL_W + BAR_W + 90.0;
    let height = TOP + ROW_H * groups.len() as f64 + 8.0;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-labelledby=\"chart-title\" viewBox=\"0 0 {width} {height}\" \
         width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"chart-title\">Compliance per computer group</title>"
    );
    let mut x = LABEL_W;
    for (label, colour) in SEGMENTS {
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"6\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"16\" class=\"legend\">{label}</text>",
            x + 16.0
        ));
        x += 16.0 + 8.0 * label.len() as f64 + 14.0;
    }
    for (i, g) in groups.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"group\">{}</text>",
            LABEL_W - 8.0,
            y + 15.0,
            escape(&shorten(&g.group, 26))
        ));
        let failed = g.failed.max(0);
        let needing_only = (g.needing - failed).max(0);
        let values = [g.up_to_date.max(0), needing_only, failed, g.not_reported.max(0)];
        let total: i64 = values.iter().sum();
        let mut x = LABEL_W;
        if total == 0 {
            svg.push_str(&format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"{BAR_W}\" height=\"18\" fill=\"#eeeeee\"/>",
                y + 2.0
            ));
        }
        for (v, (label, colour)) in values.iter().zip(SEGMENTS) {
            if *v == 0 || total == 0 {
                continue;
            }
            let w = BAR_W * *v as f64 / total as f64;
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"18\" fill=\"{colour}\">\
                 <title>{}: {v} {label}</title></rect>",
                y + 2.0,
                escape(&g.group)
            ));
            x += w;
        }
        let share = if g.computers > 0 { 100 * g.up_to_date.max(0) / g.computers } else { 0 };
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" class=\"share\">{share}% of {}</text>",
            LABEL_W + BAR_W + 6.0,
            y + 15.0,
            g.computers
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, computers: i64, needing: i64, failed: i64, not_reported: i64) -> GroupStandingView {
        GroupStandingView {
            group_id: "g".into(),
            group: name.into(),
            computers,
            needing,
            failed,
            not_reported,
            up_to_date: computers - needing - not_reported,
        }
    }

    #[test]
    fn bars_split_each_group_by_share() {
        let svg = group_compliance(&[group("Ring <1>", 10, 4, 1, 2), group("Empty", 0, 0, 0, 0)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // 4 up to date, 3 needing (1 of the 4 failed), 1 failed, 2 not reported, of 420 px.
        assert!(svg.contains("width=\"168.0\""), "{svg}");
        assert!(svg.contains("width=\"126.0\""), "{svg}");
        assert!(svg.contains("width=\"42.0\""), "{svg}");
        assert!(svg.contains("width=\"84.0\""), "{svg}");
        assert!(svg.contains("Ring &lt;1&gt;") && !svg.contains("Ring <1>"));
        assert!(svg.contains("40% of 10") && svg.contains("0% of 0"));
    }
}
