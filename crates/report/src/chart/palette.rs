//! Colours and line styles that keep their meaning across the whole report.
//!
//! A scheme (or workload, or input file) gets the colour of its rank in order of first
//! appearance, so `ebr` is the same colour in every chart of a report without the
//! report knowing any scheme by name.

use plotters::style::RGBColor;

/// Tableau 10 with its yellow darkened to stay readable on white, plus two more for
/// runs with many schemes or strategies.
const COLOURS: [RGBColor; 12] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0xc9, 0xa2, 0x27),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x79, 0x70, 0x6e),
    RGBColor(0x1f, 0x3b, 0x73),
    RGBColor(0x8c, 0xd1, 0x7d),
];

/// The colour of rank `index`; ranks past the palette wrap around (the legend still
/// tells the lines apart by their dash or label).
pub(crate) fn colour(index: usize) -> RGBColor {
    COLOURS[index % COLOURS.len()]
}

/// A line's dash pattern: solid for the first structure or input, then patterns that
/// stay distinct when printed in grey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dash {
    Solid,
    /// `(dash length, gap)` in pixels.
    Pattern(u32, u32),
}

impl Dash {
    /// The dash of rank `index`.
    pub(crate) fn nth(index: usize) -> Dash {
        const PATTERNS: [Dash; 5] = [
            Dash::Solid,
            Dash::Pattern(9, 5),
            Dash::Pattern(2, 4),
            Dash::Pattern(16, 4),
            Dash::Pattern(5, 9),
        ];
        PATTERNS[index % PATTERNS.len()]
    }
}

/// Ranks names by first appearance, for [`colour`] and [`Dash::nth`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Ranks {
    names: Vec<String>,
}

impl Ranks {
    /// Ranks of `names` in the order given, duplicates keeping their first rank.
    pub(crate) fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Ranks {
        let mut ranks = Ranks::default();
        for name in names {
            if !ranks.names.iter().any(|n| n == name) {
                ranks.names.push(name.to_owned());
            }
        }
        ranks
    }

    /// The rank of `name`; names never seen go after all known ones.
    pub(crate) fn rank(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .unwrap_or(self.names.len())
    }

    /// The colour of `name`.
    pub(crate) fn colour(&self, name: &str) -> RGBColor {
        colour(self.rank(name))
    }
}
