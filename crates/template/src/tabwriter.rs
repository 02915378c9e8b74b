//! Column alignment for `table` formats, as Go's text/tabwriter does it for Docker
//! (minimum cell width, padding, cells terminated by tabs; the last cell is not padded).

/// Aligns tab-separated cells of consecutive lines into columns.
pub fn align(text: &str, min_width: usize, padding: usize) -> String {
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let columns = rows
        .iter()
        .map(|r| r.len().saturating_sub(1))
        .max()
        .unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for r in &rows {
        for (i, cell) in r.iter().take(r.len().saturating_sub(1)).enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let last = r.len().saturating_sub(1);
        for (i, cell) in r.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let w = (widths[i] + padding).max(min_width);
                out.push_str(&" ".repeat(w - cell.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn pads_to_widest_cell_plus_padding() {
        assert_eq!(
            super::align("a\tbb\tc\nccc\td\te\n", 1, 2),
            "a    bb  c\nccc  d   e\n"
        );
        assert_eq!(super::align("x\ty\n", 10, 3), "x         y\n");
    }
}
