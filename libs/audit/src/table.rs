//! Report rows under named columns, written as RFC 4180 CSV, a JSON array of objects, or aligned
//! text: one writer for `carelog audit --format` and the console's CSV download.

/// Rows under named columns.
#[derive(Debug, Clone)]
pub struct Table {
    columns: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &'static [&'static str]) -> Self {
        Self { columns, rows: Vec::new() }
    }

    /// One row, a cell per column.
    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// RFC 4180 CSV with a header row, safe to open in a spreadsheet (see [`csv_cell`]).
    pub fn csv(&self) -> String {
        let line = |cells: Vec<&str>| cells.into_iter().map(csv_cell).collect::<Vec<_>>().join(",") + "\r\n";
        let mut out = line(self.columns.to_vec());
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }

    /// One JSON array of objects keyed by the column names.
    pub fn json(&self) -> String {
        let objects: Vec<serde_json::Map<String, serde_json::Value>> = self
            .rows
            .iter()
            .map(|row| self.columns.iter().zip(row).map(|(c, v)| ((*c).to_owned(), v.clone().into())).collect())
            .collect();
        serde_json::to_string_pretty(&objects).unwrap_or_default() + "\n"
    }

    /// Aligned columns for a terminal.
    pub fn aligned(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            padded.join("  ").trim_end().to_owned() + "\n"
        };
        let mut out = line(self.columns.to_vec());
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }
}

/// A CSV cell, quoted when it holds a separator, quote or line break. A cell a spreadsheet would
/// run as a formula (`=`, `+`, `-`, `@`, tab or CR first; OWASP "CSV injection") gets a leading
/// `'`, so a reason typed into the record cannot run in the auditor's spreadsheet; numbers such
/// as `-5` stay numbers.
pub fn csv_cell(cell: &str) -> String {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err();
    let cell = if formula { format!("'{cell}") } else { cell.to_owned() };
    if cell.contains([',', '"', '\n', '\r']) { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_json_keys_rows_by_column() {
        let mut table = Table::new(&["a", "b"]);
        table.push(vec!["plain".into(), "with, comma and \"quote\"".into()]);
        assert_eq!(table.csv(), "a,b\r\nplain,\"with, comma and \"\"quote\"\"\"\r\n");
        let json: serde_json::Value = serde_json::from_str(&table.json()).unwrap();
        assert_eq!(json[0]["b"], "with, comma and \"quote\"");
        assert_eq!(table.aligned(), "a      b\nplain  with, comma and \"quote\"\n");
    }

    #[test]
    fn a_formula_cannot_run_in_a_spreadsheet_but_numbers_stay_numbers() {
        assert_eq!(csv_cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("+1 555"), "'+1 555");
        assert_eq!(csv_cell("-5"), "-5");
        assert_eq!(csv_cell("-12.50"), "-12.50");
    }
}
