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

#[derive(Debug, Clone)]
struct Cell {
    text: String,
    width: usize,
}

struct Writer {
    settings: Settings,
    lines: Vec<Vec<Cell>>,
    widths: Vec<usize>,
    out: String,
}

/// Aligns the tab-separated columns of `input`.
pub(crate) fn align(input: &str, settings: Settings) -> String {
    let mut w = Writer {
        settings,
        lines: vec![Vec::new()],
        widths: Vec::new(),
        out: String::with_capacity(input.len() * 2),
    };
    let mut cell = String::new();
    for c in input.chars() {
        match c {
            '\t' | '\u{b}' | '\n' | '\u{c}' => {
                let width = UnicodeWidthStr::width(cell.as_str());
                let text = std::mem::take(&mut cell);
                let line = w.lines.len() - 1;
                w.lines[line].push(Cell { text, width });
                if c == '\n' || c == '\u{c}' {
                    let ncells = w.lines[line].len();
                    w.lines.push(Vec::new());
                    if c == '\u{c}' || ncells == 1 {
                        w.flush();
                    }
                }
            }
            c => cell.push(c),
        }
    }
    if !cell.is_empty() {
        let width = UnicodeWidthStr::width(cell.as_str());
        let line = w.lines.len() - 1;
        w.lines[line].push(Cell { text: cell, width });
    }
    w.flush();
    w.out
}

impl Writer {
    fn flush(&mut self) {
        let n = self.lines.len();
        self.format(0, n);
        // Keep only the (empty) line being written.
        let last = self.lines.pop().unwrap_or_default();
        self.lines = vec![last];
        self.widths.clear();
    }

    fn write_padding(&mut self, textw: usize, cellw: usize) {
        let n = cellw.saturating_sub(textw);
        self.out
            .extend(std::iter::repeat_n(self.settings.padchar, n));
    }

    fn write_lines(&mut self, line0: usize, line1: usize) {
        for i in line0..line1 {
            let line = std::mem::take(&mut self.lines[i]);
            for (j, c) in line.iter().enumerate() {
                if !c.text.is_empty() {
                    self.out.push_str(&c.text);
                }
                if let Some(&w) = self.widths.get(j) {
                    self.write_padding(c.width, w);
                }
            }
            self.lines[i] = line;
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
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // A cell exists in this column: print the lines above, then the block.
            self.write_lines(line0, this);
            line0 = this;
            let mut width = self.settings.minwidth;
            while this < line1 {
                let line = &self.lines[this];
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
