//! Elastic tabstops: a port of Go's `text/tabwriter` as Docker forked it
//! (`docker/cli/cli/command/formatter/tabwriter`), which measures cells in
//! terminal columns (go-runewidth) instead of runes.
//!
//! Docker builds its table writer as `NewWriter(out, 10, 1, 3, ' ', 0)`:
//! every column is at least 10 wide and gets 3 spaces of padding. Cells are
//! terminated by `\t`; a column is a run of tab-terminated cells in
//! consecutive lines; the text after the last tab of a line is not part of a
//! column.

use unicode_width::UnicodeWidthStr;

/// Docker's table settings: minimal cell width, padding and pad character.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub minwidth: usize,
    pub padding: usize,
    pub padchar: char,
}

/// What `docker ... --format 'table ...'` uses.
pub(crate) const DOCKER: Settings = Settings {
    minwidth: 10,
    padding: 3,
    padchar: ' ',
};

/// A cell: a range of the input and its width in terminal columns.
#[derive(Debug, Clone, Copy)]
struct Cell {
    start: usize,
    end: usize,
    width: usize,
}

/// The lines not yet written, as one list of cells (a listing of 10,000 rows would
/// otherwise allocate a list per line and a string per cell).
struct Writer<'a> {
    settings: Settings,
    input: &'a str,
    cells: Vec<Cell>,
    /// Where each line starts in `cells`; the last line is the one being read.
    lines: Vec<usize>,
    widths: Vec<usize>,
    out: String,
}

/// Terminal columns of a cell: its length when it is printable ASCII (as table
/// cells nearly always are), else what `unicode-width` says.
fn width(text: &str) -> usize {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        text.len()
    } else {
        UnicodeWidthStr::width(text)
    }
}

/// Aligns the tab-separated columns of `input`.
pub(crate) fn align(input: &str, settings: Settings) -> String {
    let mut w = Writer {
        settings,
        input,
        cells: Vec::new(),
        lines: vec![0],
        widths: Vec::new(),
        out: String::with_capacity(input.len() * 2),
    };
    let mut start = 0;
    // The separators are ASCII, so byte offsets are character boundaries.
    for (i, b) in input.bytes().enumerate() {
        if !matches!(b, b'\t' | 0x0b | b'\n' | 0x0c) {
            continue;
        }
        w.push_cell(start, i);
        start = i + 1;
        if b == b'\n' || b == 0x0c {
            let ncells = w.line_len(w.lines.len() - 1);
            w.lines.push(w.cells.len());
            if b == 0x0c || ncells == 1 {
                w.flush();
            }
        }
    }
    if start < input.len() {
        w.push_cell(start, input.len());
    }
    w.flush();
    w.out
}

impl Writer<'_> {
    fn push_cell(&mut self, start: usize, end: usize) {
        let width = width(&self.input[start..end]);
        self.cells.push(Cell { start, end, width });
    }

    fn line(&self, i: usize) -> &[Cell] {
        let end = self.lines.get(i + 1).copied().unwrap_or(self.cells.len());
        &self.cells[self.lines[i]..end]
    }

    fn line_len(&self, i: usize) -> usize {
        self.line(i).len()
    }

    fn flush(&mut self) {
        let n = self.lines.len();
        self.format(0, n);
        // Keep only the line being written.
        let keep = self.lines[n - 1];
        self.cells.drain(..keep);
        self.lines.clear();
        self.lines.push(0);
        self.widths.clear();
    }

    fn write_lines(&mut self, line0: usize, line1: usize) {
        let padchar = self.settings.padchar;
        for i in line0..line1 {
            let end = self.lines.get(i + 1).copied().unwrap_or(self.cells.len());
            for (j, c) in self.cells[self.lines[i]..end].iter().enumerate() {
                self.out.push_str(&self.input[c.start..c.end]);
                if let Some(&w) = self.widths.get(j) {
                    let n = w.saturating_sub(c.width);
                    self.out.extend(std::iter::repeat_n(padchar, n));
                }
            }
            // The last line is the one still being written: no newline yet.
            if i + 1 < self.lines.len() {
                self.out.push('\n');
            }
        }
    }

    /// Go's `format`: formats the lines `line0..line1` column by column.
    fn format(&mut self, mut line0: usize, line1: usize) {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.line_len(this) {
                this += 1;
                continue;
            }
            // A cell exists in this column: print the lines above, then the block.
            self.write_lines(line0, this);
            line0 = this;
            let mut width = self.settings.minwidth;
            while this < line1 {
                let line = self.line(this);
                if column + 1 >= line.len() {
                    break;
                }
                width = width.max(line[column].width + self.settings.padding);
                this += 1;
            }
            self.widths.push(width);
            self.format(line0, this);
            self.widths.pop();
            line0 = this;
            // Go's loop increments past the line that ended the block.
            this += 1;
        }
        self.write_lines(line0, line1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_like_docker() {
        let got = align(
            "REPOSITORY\tTAG\tIMAGE ID\nalpine\tlatest\ta24bb4013296\n",
            DOCKER,
        );
        assert_eq!(
            got,
            "REPOSITORY   TAG       IMAGE ID\nalpine       latest    a24bb4013296\n"
        );
    }

    #[test]
    fn wide_characters_count_double() {
        let got = align("名前\tX\nab\tY\n", DOCKER);
        assert_eq!(got, "名前      X\nab        Y\n");
    }

    // From Go's tabwriter_test.go (minwidth 0, padding 1, '.').
    #[test]
    fn go_table_with_gaps() {
        let s = Settings {
            minwidth: 0,
            padding: 1,
            padchar: '.',
        };
        let got = align("a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n", s);
        assert_eq!(got, "a...b...c\naa..bbb.cccc\naaa.bbbb\n");
    }
}
