//! Range charts: one labelled row per item (a backend), a dot at a low value and a bar
//! from it to a high one (a latency's p50 and p99), over a shared value axis. The rows
//! read top to bottom in the order given, so a sorted table and its chart agree.

use plotters::prelude::*;

use super::axis::Layout;
use super::{
    Area, Axis, DrawError, Frame, SERIES_STROKE, SMALL_FONT, builder, draw_empty, font, house_style,
};

/// Height of one row, in pixels.
const ROW_HEIGHT: u32 = 24;
/// Height of everything but the rows: caption, axis and its title.
const CHROME_HEIGHT: u32 = 110;
/// Pixels per character of a row's name, to size the room for names left of the plot.
const NAME_CHAR_WIDTH: u32 = 8;

/// One row: its name, colour, and the two values (either may be missing).
#[derive(Clone, Debug)]
pub(crate) struct RangeRow {
    pub(crate) name: String,
    pub(crate) colour: RGBColor,
    pub(crate) low: Option<f64>,
    pub(crate) high: Option<f64>,
}

/// Rows of ranges over one value axis (the x axis).
#[derive(Clone, Debug)]
pub(crate) struct RangeChart {
    pub(crate) frame: Frame,
    pub(crate) x: Axis,
    pub(crate) rows: Vec<RangeRow>,
}

impl RangeChart {
    /// The chart as an `<svg>` element, as tall as its rows need.
    pub(crate) fn render(&self) -> String {
        let height = CHROME_HEIGHT + ROW_HEIGHT * self.rows.len().max(2) as u32;
        self.frame.render_sized(height, &[], |area| self.plot(area))
    }

    fn plot(&self, area: &Area<'_>) -> Result<Vec<String>, DrawError> {
        let values = self.rows.iter().flat_map(|r| [r.low, r.high]).flatten();
        let x = self.x.layout(values);
        let placed: Vec<(usize, Option<f64>, Option<f64>)> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let place = |v: Option<f64>| v.and_then(|v| self.x.scale.to_display(v));
                (i, place(r.low), place(r.high))
            })
            .collect();
        let unplaced = placed
            .iter()
            .filter(|(_, low, high)| low.is_none() && high.is_none())
            .count();
        let mut notes = Vec::new();
        if unplaced > 0 {
            notes.push(format!("{unplaced} row(s) without a value to show"));
        }
        if unplaced == self.rows.len() {
            draw_empty(area, &self.frame.title, "no valid measurements to plot")?;
            return Ok(notes);
        }

        // The first row at the top: row i sits at height n − 1 − i.
        let n = self.rows.len();
        let height_of = |i: usize| (n - 1 - i) as f64;
        let y = Layout {
            lo: -0.7,
            hi: n as f64 - 0.3,
            ticks: (0..n).map(height_of).collect(),
        };
        let longest = self.rows.iter().map(|r| r.name.chars().count()).max();
        let names = (longest.unwrap_or(0) as u32 * NAME_CHAR_WIDTH + 16).max(super::Y_LABELS);
        let mut chart = builder(area, &self.frame.title, 46, names).build_cartesian_2d(x, y)?;
        let x_label = |v: &f64| self.x.unit.label(self.x.scale.value_at(*v));
        let y_label = |v: &f64| {
            let row = n.checked_sub(1 + v.round() as usize);
            row.and_then(|i| self.rows.get(i))
                .map_or_else(String::new, |r| r.name.clone())
        };
        let mut mesh = chart.configure_mesh();
        house_style(&mut mesh);
        mesh.x_desc(self.x.title.as_str())
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .y_label_style(font(SMALL_FONT))
            .draw()?;

        for &(i, low, high) in &placed {
            let colour = self.rows[i].colour;
            let at = height_of(i);
            if let (Some(low), Some(high)) = (low, high) {
                let bar = colour.mix(0.55).stroke_width(SERIES_STROKE + 2);
                chart.draw_series([PathElement::new(vec![(low, at), (high, at)], bar)])?;
            }
            if let Some(high) = high {
                let tick = colour.stroke_width(SERIES_STROKE);
                let cap =
                    EmptyElement::at((high, at)) + PathElement::new(vec![(0, -7), (0, 7)], tick);
                chart.draw_series([cap])?;
            }
            if let Some(low) = low {
                chart.draw_series([Circle::new((low, at), 5, colour.filled())])?;
            }
        }
        Ok(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{Scale, Unit, colour};

    fn row(name: &str, low: Option<f64>, high: Option<f64>) -> RangeRow {
        RangeRow {
            name: name.into(),
            colour: colour(0),
            low,
            high,
        }
    }

    fn chart(rows: Vec<RangeRow>) -> RangeChart {
        RangeChart {
            frame: Frame::new("latency", "").attribute("data-chart", "latency"),
            x: Axis::new("ns", Scale::Log, Unit::Plain),
            rows,
        }
    }

    #[test]
    fn rows_are_named_top_to_bottom_in_order_and_grow_the_chart() {
        let two = chart(vec![
            row("fast", Some(50.0), Some(120.0)),
            row("slow", Some(300.0), Some(4000.0)),
        ])
        .render();
        let fast = two.find(">\nfast\n</text>").expect("fast named");
        let slow = two.find(">\nslow\n</text>").expect("slow named");
        let y_of = |at: usize| -> i32 {
            let tag = &two[two[..at].rfind("<text").unwrap()..at];
            let y = tag.split("y=\"").nth(1).unwrap();
            y[..y.find('"').unwrap()].parse().unwrap()
        };
        assert!(y_of(fast) < y_of(slow), "the first row is on top");
        assert_eq!(two.matches("<circle").count(), 2, "a dot per p50");
        let many = chart(
            (0..20)
                .map(|i| row(&format!("r{i}"), Some(1.0), Some(2.0)))
                .collect(),
        );
        let height = |svg: &str| -> u32 {
            let h = svg.split("height=\"").nth(1).unwrap();
            h[..h.find('"').unwrap()].parse().unwrap()
        };
        assert!(
            height(&many.render()) > height(&two),
            "twenty rows need more room"
        );
    }

    #[test]
    fn missing_and_unplaceable_values_are_counted_not_drawn() {
        let svg = chart(vec![
            row("ok", Some(10.0), Some(20.0)),
            row("none", None, None),
            row("zero", Some(0.0), None),
        ])
        .render();
        assert!(svg.contains("2 row(s) without a value to show"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
        let empty = chart(vec![row("none", None, None)]).render();
        assert!(empty.contains("no valid measurements"), "{empty}");
        assert!(!empty.contains("could not be drawn"), "{empty}");
    }
}
