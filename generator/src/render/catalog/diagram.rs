//! The flow on the index page: an inline SVG of tables -> events -> consumers, laid out here
//! and drawn by `templates/catalog/diagram.svg.j2`.

use minijinja::context;

use super::{RenderError, Site, consumer_page, esc, event_page, truncate};

impl Site<'_> {
    /// The flow as an inline SVG: tables, events, consumers in three columns, an edge from
    /// each table to its events and from each event to its consumers; every node links to its
    /// page.
    pub(super) fn diagram(&self) -> Result<String, RenderError> {
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
        let labels = ["TABLES", "EVENTS", "CONSUMERS"];
        let mut heads = Vec::new();
        let mut nodes = Vec::new();
        for (c, column) in columns.iter().enumerate() {
            heads.push(context! { x => x.to_string(), label => labels[c] });
            let mut y = top + (total_h - top - 10.0 - heights[c]) / 2.0;
            for node in column {
                let w = widths[c];
                nodes.push(context! {
                    href => node.href.as_deref().map(esc),
                    kind => node.kind,
                    id => esc(&node.id),
                    x => x.to_string(),
                    y => y.to_string(),
                    w => w.to_string(),
                    h => node_h.to_string(),
                    tx => (x + 12.0).to_string(),
                    ty => (y + 19.0).to_string(),
                    sy => (y + 36.0).to_string(),
                    title => esc(&truncate(&node.title, 38)),
                    sub => esc(&truncate(&node.sub, 40)),
                });
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
        let mut edges = Vec::new();
        let mut edge = |from: &str, to: &str| {
            if let (Some((x1, y1, w1)), Some((x2, y2, _))) = (at(from), at(to)) {
                let (sx, sy, ex, ey) = (x1 + w1, y1 + node_h / 2.0, x2, y2 + node_h / 2.0);
                let mid = (sx + ex) / 2.0;
                edges.push(format!("M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}"));
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
        let svg = self.render(
            "diagram",
            context! {
                width => width.to_string(),
                height => total_h.to_string(),
                heads,
                edges,
                nodes,
            },
        )?;
        // Inline in the page's figure, without the template's last newline.
        Ok(svg.trim_end_matches('\n').to_owned())
    }
}
