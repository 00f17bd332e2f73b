//! Per-spectator and per-run accounting: offsets taken in order, the window's moves, the
//! plan of workers, the open-files limit, and the counts a worker reports.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One spectator's view of the feed's offsets within the window. Offsets taken in order are
/// distinct, so the moves it missed are the window's moves less those; an offset not above
/// the last one taken (late or repeated) counts as out of order and not as received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OffTracker {
    last: Option<u64>,
    /// Events taken in order (each `off` above the last).
    pub in_order: u64,
    /// Offsets skipped by forward jumps between events taken in order.
    pub gaps: u64,
    /// Events whose `off` was not above the last one taken.
    pub out_of_order: u64,
}

impl OffTracker {
    pub fn observe(&mut self, off: u64) {
        match self.last {
            Some(last) if off <= last => self.out_of_order += 1,
            Some(last) => {
                self.gaps += off - last - 1;
                self.in_order += 1;
                self.last = Some(off);
            }
            None => {
                self.in_order += 1;
                self.last = Some(off);
            }
        }
    }

    /// Moves of the window not taken in order, of `expected`.
    pub fn missing(&self, expected: u64) -> u64 {
        expected.saturating_sub(self.in_order)
    }
}

/// The owner's moves that fall in a window of intended times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowMoves {
    /// Moves whose intended time is in the window.
    pub scheduled: u64,
    /// Of those, the ones the server acknowledged (a reply with an offset).
    pub acknowledged: u64,
    /// Lowest and highest acknowledged offset.
    pub offs: Option<(u64, u64)>,
}

impl WindowMoves {
    /// Move `seq` is meant to leave at `t0_us + seq × every_us`; `acked` maps a move's number
    /// to its offset. The window is `[start_us, end_us)`.
    pub fn of(
        acked: &BTreeMap<u64, u64>,
        t0_us: u64,
        every_us: u64,
        start_us: u64,
        end_us: u64,
    ) -> Self {
        let every = every_us.max(1);
        let first = start_us.saturating_sub(t0_us).div_ceil(every);
        let end = end_us.saturating_sub(t0_us).div_ceil(every);
        let mut moves = Self {
            scheduled: end.saturating_sub(first),
            ..Self::default()
        };
        for &off in acked.range(first..end).map(|(_, off)| off) {
            moves.acknowledged += 1;
            moves.offs = Some(match moves.offs {
                None => (off, off),
                Some((lo, hi)) => (lo.min(off), hi.max(off)),
            });
        }
        moves
    }

    /// Whether the acknowledged offsets are consecutive, as they are when the owner is the
    /// stream's only writer.
    pub fn contiguous(&self) -> bool {
        self.offs
            .is_none_or(|(lo, hi)| hi - lo + 1 == self.acknowledged)
    }
}

/// Spectators of each worker: (node index, first spectator number, count); each node's
/// spectators are split over as few workers as `per_worker` allows.
pub fn plan(nodes: usize, per_node: usize, per_worker: usize) -> Vec<(usize, usize, usize)> {
    let per_worker = per_worker.max(1);
    let mut workers = Vec::new();
    for node in 0..nodes {
        let mut first = node * per_node;
        let end = first + per_node;
        while first < end {
            let count = per_worker.min(end - first);
            workers.push((node, first, count));
            first += count;
        }
    }
    workers
}

/// The soft limit on open files from `/proc/self/limits` text.
pub fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What a worker counted.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Counts {
    /// Moves of the window delivered (each a latency sample).
    pub(super) delivered: u64,
    /// `stream.event` pushes, in the window or not.
    pub(super) seen: u64,
    /// `stream.event` pushes received in the receipt span, whatever their move.
    pub(super) in_span: u64,
    /// `stream.event` pushes without our stamp or offset (other kinds).
    pub(super) other_events: u64,
    pub(super) missing: u64,
    pub(super) out_of_order: u64,
    pub(super) gaps: u64,
    /// Spectators that missed at least one move of the window.
    pub(super) incomplete: u64,
    pub(super) crowd_pushes: u64,
    pub(super) crowd_viewers: Option<u64>,
    pub(super) crowd_at_us: u64,
    /// `"ok":false` replies.
    pub(super) errors: u64,
    pub(super) closed: u64,
    pub(super) close_reasons: BTreeMap<String, u64>,
    /// [`Latency::encode`](crate::stats::Latency::encode)d.
    pub(super) latency: String,
}

impl Counts {
    pub(super) fn add(&mut self, o: &Counts) {
        self.delivered += o.delivered;
        self.seen += o.seen;
        self.in_span += o.in_span;
        self.other_events += o.other_events;
        self.missing += o.missing;
        self.out_of_order += o.out_of_order;
        self.gaps += o.gaps;
        self.incomplete += o.incomplete;
        self.crowd_pushes += o.crowd_pushes;
        if o.crowd_viewers.is_some() && o.crowd_at_us >= self.crowd_at_us {
            self.crowd_viewers = o.crowd_viewers;
            self.crowd_at_us = o.crowd_at_us;
        }
        self.errors += o.errors;
        self.closed += o.closed;
        for (reason, n) in &o.close_reasons {
            *self.close_reasons.entry(reason.clone()).or_default() += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(offs: &[u64]) -> OffTracker {
        let mut t = OffTracker::default();
        for &off in offs {
            t.observe(off);
        }
        t
    }

    #[test]
    fn every_move_in_order_misses_nothing() {
        let t = tracked(&[5, 6, 7, 8]);
        assert_eq!((t.in_order, t.gaps, t.out_of_order), (4, 0, 0));
        assert_eq!(t.missing(4), 0);
    }

    #[test]
    fn jumps_and_truncated_ends_are_missing() {
        // 10 moves (offsets 1..=10): 3 and 4 skipped, 10 never came.
        let t = tracked(&[1, 2, 5, 6, 7, 8, 9]);
        assert_eq!(t.gaps, 2);
        assert_eq!(t.missing(10), 3);
        // The first ones never came: no jump, still missing.
        let t = tracked(&[4, 5, 6]);
        assert_eq!((t.gaps, t.missing(6)), (0, 3));
        assert_eq!(OffTracker::default().missing(7), 7);
    }

    #[test]
    fn late_and_repeated_offsets_are_out_of_order() {
        let t = tracked(&[1, 2, 4, 3, 5, 5]);
        assert_eq!(t.out_of_order, 2, "3 after 4, and 5 again");
        assert_eq!(t.gaps, 1);
        // 3 arrived, but late: it counts as out of order, not as received in order.
        assert_eq!(t.missing(5), 1);
        // More received than expected (an unacknowledged move delivered) is not negative.
        assert_eq!(tracked(&[1, 2, 3]).missing(2), 0);
    }

    #[test]
    fn window_moves_by_intended_time() {
        // Moves every 100 µs from t0 = 1,000; the window [1,250, 1,650) holds moves 3..=6.
        let acked: BTreeMap<u64, u64> = (0..10).map(|seq| (seq, seq + 41)).collect();
        let m = WindowMoves::of(&acked, 1_000, 100, 1_250, 1_650);
        assert_eq!(m.scheduled, 4);
        assert_eq!(m.acknowledged, 4);
        assert_eq!(m.offs, Some((44, 47)));
        assert!(m.contiguous());
        // A window starting exactly on a move includes it; its end excludes the one on it.
        let m = WindowMoves::of(&acked, 1_000, 100, 1_300, 1_600);
        assert_eq!((m.scheduled, m.offs), (3, Some((44, 46))));
        // An unacknowledged move in the middle leaves a hole in the offsets.
        let mut holed = acked.clone();
        holed.remove(&4);
        holed.insert(5, 99);
        let m = WindowMoves::of(&holed, 1_000, 100, 1_250, 1_650);
        assert_eq!((m.scheduled, m.acknowledged), (4, 3));
        assert!(!m.contiguous());
        let none = WindowMoves::of(&BTreeMap::new(), 1_000, 100, 1_250, 1_650);
        assert_eq!((none.acknowledged, none.offs), (0, None));
        assert!(none.contiguous());
    }

    #[test]
    fn plans_split_nodes_over_workers() {
        assert_eq!(
            plan(2, 19_000, 19_000),
            vec![(0, 0, 19_000), (1, 19_000, 19_000)]
        );
        assert_eq!(
            plan(2, 25_000, 19_000),
            vec![
                (0, 0, 19_000),
                (0, 19_000, 6_000),
                (1, 25_000, 19_000),
                (1, 44_000, 6_000)
            ]
        );
        assert_eq!(plan(1, 3, 0), vec![(0, 0, 1), (0, 1, 1), (0, 2, 1)]);
        assert!(plan(0, 10, 10).is_empty());
    }

    #[test]
    fn reads_the_open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            20000                20000                files     \n";
        assert_eq!(max_open_files(limits), Some(20_000));
        assert_eq!(max_open_files("Max cpu time unlimited"), None);
    }

    #[test]
    fn counts_add_up_and_keep_the_latest_crowd() {
        let mut a = Counts {
            delivered: 5,
            crowd_viewers: Some(10),
            crowd_at_us: 100,
            ..Counts::default()
        };
        a.close_reasons.insert("x".into(), 1);
        let mut b = Counts {
            delivered: 7,
            missing: 2,
            crowd_viewers: Some(20),
            crowd_at_us: 200,
            ..Counts::default()
        };
        b.close_reasons.insert("x".into(), 2);
        let mut total = Counts::default();
        total.add(&b);
        total.add(&a);
        assert_eq!((total.delivered, total.missing), (12, 2));
        assert_eq!(total.crowd_viewers, Some(20));
        assert_eq!(total.close_reasons.get("x"), Some(&3));
    }
}
