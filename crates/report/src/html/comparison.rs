//! The side-by-side table of inputs (two or more result files).

use super::{heads, missing, ratio_cell, table};
use crate::compare;
use crate::data::Context;
use crate::escape::html;
use crate::format;

/// Every backend × workload × threads, a column of median ops/s per input, each input's
/// ratio to the first, and each input's own ratio of the row to its reference.
pub(super) fn section(ctx: &Context<'_>) -> String {
    let first = Context::tag(0);
    let mut out = format!(
        "<p class=\"note\">Median ops/s of the same backend, workload and thread count in \
         each input (± the half-width of its 95% interval), and the ratio to {first} {} \
         (above 1: faster than {first}); <i>≈</i> marks a ratio within noise: the two \
         medians' intervals leave room for no difference (an interval of at least 90%, from \
         two 95% ones, since runs on two machines are not paired). <b>vs ref</b> is each \
         input's own ratio of the row to its reference, paired by round on its machine: \
         ratios transfer between machines better than ops/s. A set's workload over Zipf \
         keys, labelled with its exponent, is a measurement apart from the same workload \
         over uniform keys. “–” marks a measurement missing from an input or invalid \
         there.</p>\n",
        html(&ctx.inputs[0].label)
    );
    let mut head = heads(&["backend", "workload", "threads"]);
    for index in 0..ctx.inputs.len() {
        head.push(format!("{} ops/s", Context::tag(index)));
        if index > 0 {
            head.push(format!("{} ÷ {first}", Context::tag(index)));
        }
    }
    for index in 0..ctx.inputs.len() {
        head.push(format!("{} vs ref", Context::tag(index)));
    }
    let rows: Vec<Vec<String>> = compare::lines(ctx)
        .iter()
        .map(|line| {
            let mut cells = vec![
                html(line.key.backend),
                html(&line.workload),
                line.key.threads.to_string(),
            ];
            let base = line.cells.first().and_then(|c| c.median);
            for (index, cell) in line.cells.iter().enumerate() {
                cells.push(match cell.row {
                    Some(row) if !row.valid => format!(
                        "<span class=\"bad\" title=\"{}\">invalid</span>",
                        html(row.error.as_deref().unwrap_or(""))
                    ),
                    Some(_) => html(&cell.median_text()),
                    None => missing(),
                });
                if index > 0 {
                    let tooltip = format!(
                        "{} ÷ {} ops/s",
                        cell.median.map_or(format::MISSING.to_owned(), format::si),
                        base.map_or(format::MISSING.to_owned(), format::si)
                    );
                    cells.push(if cell.within_noise() {
                        format!(
                            "<span class=\"ratio-even\" title=\"{}\">{}</span>",
                            html(&tooltip),
                            html(&cell.ratio_text())
                        )
                    } else {
                        ratio_cell(cell.ratio, &tooltip)
                    });
                }
            }
            for cell in &line.cells {
                cells.push(match cell.row {
                    Some(row) if row.valid && row.ratio.is_some() => html(&format::ratio_long(row)),
                    _ => missing(),
                });
            }
            cells
        })
        .collect();
    out.push_str(&table(&head, 2..usize::MAX, &rows));
    out
}
