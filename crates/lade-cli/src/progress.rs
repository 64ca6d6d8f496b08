//! Rendering pull (and later push) progress: bars on a terminal, plain lines otherwise.
//! Everything goes to stderr; stdout carries only data.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use lade_ops::pull::{LayerStatus, PullEvent, PullProgress};

use crate::output::human_size;

/// How often a plain (non-terminal) log prints the overall progress.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Renders pull events.
pub enum Renderer {
    Quiet,
    Bars(Bars),
    Lines(Mutex<Lines>),
}

pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

#[derive(Default)]
pub struct Lines {
    total: u64,
    current: HashMap<String, u64>,
    started: Option<Instant>,
    last_log: Option<Instant>,
}

impl Renderer {
    /// Bars when stderr is a terminal, lines otherwise, nothing when quiet.
    pub fn new(quiet: bool) -> Self {
        if quiet {
            Renderer::Quiet
        } else if std::io::stderr().is_terminal() {
            Renderer::Bars(Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: Mutex::new(HashMap::new()),
            })
        } else {
            Renderer::Lines(Mutex::new(Lines::default()))
        }
    }

    /// A line of text (kept above the bars on a terminal).
    pub fn println(&self, line: &str) {
        match self {
            Renderer::Quiet => {}
            Renderer::Bars(b) => {
                let _ = b.multi.println(line);
            }
            Renderer::Lines(_) => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
    }

    /// Clears bars before the final lines.
    pub fn finish(&self) {
        if let Renderer::Bars(b) = self
            && let Ok(bars) = b.bars.lock()
        {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}

impl PullProgress for Renderer {
    fn event(&self, event: PullEvent) {
        match (self, event) {
            (Renderer::Quiet, _) => {}
            (_, PullEvent::Pulling { what, repository }) => {
                self.println(&format!("{what}: Pulling from {repository}"));
            }
            (_, PullEvent::Warning(w)) => self.println(&format!("WARNING: {w}")),
            (Renderer::Bars(b), PullEvent::Layer { id, status }) => {
                let Ok(mut bars) = b.bars.lock() else { return };
                let bar = bars.entry(id.clone()).or_insert_with(|| {
                    let bar = b.multi.add(ProgressBar::new(0));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix}: {msg} {wide_bar} {decimal_bytes}/{decimal_total_bytes}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar.set_prefix(id.clone());
                    bar
                });
                match status {
                    LayerStatus::Downloading { current, total } => {
                        bar.set_length(total);
                        bar.set_position(current);
                        bar.set_message("Downloading");
                    }
                    other => {
                        if matches!(
                            other,
                            LayerStatus::PullComplete | LayerStatus::AlreadyExists
                        ) {
                            bar.set_style(
                                ProgressStyle::with_template("{prefix}: {msg}")
                                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                            );
                        }
                        bar.set_message(other.to_string());
                        if matches!(
                            other,
                            LayerStatus::PullComplete | LayerStatus::AlreadyExists
                        ) {
                            bar.finish();
                        }
                    }
                }
            }
            (Renderer::Lines(l), PullEvent::Planned { total }) => {
                if let Ok(mut l) = l.lock() {
                    l.total = total;
                    l.started = Some(Instant::now());
                    l.last_log = Some(Instant::now());
                }
            }
            (Renderer::Lines(l), PullEvent::Layer { id, status }) => {
                let Ok(mut l) = l.lock() else { return };
                match status {
                    LayerStatus::Downloading { current, .. } => {
                        l.current.insert(id, current);
                        if l.last_log.is_some_and(|t| t.elapsed() >= LOG_EVERY) {
                            l.last_log = Some(Instant::now());
                            let line = l.summary();
                            let _ = writeln!(std::io::stderr().lock(), "{line}");
                        }
                    }
                    other => {
                        let _ = writeln!(std::io::stderr().lock(), "{id}: {other}");
                    }
                }
            }
            (Renderer::Bars(_), PullEvent::Planned { .. }) => {}
        }
    }
}

impl Lines {
    /// `Downloading: 12.3MB of 45.6MB (27%), 5.1MB/s, ETA 7s`
    fn summary(&self) -> String {
        let done: u64 = self.current.values().sum();
        let secs = self
            .started
            .map_or(0.0, |s| s.elapsed().as_secs_f64())
            .max(0.001);
        let rate = done as f64 / secs;
        let pct = (done * 100).checked_div(self.total).unwrap_or(100);
        let eta = if rate > 0.0 {
            format!(
                "{}s",
                ((self.total.saturating_sub(done)) as f64 / rate).ceil() as u64
            )
        } else {
            "unknown".into()
        };
        format!(
            "Downloading: {} of {} ({pct}%), {}/s, ETA {eta}",
            human_size(done),
            human_size(self.total),
            human_size(rate as u64)
        )
    }
}
