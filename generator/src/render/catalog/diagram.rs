//! The flow on the index page: an inline SVG of tables -> events -> consumers.

use std::fmt::Write;

use super::{Site, consumer_page, esc, event_page, truncate};

impl Site<'_> {
    /// The flow as an inline SVG: tables, events, consumers in three columns, an edge from
    /// each table to its events and from each event to its consumers; every node links to its
    /// page.
    pub(super) fn diagram(&self) -> String {
        struct Node {
            id: String,
            kind: &'static str,
            title: String,
            sub: String,
            href: Option<String>,
        }
        let plan = self.plan;
        let columns: [Vec<Node>; 3] = [
            plan.tables
                .iter()
                .map(|t| Node {
                    id: format!("table:{}", t.name),
                    kind: "table",
                    title: t.name.clone(),
                    sub: "DynamoDB table".into(),
                    href: None,
                })
                .collect(),
            plan.events
                .iter()
                .map(|e| Node {
                    id: format!("event:{}", e.name),
                    kind: "event",
                    title: e.name.clone(),
                    sub: e.source.clone(),
                    href: Some(event_page(e)),
                })
                .collect(),
            plan.consumers
                .iter()
                .map(|c| Node {
                    id: format!("consumer:{}", c.name),
                    kind: "consumer",
                    title: c.name.clone(),
                    sub: c.target_noun.into(),
                    href: Some(consumer_page(c)),
                })
                .collect(),
        ];
        let (node_h, gap_y, gap_x, top) = (46.0, 14.0, 90.0, 34.0);
        let width_of = |n: &Node| {
            (n.title.chars().count().max(n.sub.chars().count()) as f64 * 7.4 + 28.0)
                .clamp(130.0, 300.0)
        };
        let widths: Vec<f64> = columns
            .iter()
            .map(|c| c.iter().map(width_of).fold(130.0, f64::max))
            .collect();
        let heights: Vec<f64> = columns
            .iter()
            .map(|c| c.len() as f64 * (node_h + gap_y))
            .collect();
        let total_h = heights.iter().copied().fold(node_h, f64::max) + top + 10.0;
        let mut x = 10.0;
        let mut placed: Vec<(String, f64, f64, f64)> = Vec::new(); // id, x, y, width
        let mut nodes = String::new();
        let labels = ["TABLES", "EVENTS", "CONSUMERS"];
        let mut heads = String::new();
        for (c, column) in columns.iter().enumerate() {
            writeln!(
                heads,
                "<text class=\"column\" x=\"{x}\" y=\"18\">{}</text>",
                labels[c]
            )
            .unwrap();
            let mut y = top + (total_h - top - 10.0 - heights[c]) / 2.0;
            for node in column {
                let w = widths[c];
                let inner = format!(
                    "<g class=\"node {kind}\" data-id=\"{id}\"><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{node_h}\" rx=\"8\"/><text x=\"{tx}\" y=\"{ty}\">{title}</text><text class=\"sub\" x=\"{tx}\" y=\"{sy}\">{sub}</text></g>",
                    kind = node.kind,
                    id = esc(&node.id),
                    tx = x + 12.0,
                    ty = y + 19.0,
                    sy = y + 36.0,
                    title = esc(&truncate(&node.title, 38)),
                    sub = esc(&truncate(&node.sub, 40)),
                );
                match &node.href {
                    Some(href) => writeln!(nodes, "<a href=\"{}\">{inner}</a>", esc(href)).unwrap(),
                    None => writeln!(nodes, "{inner}").unwrap(),
                }
                placed.push((node.id.clone(), x, y, w));
                y += node_h + gap_y;
            }
            x += widths[c] + gap_x;
        }
        let at = |id: &str| {
            placed
                .iter()
                .find(|(n, ..)| n == id)
                .map(|&(_, x, y, w)| (x, y, w))
        };
        let mut edges = String::new();
        let mut edge = |from: &str, to: &str| {
            if let (Some((x1, y1, w1)), Some((x2, y2, _))) = (at(from), at(to)) {
                let (sx, sy, ex, ey) = (x1 + w1, y1 + node_h / 2.0, x2, y2 + node_h / 2.0);
                let mid = (sx + ex) / 2.0;
                writeln!(edges, "<path class=\"edge\" d=\"M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}\" marker-end=\"url(#arrow)\"/>").unwrap();
            }
        };
        for event in &plan.events {
            edge(
                &format!("table:{}", event.table),
                &format!("event:{}", event.name),
            );
        }
        for consumer in &plan.consumers {
            for name in &consumer.events {
                edge(
                    &format!("event:{name}"),
                    &format!("consumer:{}", consumer.name),
                );
            }
        }
        let width = x - gap_x + 10.0;
        format!(
            "<svg id=\"flow\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{total_h}\" viewBox=\"0 0 {width} {total_h}\" role=\"img\" aria-label=\"The flow: tables, events, consumers\">\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#9aa4b2\"/></marker></defs>\n{heads}{edges}{nodes}</svg>"
        )
    }
}
